"""Screening: a rule engine that turns a client profile into a verdict with reasons.

Rules live in a data file (``data/screening_rules.toml``; a clinic may pass its own).
Each rule that matches the profile becomes a :class:`Finding`; the overall outcome is the
most severe finding's, on the scale ``proceed < caution < refer < defer < decline``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pointillist.domain.client import CONDITIONS, PATTERNS, ClientProfile
from pointillist.errors import PointillistError

OUTCOMES = ("proceed", "caution", "refer", "defer", "decline")
_WHEN_KEYS = frozenset(
    {"conditions_any", "conditions_none", "patterns_any", "fitzpatrick_in", "age_below"}
)


@dataclass(frozen=True)
class Rule:
    """One screening rule, as read from the rules file."""

    code: str
    when: Mapping[str, Any]
    outcome: str
    message: str
    reasoning: str
    source: str
    refer_to: str | None = None
    defer_days: int | None = None
    test_patch: bool = False

    def matches(self, client: ClientProfile) -> bool:
        """Whether every condition of the rule holds for ``client``."""
        when = self.when
        if "conditions_any" in when and not client.conditions & set(when["conditions_any"]):
            return False
        if "conditions_none" in when and client.conditions & set(when["conditions_none"]):
            return False
        if "patterns_any" in when and not any(
            _pattern_matches(client.pattern, p) for p in when["patterns_any"]
        ):
            return False
        if "fitzpatrick_in" in when and client.fitzpatrick_for_screening not in set(
            when["fitzpatrick_in"]
        ):
            return False
        return not ("age_below" in when and (client.age is None or client.age >= when["age_below"]))


@dataclass(frozen=True)
class Finding:
    """A rule that matched: what the client is told and what the practitioner should know."""

    code: str
    outcome: str
    message: str
    reasoning: str
    source: str
    refer_to: str | None
    defer_days: int | None
    test_patch: bool = False


@dataclass(frozen=True)
class Screening:
    """The screening verdict for one client on one consultation date."""

    outcome: str
    findings: tuple[Finding, ...]
    consultation_date: dt.date
    rules_version: str

    @property
    def earliest_start(self) -> dt.date | None:
        """First date treatment may start, or ``None`` when no date can be known yet.

        ``None`` for ``decline``, and for ``defer`` when any deferring finding has no
        known waiting time (the client must come back for a review).
        """
        if self.outcome == "decline":
            return None
        deferrals = [f for f in self.findings if f.outcome == "defer"]
        if any(f.defer_days is None for f in deferrals):
            return None
        wait = max((f.defer_days or 0 for f in deferrals), default=0)
        return self.consultation_date + dt.timedelta(days=wait)

    @property
    def needs_test_patch(self) -> bool:
        """True when a finding asks for a test patch and a healing check before the course."""
        return self.outcome != "decline" and any(f.test_patch for f in self.findings)

    @property
    def needs_review(self) -> bool:
        """True when treatment is deferred with no date: book a review consultation."""
        return self.outcome == "defer" and self.earliest_start is None


def parse_rules(table: Mapping[str, Any]) -> tuple[str, tuple[Rule, ...]]:
    """Validate a rules table (as loaded from TOML) and return its version and rules."""
    raw_rules = table.get("rule")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise PointillistError("the rules file has no [[rule]] entries")
    rules = tuple(_parse_rule(i, raw) for i, raw in enumerate(raw_rules, start=1))
    return str(table.get("version", "unversioned")), rules


def screen(
    client: ClientProfile, rules_table: Mapping[str, Any], consultation_date: dt.date
) -> Screening:
    """Apply every rule to ``client``; the most severe matching outcome wins.

    A client no rule matches (no indication, no contraindication) proceeds.
    """
    version, rules = parse_rules(rules_table)
    findings = tuple(
        sorted(
            (_finding(rule) for rule in rules if rule.matches(client)),
            key=lambda f: -OUTCOMES.index(f.outcome),
        )
    )
    outcome = findings[0].outcome if findings else "proceed"
    return Screening(outcome, findings, consultation_date, version)


def _finding(rule: Rule) -> Finding:
    return Finding(
        code=rule.code,
        outcome=rule.outcome,
        message=rule.message,
        reasoning=rule.reasoning,
        source=rule.source,
        refer_to=rule.refer_to,
        defer_days=rule.defer_days,
        test_patch=rule.test_patch,
    )


def _pattern_matches(pattern: str, spec: str) -> bool:
    return pattern.startswith(spec[:-1]) if spec.endswith("*") else pattern == spec


def _parse_rule(index: int, raw: Any) -> Rule:
    where = f"rule {index}"
    if not isinstance(raw, Mapping):
        raise PointillistError(f"{where} is not a table")
    for key in ("code", "outcome", "message", "reasoning", "source"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise PointillistError(f"{where} needs a text '{key}'")
    where = f"rule {raw['code']!r}"
    outcome = raw["outcome"]
    if outcome not in OUTCOMES:
        raise PointillistError(f"{where}: outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
    refer_to = raw.get("refer_to")
    if outcome != "proceed" and not (isinstance(refer_to, str) and refer_to.strip()):
        raise PointillistError(
            f"{where}: outcome {outcome!r} needs 'refer_to' (whom the client should see, and "
            "the message must say why)"
        )
    defer_days = raw.get("defer_days")
    if defer_days is not None and (
        outcome != "defer" or not isinstance(defer_days, int) or defer_days < 0
    ):
        raise PointillistError(f"{where}: defer_days must be a whole number >= 0 on a defer rule")
    test_patch = raw.get("test_patch", False)
    if not isinstance(test_patch, bool):
        raise PointillistError(f"{where}: test_patch must be true or false")
    when = raw.get("when", {})
    _check_when(where, when)
    return Rule(
        code=raw["code"],
        when=when,
        outcome=outcome,
        message=raw["message"],
        reasoning=raw["reasoning"],
        source=raw["source"],
        refer_to=refer_to,
        defer_days=defer_days,
        test_patch=test_patch,
    )


def _check_when(where: str, when: Any) -> None:
    if not isinstance(when, Mapping):
        raise PointillistError(f"{where}: 'when' must be a table")
    unknown = sorted(set(when) - _WHEN_KEYS)
    if unknown:
        raise PointillistError(
            f"{where}: unknown condition {unknown[0]!r}; use {', '.join(sorted(_WHEN_KEYS))}"
        )
    _check_codes(where, when.get("conditions_any", ()), CONDITIONS, "condition")
    _check_codes(where, when.get("conditions_none", ()), CONDITIONS, "condition")
    for spec in when.get("patterns_any", ()):
        if not any(_pattern_matches(p, str(spec)) for p in PATTERNS):
            raise PointillistError(f"{where}: pattern {spec!r} matches no known pattern")
    for value in when.get("fitzpatrick_in", ()):
        if value not in range(1, 7):
            raise PointillistError(f"{where}: Fitzpatrick type {value!r} must be 1-6")


def _check_codes(where: str, codes: Sequence[Any], known: Sequence[str], what: str) -> None:
    for code in codes:
        if code not in known:
            raise PointillistError(f"{where}: unknown {what} {code!r}")
