"""Money arithmetic: half-up rounding once, tax, proration by day, installments."""

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from portal.services.billing import money


def test_round_half_up_rounds_halves_away_from_zero():
    assert money.round_half_up(money.Fraction(5, 2)) == 3
    assert money.round_half_up(money.Fraction(-5, 2)) == -3
    assert money.round_half_up(money.Fraction(249, 100)) == 2


def test_tax_of_chilean_iva_on_pesos():
    assert money.tax_for(10_000, 1900) == 1900
    assert money.tax_for(9_995, 1900) == 1899  # 1899.05


def test_reseller_discount_halves_the_price():
    assert money.discounted(29_990, 5000) == 14_995


def test_prorate_half_of_a_thirty_day_month():
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    mid = datetime(2026, 11, 16, 15, 30, tzinfo=UTC)
    assert money.prorate(30_000, mid, end, start, end) == 15_000


@given(st.integers(min_value=0, max_value=10**9), st.lists(st.integers(1, 27), min_size=1, max_size=5, unique=True))
def test_proration_slices_add_up_to_the_period_within_one_unit_each(amount, cut_days):
    start, end = datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)
    cuts = [start] + [datetime(2026, 2, 1 + d, tzinfo=UTC) for d in sorted(cut_days)] + [end]
    parts = [money.prorate(amount, a, b, start, end) for a, b in zip(cuts, cuts[1:], strict=False)]
    assert abs(sum(parts) - amount) <= len(parts)


@given(st.integers(min_value=1, max_value=10**9), st.integers(min_value=1, max_value=36))
def test_installments_add_up_exactly(total, count):
    parts = money.split_installments(total, count)
    assert sum(parts) == total
    assert max(parts) - min(parts) <= 1
