"""Scenario tests: the statements of the source article must hold."""

import pytest

from pointillist.domain.screening import OUTCOMES, parse_rules, screen
from pointillist.errors import PointillistError

INDICATIONS = ["norwood-6", "ludwig-2", "chemotherapy", "alopecia-areata", "diffuse-thinning"]


@pytest.mark.parametrize("pattern", INDICATIONS)
def test_indications_proceed_when_nothing_else_applies(run, pattern):
    plan = run(pattern=pattern, fitzpatrick=2)
    assert plan.screening.outcome == "proceed"
    assert plan.screening.findings[0].code.startswith("indication-")
    assert len(plan.sessions) == 4


@pytest.mark.parametrize("condition", ["active-acne", "psoriasis-flare"])
def test_acne_breakout_or_psoriasis_flare_defers_until_settled(run, condition):
    plan = run(conditions=[condition], fitzpatrick=2)
    assert plan.screening.outcome == "defer"
    # "until it has settled": no date can be known, so no sessions, and a review instead.
    assert plan.screening.needs_review
    assert plan.sessions == ()
    assert "settled" in plan.screening.findings[0].message


def test_keloid_history_is_declined_with_no_sessions(run):
    plan = run(conditions=["keloid-history"], fitzpatrick=2)
    assert plan.screening.outcome == "decline"
    assert plan.sessions == ()
    assert plan.quote is None
    assert plan.aftercare == ()


@pytest.mark.parametrize("fitzpatrick", [5, 6])
def test_darker_skin_without_keloid_history_gets_keloid_caution(run, fitzpatrick):
    plan = run(fitzpatrick=fitzpatrick)
    assert plan.screening.outcome == "caution"
    assert "keloid-risk-darker-skin" in {f.code for f in plan.screening.findings}
    assert plan.sessions


def test_keloid_caution_uses_ita_when_no_fitzpatrick_given(run):
    assert run(ita_deg=5.0).screening.outcome == "caution"  # ITA <= 10 estimates type VI
    assert run(ita_deg=50.0).screening.outcome == "proceed"


def test_keloid_history_on_dark_skin_is_not_merely_cautioned(run):
    codes = {f.code for f in run(fitzpatrick=6, conditions=["keloid-history"]).screening.findings}
    assert "keloid-risk-darker-skin" not in codes
    assert "keloid-history" in codes


def test_ongoing_chemotherapy_defers(run):
    plan = run(pattern="chemotherapy", conditions=["chemotherapy-ongoing"])
    assert plan.screening.outcome == "defer"
    assert "indication-cancer-related" not in {f.code for f in plan.screening.findings}
    assert plan.sessions == ()


def test_every_outcome_but_proceed_names_a_doctor_and_why(policy):
    _, rules = parse_rules(policy.rules)
    for rule in rules:
        if rule.outcome == "proceed":
            continue
        assert rule.refer_to
        text = rule.message.lower()
        assert any(
            word in text
            for word in (
                "dermatologist",
                "doctor",
                "gp",
                "oncologist",
                "midwife",
                "pharmacist",
                "diabetes team",
            )
        )
        assert len(rule.message) > 60  # says why, not just "see a doctor"


def test_most_severe_outcome_wins(run):
    plan = run(conditions=["sunburn", "anticoagulants", "acne-controlled"], fitzpatrick=2)
    outcomes = [f.outcome for f in plan.screening.findings]
    assert plan.screening.outcome == "defer"
    assert outcomes == sorted(outcomes, key=OUTCOMES.index, reverse=True)


def test_dated_deferral_moves_the_start(run):
    plan = run(conditions=["sunburn"], fitzpatrick=2)
    assert plan.screening.outcome == "defer"
    earliest = plan.screening.earliest_start
    assert earliest is not None and (earliest - plan.request.consultation_date).days == 14
    assert plan.sessions[0].date >= earliest
    assert plan.start_note and "earliest" in plan.start_note


def test_longest_dated_deferral_wins(run):
    plan = run(conditions=["sunburn", "isotretinoin-recent"], fitzpatrick=2)
    assert (plan.screening.earliest_start - plan.request.consultation_date).days == 180


def test_minor_is_declined(run):
    assert run(age=16).screening.outcome == "decline"
    assert run(age=18, fitzpatrick=1).screening.outcome == "proceed"


def test_a_clinic_rule_file_is_validated(run):
    from pointillist.domain.client import client_from_mapping

    client = client_from_mapping({"pattern": "norwood-3"})
    bad = {
        "rule": [
            {
                "code": "x",
                "outcome": "refer",
                "message": "m",
                "reasoning": "r",
                "source": "s",
                "when": {"conditions_any": ["active-acne"]},
            }
        ]
    }
    with pytest.raises(PointillistError, match="refer_to"):
        screen(client, bad, run().request.consultation_date)
    bad["rule"][0]["refer_to"] = "a dermatologist"
    bad["rule"][0]["when"] = {"conditions_any": ["acne"]}
    with pytest.raises(PointillistError, match="unknown condition 'acne'"):
        screen(client, bad, run().request.consultation_date)
