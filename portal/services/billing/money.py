"""Money arithmetic in integer minor units: rounding half-up once per line, tax, proration, installments."""

from datetime import datetime
from fractions import Fraction


def round_half_up(value: Fraction | int) -> int:
    """Round an exact fraction to the nearest integer, halves away from zero (so -0.5 → -1)."""
    value = Fraction(value)
    sign = -1 if value < 0 else 1
    magnitude = abs(value)
    return sign * int(magnitude + Fraction(1, 2))


def apply_basis_points(amount: int, basis_points: int) -> int:
    """`amount` × basis_points / 10 000, rounded once (1900 bp = 19 %)."""
    return round_half_up(Fraction(amount * basis_points, 10_000))


def discounted(amount: int, discount_bp: int) -> int:
    """The amount after a discount in basis points (5000 = 50 % off)."""
    if not discount_bp:  # most subscriptions have none: the store prices every product it shows with this
        return amount
    return amount - apply_basis_points(amount, discount_bp)


def tax_for(net: int, rate_bp: int) -> int:
    return apply_basis_points(net, rate_bp)


def prorate(amount: int, start: datetime, end: datetime, period_start: datetime, period_end: datetime) -> int:
    """The part of a whole-period `amount` for the days from `start` to `end` inside the period, by day.

    Days are whole calendar days in UTC: a change at any time on a day counts that day. Summed over
    consecutive slices that cover the period, the parts add up to `amount` within one minor unit per slice.
    """
    total_days = _days(period_start, period_end)
    used_days = _days(max(start, period_start), min(end, period_end))
    if total_days <= 0 or used_days <= 0:
        return 0
    return round_half_up(Fraction(amount * used_days, total_days))


def _days(start: datetime, end: datetime) -> int:
    return (end.date() - start.date()).days


def split_installments(total: int, count: int) -> list[int]:
    """Split a total into `count` parts that differ by at most one minor unit and add up exactly."""
    if count < 1:
        raise ValueError("at least one installment")
    base, remainder = divmod(total, count)
    return [base + (1 if i < remainder else 0) for i in range(count)]
