"""A subscription's history as its customer reads it: every change (started, plan or quantity changed, add-on
added or removed, suspended, resumed, cancelled, trial ended, renewed) with when, who, before → after, the amount
it charged or credited, and the documents it produced (the invoice, the credit notes of a refund).

The events are the SubscriptionEvents the subscriptions service and the billing sweep record; this module reads
them, scoped by the organisation passed in, and names what they concern.
"""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.models import Invoice, Organisation, Subscription, SubscriptionEvent
from portal.services.billing.rules import PriceBook

_PRODUCT_ACTIONS = ("quantity_changed", "addon_added", "addon_removed")


@dataclass(frozen=True)
class Change:
    """One event of a subscription, named: `subject` is the plan or add-on it concerns, `before` and `after` what
    changed (quantities as numbers, plans and payers as names), `amount` what it charged (+) or credited (−)."""

    event: SubscriptionEvent
    subject: str
    before: str | int | None = None
    after: str | int | None = None
    amount: int | None = None
    effective_at: datetime | None = None  # a change scheduled for later: when it takes effect
    invoice: Invoice | None = None
    credit_notes: tuple[Invoice, ...] = field(default_factory=tuple)

    @property
    def action(self) -> str:
        return self.event.action

    @property
    def currency(self) -> str:
        return self.event.subscription.currency


def events(organisation_id: int, subscription_id: int | None = None, actions: tuple[str, ...] | None = None,
           since: datetime | None = None):
    """The select of the organisation's subscription events, newest first (for a page or a CSV)."""
    query = (
        db.select(SubscriptionEvent)
        .join(Subscription, Subscription.id == SubscriptionEvent.subscription_id)
        .where(Subscription.organisation_id == organisation_id)
        .options(joinedload(SubscriptionEvent.actor), joinedload(SubscriptionEvent.subscription),
                 joinedload(SubscriptionEvent.invoice).joinedload(Invoice.series))
        .order_by(SubscriptionEvent.at.desc(), SubscriptionEvent.id.desc())
    )
    if subscription_id is not None:
        query = query.where(SubscriptionEvent.subscription_id == subscription_id)
    if actions is not None:
        query = query.where(SubscriptionEvent.action.in_(actions))
    if since is not None:
        query = query.where(SubscriptionEvent.at >= since)
    return query


def subscriptions_of(organisation_id: int) -> list[Subscription]:
    """Every subscription the organisation has had, oldest first (to filter the history by one)."""
    return list(db.session.scalars(
        db.select(Subscription).where(Subscription.organisation_id == organisation_id)
        .order_by(Subscription.created_at, Subscription.id)))


def changes(found: list[SubscriptionEvent], book: PriceBook, locale: str | None) -> list[Change]:
    """The events named, with their documents, in a constant number of queries."""
    if not found:
        return []
    notes = _credit_notes(found)
    payer_ids = {value for event in found if event.action == "payer_changed"
                 for value in (event.details.get("previous_payer_id"), event.details.get("payer_id")) if value}
    payers = dict(db.session.execute(db.select(Organisation.id, Organisation.name)
                                     .where(Organisation.id.in_(payer_ids))).all()) if payer_ids else {}

    def name(product_id) -> str:
        info = book.products.get(product_id) if product_id else None
        return info.display_name(locale) if info else ""

    result = []
    for event in found:
        details, sub = event.details or {}, event.subscription
        values = {"subject": name(sub.plan_id), "invoice": event.invoice,
                  "credit_notes": notes.get((event.subscription_id, event.at), ())}
        action = event.action
        if action in _PRODUCT_ACTIONS:
            values["subject"] = name(details.get("product_id"))
            values["amount"] = details.get("amount")
            if action == "quantity_changed":
                values.update(before=details.get("before"), after=details.get("after"))
            elif action == "addon_added":
                values.update(before=0, after=details.get("quantity"))
            else:
                values.update(before=details.get("quantity"), after=0)
        elif action in ("started", "trial_started"):
            values.update(subject=name(details.get("plan_id") or sub.plan_id), after=name(details.get("plan_id")))
        elif action in ("plan_changed", "renewed", "activated") and details.get("previous_plan_id"):
            values.update(before=name(details["previous_plan_id"]), after=name(details.get("plan_id")),
                          amount=details.get("amount"))
        elif action == "plan_change_scheduled":
            values.update(after=name(details.get("plan_id")), effective_at=_moment(details.get("at")))
        elif action == "plan_change_cancelled":
            values.update(before=name(details.get("plan_id")))
        elif action == "payer_changed":
            values.update(before=payers.get(details.get("previous_payer_id")),
                          after=payers.get(details.get("payer_id")))
        elif action in ("suspension_scheduled", "cancellation_scheduled"):
            values["effective_at"] = _moment(details.get("at"))
        result.append(Change(event, **values))
    return result


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _credit_notes(found: list[SubscriptionEvent]) -> dict[tuple[int, datetime], tuple[Invoice, ...]]:
    """The credit notes a suspension or a cancellation issued: those of its subscription issued at its moment."""
    ending = [event for event in found if event.action in ("suspended", "cancelled")]
    if not ending:
        return {}
    moments = {event.at for event in ending}
    rows = db.session.scalars(
        db.select(Invoice).options(joinedload(Invoice.series))
        .where(Invoice.kind == "credit_note", Invoice.subscription_id.in_({event.subscription_id for event in ending}),
               Invoice.issued_at.in_(moments)).order_by(Invoice.id))
    grouped: dict[tuple[int, datetime], list[Invoice]] = {}
    for note in rows:
        grouped.setdefault((note.subscription_id, note.issued_at), []).append(note)
    return {key: tuple(value) for key, value in grouped.items()}
