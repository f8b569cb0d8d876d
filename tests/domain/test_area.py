import pytest

from pointillist.domain.area import treatment_area
from pointillist.domain.client import NORWOOD_PATTERNS, PATTERNS, client_from_mapping


def area(policy, **answers):
    return treatment_area(client_from_mapping(answers), policy.zones)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_every_pattern_has_a_positive_area(policy, pattern):
    result = area(policy, pattern=pattern)
    assert result.total_cm2 > 0
    assert all(zone.cm2 > 0 for zone in result.zones)


def test_norwood_stages_grow_and_stay_within_scalp_anchors(policy):
    totals = [area(policy, pattern=f"norwood-{n}").total_cm2 for n in range(1, 8)]
    assert totals == sorted(totals)
    # REFERENCE.md: Norwood VI-VII treat about 200-300 cm2 of a ~492 cm2 scalp.
    assert 200 <= totals[5] <= 300 and 200 <= totals[6] <= 300


def test_vertex_variant_adds_a_crown_zone(policy):
    keys = {z.key for z in area(policy, pattern="norwood-3v").zones}
    assert "crown" in keys and "crown" not in {
        z.key for z in area(policy, pattern="norwood-3").zones
    }


def test_area_scales_with_the_square_of_head_circumference(policy):
    small = area(policy, pattern="norwood-5", head_circumference_cm=54.0).total_cm2
    large = area(policy, pattern="norwood-5", head_circumference_cm=60.0).total_cm2
    assert large / small == pytest.approx((60 / 54) ** 2, rel=0.01)


def test_default_circumference_depends_on_sex(policy):
    male = area(policy, pattern="diffuse-thinning", sex="male")
    female = area(policy, pattern="diffuse-thinning", sex="female")
    assert female.head_circumference_cm < male.head_circumference_cm
    assert female.total_cm2 < male.total_cm2


def test_alopecia_area_follows_patches(policy):
    one = area(policy, pattern="alopecia-areata", patch_count=1, largest_patch_cm2=4.0)
    three = area(policy, pattern="alopecia-areata", patch_count=3, largest_patch_cm2=4.0)
    assert three.total_cm2 == pytest.approx(3 * one.total_cm2, rel=0.01)
    patches = next(z for z in one.zones if z.key == "alopecia_patches")
    assert patches.cm2 == pytest.approx(4.0)


def test_linear_scar_area_from_length(policy):
    short = area(policy, pattern="scar", scar_length_cm=10.0).total_cm2
    long = area(policy, pattern="scar", scar_length_cm=20.0).total_cm2
    assert long > short
    given = area(policy, pattern="scar", scar_area_cm2=30.0)
    assert next(z.cm2 for z in given.zones if z.key == "scar") == pytest.approx(30.0)


def test_zone_names_are_readable(policy):
    names = {z.name for z in area(policy, pattern=NORWOOD_PATTERNS[-1]).zones}
    assert "frontal hairline band" in names and "crown/vertex" in names


@pytest.mark.parametrize(
    ("answers", "fragment"),
    [
        (
            {"pattern": "alopecia-areata"},
            "Patches not measured: the area assumes 1 patch of 10",
        ),
        ({"pattern": "alopecia-areata", "patch_count": 2}, "Patches not measured"),
        ({"pattern": "scar"}, "Scar not measured: the area assumes 10 cm²"),
    ],
)
def test_unmeasured_patches_and_scars_say_the_assumption(policy, answers, fragment):
    assert any(fragment in a for a in area(policy, **answers).assumptions)


def test_measured_patches_and_scars_assume_nothing(policy):
    assert not area(
        policy, pattern="alopecia-areata", patch_count=2, largest_patch_cm2=3
    ).assumptions
    assert not area(policy, pattern="scar", scar_length_cm=12).assumptions
    assert not area(policy, pattern="norwood-5").assumptions
