"""The packaged policy files hold what their models allow.

``load_table`` does not check the packaged files at run time (a simulation would pay for
pydantic before its first pixel); this test is where they are checked, so a release
cannot ship a policy file its own models refuse.
"""

from __future__ import annotations

from importlib import resources

import pytest

from pointillist.data import load_table
from pointillist.data.schemas import POLICY_MODELS, validate_table

PACKAGED = sorted(
    name
    for name in POLICY_MODELS
    if resources.files("pointillist.data").joinpath(f"{name}.toml").is_file()
)


def test_every_policy_model_but_the_clinic_file_has_a_packaged_file() -> None:
    assert set(POLICY_MODELS) - set(PACKAGED) == {"clinic"}


@pytest.mark.parametrize("name", PACKAGED)
def test_packaged_policy_file_passes_its_model(name: str) -> None:
    table = load_table(name)
    assert validate_table(name, table, f"{name}.toml (packaged)") == table
