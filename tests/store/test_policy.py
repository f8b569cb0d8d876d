import pytest

from pointillist.errors import PointillistError
from pointillist.store.models import ROLES
from pointillist.store.policy import load_policy


def test_every_role_has_permissions_and_owner_has_them_all():
    policy = load_policy()
    assert set(policy.role_permissions) == set(ROLES)
    assert policy.role_permissions["owner"] == frozenset(policy.permission_labels)
    assert policy.role_permissions["front-desk"] < policy.role_permissions["practitioner"]
    # Front desk sees no health data (GDPR art. 9).
    assert not policy.can("front-desk", "clinical")


def test_policy_numbers_are_sourced():
    from pointillist.data import load_table

    table = load_table("records")
    for section in ("retention", "licences", "gates", "passwords", "roles"):
        assert table[section]["source"].strip()
    for template in table["consent_templates"]:
        assert template["sources"]


def test_a_clinic_override_changes_retention(tmp_path):
    from importlib import resources

    packaged = resources.files("pointillist.data").joinpath("records.toml").read_text("utf-8")
    assert "client_record_years = 5\n" in packaged
    override = tmp_path / "records.toml"
    override.write_text(packaged.replace("client_record_years = 5\n", "client_record_years = 20\n"))
    assert load_policy(override).retention_years == 20

    # A clinic writes only what it changes: the rest comes from the packaged file.
    partial = tmp_path / "partial.toml"
    partial.write_text("[retention]\nclient_record_years = 7\n")
    assert load_policy(partial).retention_years == 7
    assert load_policy(partial).min_password_length == load_policy().min_password_length

    broken = tmp_path / "broken.toml"
    broken.write_text('[retention]\nclient_record_years = "forever"\n')
    with pytest.raises(PointillistError, match=r"broken.toml: retention.client_record_years: "):
        load_policy(broken)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[passwords]\nmin_lenght = 15\n", r"passwords.min_lenght: unknown key; allowed here: "),
        ("[passwords]\nmin_length = 4\n", r"passwords.min_length: must be 8 or more, not 4"),
        ('[roles.owner]\nmay = ["fly"]\n', r"role permission 'fly' is not listed"),
    ],
)
def test_a_records_override_is_checked(tmp_path, text, expected):
    override = tmp_path / "records.toml"
    override.write_text(text)
    with pytest.raises(PointillistError, match=expected):
        load_policy(override)
