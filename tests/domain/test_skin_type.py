import math

import pytest

from pointillist.domain.skin_type import fitzpatrick_from_ita, ita_category, ita_deg
from pointillist.errors import PointillistError


def test_ita_formula_matches_chardon():
    # L* = 60, b* = 15: atan2(10, 15) = 33.69 degrees.
    assert ita_deg(60.0, 15.0) == pytest.approx(math.degrees(math.atan(10 / 15)))
    assert ita_deg(50.0, 20.0) == pytest.approx(0.0)
    assert ita_deg(30.0, 10.0) < 0


@pytest.mark.parametrize(
    ("ita", "category", "fitzpatrick"),
    [
        (60.0, "very light", 1),
        (50.0, "light", 2),
        (35.0, "intermediate", 3),
        (25.0, "tan", 4),
        (15.0, "tan", 5),
        (5.0, "brown", 6),
        (-45.0, "dark", 6),
    ],
)
def test_bands(ita, category, fitzpatrick):
    assert ita_category(ita) == category
    assert fitzpatrick_from_ita(ita) == fitzpatrick


def test_band_edges_belong_to_the_darker_band():
    assert ita_category(55.0) == "light"
    assert fitzpatrick_from_ita(10.0) == 6


@pytest.mark.parametrize("bad", [float("nan"), 91.0, -120.0])
def test_out_of_range_ita_is_a_user_error(bad):
    with pytest.raises(PointillistError, match="ITA"):
        ita_category(bad)
