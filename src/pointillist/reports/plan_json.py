"""The JSON contract of a consultation (documented in the README; keep it stable).

Top-level keys: ``screening``, ``area``, ``sessions``, ``aftercare``, ``quote``,
``touch_up_date``, plus ``client``, ``consultation_date``, ``downtime``, ``start_note`` and
``test_patch``.
Dates are ISO strings; money is a number rounded to the cent.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pointillist.domain.consultation import TreatmentPlan
from pointillist.domain.screening import Screening
from pointillist.domain.skin_type import fitzpatrick_caveat


def screening_to_dict(screening: Screening) -> dict[str, Any]:
    """The ``screening`` object of the contract."""
    earliest = screening.earliest_start
    return {
        "outcome": screening.outcome,
        "findings": [
            {
                "code": f.code,
                "outcome": f.outcome,
                "message": f.message,
                "source": f.source,
                "reasoning": f.reasoning,
                "refer_to": f.refer_to,
                "defer_days": f.defer_days,
                "test_patch": f.test_patch,
            }
            for f in screening.findings
        ],
        "earliest_start": earliest.isoformat() if earliest else None,
        "needs_review": screening.needs_review,
        "rules_version": screening.rules_version,
    }


def plan_to_dict(plan: TreatmentPlan) -> dict[str, Any]:
    """The whole consultation as JSON-ready values."""
    client = plan.client.to_dict()
    if plan.client.fitzpatrick is None and plan.client.ita_deg is not None:
        client["fitzpatrick_estimate"] = plan.client.fitzpatrick_for_screening
        client["fitzpatrick_note"] = fitzpatrick_caveat()
    return {
        "client": client,
        "consultation_date": plan.request.consultation_date.isoformat(),
        "screening": screening_to_dict(plan.screening),
        "area": {
            "total_cm2": round(plan.area.total_cm2, 1),
            "head_circumference_cm": plan.area.head_circumference_cm,
            "zones": [{"name": z.name, "key": z.key, "cm2": z.cm2} for z in plan.area.zones],
            "assumptions": list(plan.area.assumptions),
        },
        "sessions": [
            {
                "number": s.number,
                "date": s.date.isoformat(),
                "duration_minutes": s.duration_minutes,
                "impressions": s.impressions,
                "cumulative_impressions": s.cumulative_impressions,
                "target_density_per_cm2": s.target_density_per_cm2,
                "days": [{"date": d.date.isoformat(), "minutes": d.minutes} for d in s.days],
            }
            for s in plan.sessions
        ],
        "aftercare": [
            {
                "start": w.start.isoformat(),
                "end": w.end.isoformat(),
                "avoid": list(w.avoid),
                "advice": w.advice,
            }
            for w in plan.aftercare
        ],
        "downtime": plan.downtime,
        "quote": None
        if plan.quote is None
        else {
            "currency": plan.quote.currency,
            "total": _money(plan.quote.total),
            "deposit": _money(plan.quote.deposit),
            "deposit_note": plan.quote.deposit_note,
            "lines": [{"label": ln.label, "amount": _money(ln.amount)} for ln in plan.quote.lines],
        },
        "touch_up_date": plan.touch_up_date.isoformat() if plan.touch_up_date else None,
        "start_note": plan.start_note,
        "test_patch": None
        if plan.test_patch is None
        else {
            "date": plan.test_patch.date.isoformat(),
            "minutes": plan.test_patch.minutes,
            "healing_check_date": plan.test_patch.healing_check_date.isoformat(),
        },
    }


def _money(value: Decimal) -> float:
    return float(value)
