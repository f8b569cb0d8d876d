"""Client profile, screening, treatment area, plan, aftercare and pricing.

Pure functions over frozen dataclasses, reading only the packaged data tables.

The names below are imported from their modules when first asked for: a module of
this package (``pointillist.domain.skin_type``, which the colour code uses for every
preview) can then be imported without the consultation, the policy and the plan.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pointillist.domain.client import ClientProfile, client_from_mapping
    from pointillist.domain.consultation import PlanRequest, TreatmentPlan, consult
    from pointillist.domain.policy import (
        ClinicPolicy,
        load_clinic_file,
        load_policy,
        load_rules_file,
    )

_MODULE_OF = {
    "ClientProfile": "client",
    "client_from_mapping": "client",
    "PlanRequest": "consultation",
    "TreatmentPlan": "consultation",
    "consult": "consultation",
    "ClinicPolicy": "policy",
    "load_clinic_file": "policy",
    "load_policy": "policy",
    "load_rules_file": "policy",
}

__all__ = [
    "ClientProfile",
    "ClinicPolicy",
    "PlanRequest",
    "TreatmentPlan",
    "client_from_mapping",
    "consult",
    "load_clinic_file",
    "load_policy",
    "load_rules_file",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
