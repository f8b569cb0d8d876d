"""The consultation commands end to end: contract, formats, and every error path."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from icalendar import Calendar

from pointillist.cli import main

CONTRACT = {"screening", "area", "sessions", "aftercare", "quote", "touch_up_date"}


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def plan_json(capsys, *args):
    code, out, err = run_cli(
        capsys, "plan", "--consultation-date", "2026-12-01", "--format", "json", *args
    )
    assert code == 0, err
    return json.loads(out)


def test_plan_json_contract(capsys):
    data = plan_json(capsys, "--pattern", "norwood-6", "--fitzpatrick", "II")
    assert set(data) >= CONTRACT
    assert set(data["screening"]) >= {"outcome", "findings"}
    assert set(data["screening"]["findings"][0]) >= {"code", "outcome", "message", "source"}
    assert set(data["area"]) >= {"total_cm2", "zones"}
    assert set(data["area"]["zones"][0]) >= {"name", "cm2"}
    assert len(data["sessions"]) == 4
    assert set(data["sessions"][0]) >= {
        "number",
        "date",
        "duration_minutes",
        "impressions",
        "target_density_per_cm2",
    }
    assert set(data["aftercare"][0]) >= {"start", "end", "avoid", "advice"}
    assert set(data["quote"]) >= {"currency", "total", "deposit", "lines"}
    assert set(data["quote"]["lines"][0]) == {"label", "amount"}
    assert (
        round(sum(line["amount"] for line in data["quote"]["lines"]), 2) == data["quote"]["total"]
    )
    assert data["touch_up_date"] > data["sessions"][-1]["date"]


def test_options_reach_the_plan(capsys):
    data = plan_json(
        capsys,
        "--pattern",
        "norwood-3",
        "--sessions",
        "3",
        "--interval-days",
        "21",
        "--start",
        "2027-01-04",
        "--experience",
        "senior",
        "--head-circumference-cm",
        "60",
        "--sex",
        "male",
        "--age",
        "35",
    )
    dates = [s["date"] for s in data["sessions"]]
    assert dates == ["2027-01-04", "2027-01-25", "2027-02-15"]
    assert any("Senior" in line["label"] for line in data["quote"]["lines"])
    assert data["area"]["total_cm2"] == pytest.approx(70 * (60 / 57) ** 2, rel=0.01)


def test_declined_client_gets_screening_and_no_sessions(capsys):
    data = plan_json(capsys, "--pattern", "norwood-4", "--condition", "keloid-history")
    assert data["screening"]["outcome"] == "decline"
    assert data["sessions"] == [] and data["quote"] is None and data["touch_up_date"] is None


def test_deferred_client_without_known_date_gets_reason_and_no_sessions(capsys):
    data = plan_json(
        capsys,
        "--pattern",
        "norwood-4",
        "--condition",
        "psoriasis-flare",
        "--condition",
        "anticoagulants",
    )
    assert data["screening"]["outcome"] == "defer"
    assert data["screening"]["needs_review"] is True
    assert data["sessions"] == [] and "deferred" in data["start_note"]


def test_deferred_client_with_known_date_starts_no_earlier(capsys):
    data = plan_json(capsys, "--pattern", "norwood-4", "--condition", "sunburn")
    assert data["screening"]["earliest_start"] == "2026-12-15"
    assert data["sessions"][0]["date"] >= "2026-12-15"


def test_client_file_json_and_toml_with_option_override(tmp_path, capsys):
    js = tmp_path / "client.json"
    js.write_text(
        json.dumps(
            {
                "pattern": "ludwig-2",
                "sex": "female",
                "fitzpatrick": 3,
                "conditions": ["acne-controlled"],
                "sessions": 5,
            }
        )
    )
    data = plan_json(capsys, "--client", str(js))
    assert len(data["sessions"]) == 5 and data["screening"]["outcome"] == "caution"
    toml = tmp_path / "client.toml"
    toml.write_text('pattern = "ludwig-2"\nsex = "female"\nfitzpatrick = 3\n')
    data = plan_json(capsys, "--client", str(toml), "--pattern", "ludwig-3")
    assert data["client"]["pattern"] == "ludwig-3"


def test_screen_json(capsys):
    code, out, _ = run_cli(
        capsys, "screen", "--pattern", "norwood-5", "--condition", "active-acne", "--format", "json"
    )
    data = json.loads(out)
    assert code == 0 and data["screening"]["outcome"] == "defer"
    assert "dermatologist" in data["screening"]["findings"][0]["message"]


def test_screen_with_clinic_rules(tmp_path, capsys):
    rules = tmp_path / "rules.toml"
    rules.write_text(
        'version = "clinic-1"\n[[rule]]\ncode = "no-crowns"\n'
        'when = { patterns_any = ["norwood-3v"] }\n'
        'outcome = "refer"\nrefer_to = "a dermatologist"\nmessage = "See a dermatologist first."\n'
        'reasoning = "r"\nsource = "clinic policy"\n'
    )
    _, out, _ = run_cli(
        capsys, "screen", "--pattern", "norwood-3v", "--rules", str(rules), "--format", "json"
    )
    data = json.loads(out)
    assert data["screening"]["outcome"] == "refer"
    assert data["screening"]["rules_version"] == "clinic-1"


def test_clinic_file_overrides_prices(tmp_path, capsys):
    clinic = tmp_path / "clinic.toml"
    clinic.write_text('[pricing]\ncurrency = "EUR"\nbase_fee = 500\ntax_rate = 0.21\n')
    data = plan_json(capsys, "--pattern", "norwood-3", "--clinic", str(clinic))
    assert data["quote"]["currency"] == "EUR"
    assert data["quote"]["lines"][0]["amount"] == 500.0
    assert data["quote"]["lines"][-1]["label"].startswith("Tax (21%)")


def test_plan_ics_parses(capsys):
    code, out, _ = run_cli(
        capsys,
        "plan",
        "--pattern",
        "norwood-5",
        "--fitzpatrick",
        "1",
        "--format",
        "ics",
        "--consultation-date",
        "2026-12-01",
    )
    assert code == 0
    cal = Calendar.from_ical(out)
    assert len(cal.walk("VEVENT")) > 4


def test_plan_text_and_output_file(tmp_path, capsys):
    code, out, _ = run_cli(capsys, "plan", "--pattern", "norwood-5", "--fitzpatrick", "1")
    assert code == 0 and "Sessions" in out and "Quote" in out and "No downtime" in out
    # Square centimetres as a person writes them, in the area, the sessions and the quote.
    assert out.count("cm²") >= 3 and "cm2" not in out
    target = tmp_path / "plan.json"
    code, _, _ = run_cli(
        capsys, "plan", "--pattern", "norwood-5", "--format", "json", "--output", str(target)
    )
    assert code == 0 and json.loads(target.read_text())["sessions"]


def test_demo_consults_and_simulates(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "demo", "--format", "json", "-o", str(tmp_path))
    data = json.loads(out)
    assert code == 0 and set(data) >= CONTRACT and data["sessions"]
    assert data["previews"] == [
        str(tmp_path),
        str(tmp_path / "front-bald-n6-dark"),
        str(tmp_path / "top_view"),
    ]
    for folder in data["previews"]:
        assert (Path(folder) / "before_after.jpg").is_file()
    top = json.loads((tmp_path / "top_view" / "simulation.json").read_text())
    assert top["sessions"][-1]["impressions"] > 0


def test_demo_without_simulation(capsys):
    code, out, _ = run_cli(capsys, "demo", "--no-simulation")
    assert code == 0 and "Quote" in out and "previews" not in out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--pattern", "norwood-9"], "unknown hair-loss pattern 'norwood-9'"),
        (["--pattern", "norwood-5", "--condition", "acne"], "unknown condition 'acne'"),
        (["--pattern", "norwood-5", "--fitzpatrick", "9"], "Fitzpatrick type '9'"),
        (["--pattern", "norwood-5", "--head-circumference-cm", "-3"], "head_circumference_cm"),
        (["--pattern", "norwood-5", "--start", "2027-02-30"], "'2027-02-30' is not a valid date"),
        (["--pattern", "norwood-5", "--start", "2020-01-01"], "before the consultation"),
        (["--pattern", "norwood-5", "--sessions", "9"], "9 sessions"),
        (["--pattern", "norwood-5", "--interval-days", "3"], "at least 7 days"),
        (["--pattern", "norwood-5", "--experience", "guru"], "unknown experience level"),
        (["--pattern", "norwood-5", "--sex", "robot"], "unknown sex"),
        (["--pattern", "norwood-5", "--age", "300"], "age 300 is out of range"),
        (["--pattern", "norwood-5", "--sessions", "four"], "Invalid value for '--sessions'"),
        (["--pattern", "norwood-5", "--format", "svg"], "'svg' is not one of"),
        (["--sex", "male"], "hair-loss pattern is missing"),
        (["--client", "/nonexistent/client.json"], "not found"),
        (["--pattern", "norwood-5", "--rules", "/nonexistent/rules.toml"], "not found"),
        (["--pattern", "norwood-5", "--bogus"], "No such option"),
    ],
)
def test_bad_input_one_line_exit_2(capsys, args, fragment):
    code, out, err = run_cli(capsys, "plan", "--consultation-date", "2026-12-01", *args)
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and err.count("\n") == 1
    assert fragment in err


@pytest.mark.parametrize(
    ("content", "suffix", "fragment"),
    [
        ('{"pattern": "norwood-5",', ".json", "not valid JSON"),
        ("pattern = ", ".toml", "not valid TOML"),
        ('["norwood-5"]', ".json", "must hold an object"),
        ('{"pattern": "norwood-5", "colour": "red"}', ".json", "unknown client field 'colour'"),
        ('{"pattern": "norwood-5", "age": "old"}', ".json", "age must be a whole number"),
        ('{"pattern": "norwood-5", "sessions": "4"}', ".json", "sessions must be a whole number"),
        ('{"pattern": "norwood-5", "start": "someday"}', ".json", "'someday' is not a valid date"),
    ],
)
def test_malformed_client_files(tmp_path, capsys, content, suffix, fragment):
    path = tmp_path / f"client{suffix}"
    path.write_text(content)
    code, _, err = run_cli(capsys, "plan", "--client", str(path))
    assert code == 2 and fragment in err and err.count("\n") == 1


def test_malformed_clinic_file(tmp_path, capsys):
    clinic = tmp_path / "clinic.toml"
    clinic.write_text("[prices]\nbase_fee = 1\n")
    code, _, err = run_cli(capsys, "plan", "--pattern", "norwood-5", "--clinic", str(clinic))
    assert code == 2 and "unknown table [prices]" in err


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("[pricing]\nbase_fe = 450\n", "pricing.base_fe: unknown key; allowed here: base_fee,"),
        ("[pricing]\ntax_rate = -0.5\n", "pricing.tax_rate: must be 0 or more, not -0.5"),
        ("[pricing]\ndeposit_fraction = 3\n", "pricing.deposit_fraction: must be 1 or less, not 3"),
        ('[pricing]\nbase_fee = "lots"\n', "pricing.base_fee: must be a number, not 'lots'"),
        ("[plan.sessions]\nmin_count = 6\n", "plan.sessions: needs min_count <= default_count"),
        ('[plan.calendar]\nclosed_dates = ["2026-12-25"]\n', "must be a date like 2026-12-25"),
        ("[aftercare]\ndowntime = 3\n", "aftercare.downtime: must be text in quotes, not 3"),
        ("[zones.scar]\ncover_width_cm = 0\n", "zones.scar.cover_width_cm: must be more than 0"),
    ],
)
def test_clinic_file_mistakes_name_the_file_and_key(tmp_path, capsys, content, fragment):
    clinic = tmp_path / "clinic.toml"
    clinic.write_text(content)
    code, out, err = run_cli(capsys, "plan", "--pattern", "norwood-5", "--clinic", str(clinic))
    assert code == 2 and out == ""
    assert err.startswith(f"error: {clinic}: ") and err.count("\n") == 1
    assert fragment in err


def test_rules_file_mistakes_name_the_file_and_key(tmp_path, capsys):
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[[rule]]\ncode = "x"\noutcome = "caution"\nrefer_to = "a GP"\nmessage = "m"\n'
        'reasoning = "r"\nsource = "s"\ndefer_day = 3\n'
    )
    code, _, err = run_cli(capsys, "screen", "--pattern", "norwood-5", "--rules", str(rules))
    assert code == 2 and f"{rules}: rule[1].defer_day: unknown key; allowed here: " in err


def test_plan_outputs_say_test_patch_assumptions_and_downtime(capsys):
    data = plan_json(capsys, "--pattern", "alopecia-areata", "--fitzpatrick", "6")
    assert data["test_patch"] == {
        "date": "2026-12-01",
        "minutes": 30,
        "healing_check_date": "2026-12-29",
    }
    assert data["sessions"][0]["date"] >= "2026-12-29"
    assert data["screening"]["findings"][0]["test_patch"] is True
    assert "Patches not measured" in data["area"]["assumptions"][0]
    assert "back to work" in data["downtime"] and "does not lift" in data["downtime"]
    code, out, _ = run_cli(capsys, "plan", "--pattern", "scar", "--consultation-date", "2026-12-01")
    assert code == 0 and "Assumed:" in out and "Scar not measured" in " ".join(out.split())
    assert "back to work" in " ".join(out.split())


def test_deferral_without_a_date_asks_no_deposit(capsys):
    data = plan_json(capsys, "--pattern", "norwood-4", "--condition", "psoriasis-flare")
    assert data["quote"]["deposit"] == 0 and "review" in data["quote"]["deposit_note"]


def test_ludwig_pattern_is_a_woman_and_pregnancy_is_refused_for_a_man(capsys):
    data = plan_json(capsys, "--pattern", "ludwig-2")
    assert data["client"]["sex"] == "female"
    code, _, err = run_cli(
        capsys, "plan", "--pattern", "diffuse-thinning", "--sex", "male", "--condition", "pregnancy"
    )
    assert code == 2 and "pregnancy does not fit sex male" in err


def test_installed_command_prints_no_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "pointillist", "plan", "--pattern", "nope"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("error: unknown hair-loss pattern")


def test_png_needs_an_output_file(capsys, tmp_path):
    code, _, err = run_cli(capsys, "plan", "--pattern", "norwood-5", "--format", "png")
    assert code == 2 and "-o plan.png" in err
    target = tmp_path / "plan.png"
    code, _, _ = run_cli(
        capsys, "plan", "--pattern", "norwood-5", "--format", "png", "-o", str(target)
    )
    assert code == 0 and target.read_bytes().startswith(b"\x89PNG")


def test_unwritable_output_is_a_clear_error(capsys, tmp_path):
    target = tmp_path / "missing-dir" / "plan.json"
    code, _, err = run_cli(
        capsys, "plan", "--pattern", "norwood-5", "--format", "json", "-o", str(target)
    )
    assert code == 2 and "cannot write" in err


def test_every_client_option_works_as_a_client_file_key(tmp_path, capsys):
    """The README says a client file takes the options' names: check each one."""
    import re

    assert main(["plan", "--help"]) == 0
    options = re.findall(r"^  --([a-z0-9-]+)", capsys.readouterr().out, flags=re.MULTILINE)
    not_answers = {"client", "rules", "clinic", "consultation-date", "format", "output", "help"}
    # What the handout (--format pdf) prints besides the plan: not the client's answers.
    not_answers |= {"paper", "clinic-name", "licence-number", "licence-authority", "photo"}
    not_answers |= {"preview", "ink"}
    values = {
        "pattern": '"alopecia-areata"', "fitzpatrick": "3", "ita": "20.0",
        "condition": '["acne-controlled"]', "sex": '"male"', "age": "40",
        "head-circumference-cm": "57.0", "patch-count": "2", "largest-patch-cm2": "4.0",
        "scar-length-cm": "5.0", "scar-area-cm2": "6.0", "start": "2027-01-11", "sessions": "4",
        "interval-days": "14", "experience": '"senior"', "clinic-tier": '"premium"',
    }  # fmt: skip
    keys = [o for o in options if o not in not_answers]
    assert set(keys) == set(values)
    client = tmp_path / "client.toml"
    client.write_text("".join(f"{k.replace('-', '_')} = {values[k]}\n" for k in keys))
    data = plan_json(capsys, "--client", str(client))
    assert data["client"]["ita_deg"] == 20.0 and data["client"]["conditions"] == ["acne-controlled"]
