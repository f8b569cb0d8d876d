from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pointillist.domain.area import treatment_area
from pointillist.domain.client import client_from_mapping
from pointillist.domain.pricing import quote
from pointillist.errors import PointillistError


@pytest.mark.parametrize("stage", ["2", "2a", "3", "3a", "3v", "4", "4a", "5", "5a", "6", "7"])
def test_norwood_2_to_7_standard_cost_400_to_1000(policy, stage):
    area = treatment_area(client_from_mapping({"pattern": f"norwood-{stage}"}), policy.zones)
    price = quote(area.total_cm2, policy.pricing)
    assert Decimal(400) <= price.total <= Decimal(1000)
    assert price.currency == "USD"


@given(
    area=st.floats(1, 800, allow_nan=False),
    experience=st.sampled_from(["junior", "standard", "senior"]),
    tier=st.sampled_from(["standard", "premium"]),
    tax=st.sampled_from([0.0, 0.07, 0.2, 0.21]),
)
def test_lines_add_up_to_the_total(policy, area, experience, tier, tax):
    table = {**policy.pricing, "tax_rate": tax}
    price = quote(area, table, experience=experience, clinic_tier=tier)
    assert sum(line.amount for line in price.lines) == price.total
    assert all(line.amount == line.amount.quantize(Decimal("0.01")) for line in price.lines)
    assert Decimal(0) < price.deposit < price.total


@given(a=st.floats(1, 800, allow_nan=False), b=st.floats(1, 800, allow_nan=False))
def test_price_does_not_decrease_with_area(policy, a, b):
    small, large = sorted((a, b))
    assert quote(small, policy.pricing).total <= quote(large, policy.pricing).total


def test_experience_orders_the_price(policy):
    totals = [
        quote(200, policy.pricing, experience=e).total for e in ("junior", "standard", "senior")
    ]
    assert totals == sorted(totals) and len(set(totals)) == 3


def test_the_area_line_is_in_square_centimetres(policy):
    area_line = quote(100, policy.pricing).lines[1].label
    assert area_line.startswith("Treatment area 100 cm² at ") and area_line.endswith(" USD/cm²")


def test_tax_line_is_itemised(policy):
    price = quote(100, {**policy.pricing, "tax_rate": 0.2})
    assert price.lines[-1].label.startswith("Tax (20%)")


def test_unknown_experience_is_refused(policy):
    with pytest.raises(PointillistError, match="junior, standard, senior"):
        quote(100, policy.pricing, experience="master")


def test_a_deferral_with_no_knowable_date_asks_no_deposit(run):
    deferred = run(conditions=["psoriasis-flare"])
    assert deferred.screening.needs_review
    assert deferred.quote is not None and deferred.quote.deposit == 0
    assert "review" in deferred.quote.deposit_note
    dated = run(conditions=["sunburn"])
    assert dated.quote.deposit > 0 and dated.quote.deposit_note is None
