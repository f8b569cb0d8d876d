"""``pointillist plan --format pdf``: the handout from the command line, and every
mistake a user can make with it answered in one line with exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from pointillist.cli import main
from tests.reports.pdf_reading import images, text

FIXTURES = Path(__file__).parents[1] / "fixtures"
BASE = (
    "plan",
    "--pattern",
    "norwood-6",
    "--fitzpatrick",
    "2",
    "--consultation-date",
    "2026-12-01",
    "--start",
    "2027-01-11",
)
PDF = ["--format", "pdf", "-o", "{tmp}/plan.pdf", "--clinic-name", "S"]


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def text_of(path: Path) -> str:
    return text(path.read_bytes())


def test_plan_pdf_writes_the_handout_with_the_clinic_and_the_ink(capsys, tmp_path):
    target = tmp_path / "plan.pdf"
    code, _, err = run_cli(
        capsys,
        *BASE,
        "--format",
        "pdf",
        "-o",
        str(target),
        "--paper",
        "letter",
        "--clinic-name",
        "Scalp Studio",
        "--licence-number",
        "NL-123",
        "--ink",
        "2027-01-11, Perma Blend, Midnight 1:4, PB2401, 2028-06-30",
    )
    assert code == 0, err
    assert target.read_bytes().startswith(b"%PDF-")
    text = text_of(target)
    assert "Scalp Studio" in text and "Licence NL-123" in text
    assert "Mon 11 January 2027 09:00 Session 1" in text
    assert "PB2401" in text and "Midnight 1:4" in text
    assert "No saunas, swimming, hot showers, steam rooms" in text


def test_a_preview_file_goes_on_the_handout(capsys, tmp_path):
    photo = next((FIXTURES / "preview").glob("*.jpg"))
    target = tmp_path / "plan.pdf"
    code, _, err = run_cli(
        capsys,
        *BASE,
        "--format",
        "pdf",
        "-o",
        str(target),
        "--clinic-name",
        "Studio",
        "--preview",
        str(photo),
    )
    assert code == 0, err
    assert len(images(target.read_bytes())) == 1
    assert f"Preview: {photo.name}" in text_of(target)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--format", "pdf", "--clinic-name", "S"], "give one with -o plan.pdf"),
        (
            ["--format", "pdf", "-o", "{tmp}/missing/plan.pdf", "--clinic-name", "S"],
            "does not exist",
        ),
        (["--format", "pdf", "-o", "{tmp}", "--clinic-name", "S"], "is a folder"),
        (
            ["--format", "pdf", "-o", "{tmp}/file.txt/plan.pdf", "--clinic-name", "S"],
            "is a file, not a folder",
        ),
        (["--format", "pdf", "-o", "{tmp}/plan.pdf"], "--clinic-name"),
        ([*PDF, "--paper", "a5"], "a5"),
        ([*PDF, "--photo", "{tmp}/nope.jpg"], "nope.jpg not found"),
        ([*PDF, "--ink", "PB2401"], "give session date, brand, shade, lot and use-by date"),
        ([*PDF, "--ink", "2027-01-11, B, S, L, 2026-01-01"], "expired before the session"),
        ([*PDF, "--ink", "11/01/2027, B, S, L, 2028-01-01"], "is not YYYY-MM-DD"),
        (["--format", "json", "--clinic-name", "S"], "add --format pdf"),
        (
            ["--format", "pdf", "-o", "/sys/plan.pdf", "--clinic-name", "S"],
            "cannot write /sys/plan.pdf",
        ),
    ],
)
def test_mistakes_are_one_line_and_exit_2(capsys, tmp_path, extra, message):
    (tmp_path / "file.txt").write_text("x")
    args = [part.replace("{tmp}", str(tmp_path)) for part in extra]
    code, _, err = run_cli(capsys, *BASE, *args)
    assert code == 2, err
    assert message in err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
