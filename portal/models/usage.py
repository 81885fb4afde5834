"""Usage events reported by the vendor's software, each counted once by its client-given id, and their sums per hour."""

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.accounts import _in
from portal.models.catalog import METRICS
from portal.orm import utcnow


class UsageEvent(db.Model):
    __tablename__ = "usage_event"
    __table_args__ = (
        UniqueConstraint("organisation_id", "event_id"),
        CheckConstraint(f"metric IN {_in(METRICS)}", name="metric"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_usage_event_org_metric_time", "organisation_id", "metric", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    event_id: Mapped[str] = mapped_column(String(100))
    metric: Mapped[str] = mapped_column(String(24))
    quantity: Mapped[int] = mapped_column(default=1)
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class UsageHour(db.Model):
    """The units of one metric an organisation used in one hour (UTC, `hour` its first instant): the sum of the
    quantities of its events that occurred then, added to as each batch of events is recorded. Charts and
    totals over long periods read whole hours here instead of every event."""

    __tablename__ = "usage_hour"
    __table_args__ = (
        CheckConstraint(f"metric IN {_in(METRICS)}", name="metric"),
        CheckConstraint("total > 0", name="total_positive"),
    )

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True)
    metric: Mapped[str] = mapped_column(String(24), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    total: Mapped[int] = mapped_column(BigInteger)
