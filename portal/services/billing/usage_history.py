"""Usage over time ("Descripción general del uso"): per counted metric, the units used in each of the last 12
periods and on each day of one of them, with the monthly quota.

Periods are months anchored on the day the organisation's billing period starts (for a monthly plan, its billing
periods exactly; for an annual one, its months, as quotas are monthly), or calendar months without a plan in
force. Days are the organisation's own (its time zone). Every total is summed in SQL, one statement per chart
that reads whole hours from their sums and events only in the hours a bound cuts, whatever the number of events,
with the bounds of `usage.usage_totals` (start included, end excluded) and its code, so the charts, their tables
and the usage service agree.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import lazy_gettext as _l

from portal.models import Organisation
from portal.services.billing.entitlements import COUNTED, allowances, subscriptions_in_force
from portal.services.billing.rules import MONTHS, add_months, whole_months_between
from portal.services.billing.usage import current_period, summed
from portal.services.errors import DomainError

PERIODS = 12


@dataclass(frozen=True)
class Bucket:
    start: datetime
    end: datetime
    used: int


@dataclass(frozen=True)
class Series:
    """One metric over consecutive buckets, oldest first, and its quota per bucket (None: no limit)."""

    metric: str
    buckets: tuple[Bucket, ...]
    quota: int | None

    @property
    def peak(self) -> int:
        return max([bucket.used for bucket in self.buckets] + [self.quota or 0])

    @property
    def total(self) -> int:
        return sum(bucket.used for bucket in self.buckets)


@dataclass(frozen=True)
class Overview:
    periods: tuple[tuple[datetime, datetime], ...]  # oldest first; the last is the current one
    by_period: dict[str, Series]
    chosen: int  # the period shown per day: 0 is the current one, 1 the one before, …
    by_day: dict[str, Series]


def period_index(raw: str | None) -> int:
    """The period asked for in the query string (0 = current … 11), refusing anything else with a 422."""
    if raw is None or raw == "":
        return 0
    if not raw.isdigit() or int(raw) >= PERIODS:
        raise DomainError(_l("Choose one of the last %(count)d periods: 0 is the current one, %(last)d the oldest.",
                             count=PERIODS, last=PERIODS - 1), code="invalid_period", field="period")
    return int(raw)


def last_periods(organisation: Organisation, now: datetime) -> tuple[tuple[datetime, datetime], ...]:
    """The last PERIODS monthly periods up to the current one, oldest first."""
    subscriptions = subscriptions_in_force(organisation.id)
    period = current_period(organisation.id, now, subscriptions[0] if subscriptions else None)
    # The month of the period that holds `now`: an annual period's, or a period the sweep has not closed yet.
    start = add_months(period.start, whole_months_between(period.start, now), day=period.start.day)
    day = start.day
    starts = [add_months(start, -n, day=day) for n in range(PERIODS - 1, -1, -1)]
    ends = starts[1:] + [add_months(start, 1, day=day)]
    return tuple(zip(starts, ends, strict=True))


def monthly_quotas(organisation_id: int) -> dict[str, int]:
    """The units per month of each counted metric the plans and add-ons in force include (absent: no limit)."""
    subscriptions = subscriptions_in_force(organisation_id)
    included = allowances(subscriptions)
    months = MONTHS[subscriptions[0].period] if subscriptions else 1
    return {metric: units // months for metric, units in included.items() if metric in COUNTED}


def totals(organisation_id: int, bounds: list[tuple[datetime, datetime]], metrics=COUNTED) -> dict[str, list[int]]:
    """Units used per metric in each of the consecutive `bounds`, in one statement (`usage.summed`)."""
    return summed(organisation_id, bounds, metrics)


def days_of(start: datetime, end: datetime, timezone: str | None) -> list[tuple[datetime, datetime]]:
    """The organisation's calendar days that [start, end) covers, as UTC bounds (the first and last cut to it)."""
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    day = start.astimezone(zone).date()
    bounds = []
    while True:
        low = max(datetime.combine(day, time(), zone).astimezone(UTC), start)
        high = min(datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC), end)
        if low >= end:
            return bounds
        bounds.append((low, high))
        day += timedelta(days=1)


def overview(organisation: Organisation, now: datetime, chosen: int = 0, metrics=COUNTED) -> Overview:
    """The usage of the last PERIODS periods and the days of period `chosen` (0 = current), per metric."""
    periods = last_periods(organisation, now)
    quotas = monthly_quotas(organisation.id)
    by_period = totals(organisation.id, list(periods), metrics)
    start, end = periods[-1 - chosen]
    days = days_of(start, min(end, now) if chosen == 0 else end, organisation.timezone)  # the current one: to today
    by_day = totals(organisation.id, days, metrics)

    def series(metric, bounds, used, quota):
        return Series(metric, tuple(Bucket(s, e, u) for (s, e), u in zip(bounds, used, strict=True)), quota)

    return Overview(
        periods, {metric: series(metric, periods, by_period[metric], quotas.get(metric)) for metric in metrics},
        chosen, {metric: series(metric, days, by_day[metric], None) for metric in metrics})
