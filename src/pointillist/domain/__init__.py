"""Client profile, screening, treatment area, plan, aftercare and pricing.

Pure functions over frozen dataclasses, reading only the packaged data tables.
"""

from pointillist.domain.client import ClientProfile, client_from_mapping
from pointillist.domain.consultation import PlanRequest, TreatmentPlan, consult
from pointillist.domain.policy import (
    ClinicPolicy,
    load_clinic_file,
    load_policy,
    load_rules_file,
)

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
