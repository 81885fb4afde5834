"""Dunning: before a renewal and before an invoice's due date a reminder, when it is issued and once it is
overdue a notice, and when it is still unpaid a grace period after its due date the account is blocked
(services/accounts/blocking.py; paying lifts it). Each notice goes out once per trigger — a NoticeLog row,
unique, written in the same transaction as its e-mails — to the organisation's chosen e-mails, each in its
reader's language."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import Invoice, NoticeLog, Organisation, Subscription
from portal.services.accounts import blocking
from portal.services.billing.credit_notes import left_to_pay
from portal.services.notices.preferences import preferences_for, recipients_for

DUE_SOON_DAYS = 3
# An invoice issued longer ago than this is not announced any more (the job was off, or it is older than dunning).
ISSUED_WITHIN = timedelta(days=3)
MAX_RENEWAL_DAYS = 60


@dataclass
class DunningResult:
    sent: dict[str, int] = field(default_factory=dict)
    blocked: int = 0

    def count(self, notice: str) -> None:
        self.sent[notice] = self.sent.get(notice, 0) + 1


def send_once(org: Organisation, notice: str, trigger: str, now: datetime, link: str,
              recipients: list[tuple[str, str]] | None = None, **context) -> bool:
    """Send `notice` for `trigger` to its recipients (by default the organisation's chosen ones, as (e-mail,
    language) pairs) unless it was sent already. False when it was (by an earlier run or one running at the same
    time: the unique log row decides, inside a savepoint)."""
    from portal.services.mail import composing as mail

    recipients = recipients_for(org, notice) if recipients is None else recipients
    try:
        with db.session.begin_nested():
            db.session.add(NoticeLog(organisation_id=org.id, notice=notice, trigger=trigger,
                                     recipients=[email for email, _locale in recipients], sent_at=now))
            db.session.flush()
    except IntegrityError:
        return False
    for email, locale in recipients:
        mail.queue_email(email, f"notice_{notice}", locale, organisation=org, link=link, **context)
    return True


def _unpaid(*conditions):
    owed = left_to_pay().label("owed")
    return (db.select(Invoice, owed).join(Organisation, Organisation.id == Invoice.organisation_id)
            .where(Invoice.kind == "invoice", Invoice.status == "open", left_to_pay() > 0, *conditions)
            .order_by(Invoice.id))


def _invoice_context(invoice: Invoice, owed: int) -> dict:
    return {"number": invoice.display_number, "due_at": invoice.due_at, "currency": invoice.currency,
            "amount": int(owed)}


@dataclass(frozen=True)
class RenewedItem:
    """One product a license subscription renews: `quantity` at `unit_amount` a month each."""

    product: object
    quantity: int
    unit_amount: int

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_amount


# Where a notice's link takes each kind of organisation: its own billing screens (a partner's or a reseller's
# members cannot open the customer's).
INVOICE_ENDPOINTS = {"customer": ("customer.invoices", "customer.invoice", "customer.pay"),
                     "partner": ("partner.invoices", "partner.invoice", "partner.invoices"),
                     "reseller": ("reseller.payment", None, "reseller.payment")}


def invoices_link(org: Organisation, invoice: Invoice | None = None, pay: bool = False) -> str:
    """The link of a billing notice to `org`: its invoice (`invoice`), where it pays (`pay`), or its invoices."""
    from portal.services.mail import composing as mail

    listing, detail, paying = INVOICE_ENDPOINTS.get(org.kind, INVOICE_ENDPOINTS["customer"])
    if invoice is not None and detail is not None:
        return mail.external_url(detail, invoice_id=invoice.id)
    return mail.external_url(paying if pay else listing)


def renewal_context(sub: Subscription) -> dict:
    """What a renewal reminder says: the plan it renews, or for a license partner's subscription (no plan) the
    products and quantities it holds, each at its own monthly fee, and the invoice's estimated total (taxes and
    the month's prorated additions included: the sweep's own arithmetic, services/billing/estimate.py)."""
    if sub.plan_id is not None:
        return {"plan": sub.plan, "items": [], "amount": None, "currency": sub.currency}
    from portal.services.billing import estimate

    items = [RenewedItem(item.product, item.quantity, item.unit_amount or 0) for item in sub.items]
    found = estimate.next_invoices(sub.organisation_id).get(sub.id)
    amount = found.total if found is not None and not found.on_hold else sum(item.amount for item in items)
    return {"plan": None, "items": items, "amount": amount, "currency": sub.currency}


def run_dunning(now: datetime, grace_days: int, due_soon_days: int = DUE_SOON_DAYS) -> DunningResult:
    """One pass of every reminder, notice and block that is due at `now`. Safe to run again, or twice at once."""
    result = DunningResult()

    for invoice, owed in db.session.execute(_unpaid(Invoice.issued_at >= now - ISSUED_WITHIN,
                                                    Invoice.issued_at <= now)).all():
        if send_once(invoice.organisation, "invoice_issued", f"invoice:{invoice.id}", now,
                     invoices_link(invoice.organisation, invoice), **_invoice_context(invoice, owed)):
            result.count("invoice_issued")

    for invoice, owed in db.session.execute(_unpaid(Invoice.due_at > now,
                                                    Invoice.due_at <= now + timedelta(days=due_soon_days))).all():
        if send_once(invoice.organisation, "due_soon", f"invoice:{invoice.id}", now,
                     invoices_link(invoice.organisation, pay=True),
                     **_invoice_context(invoice, owed)):
            result.count("due_soon")

    for invoice, owed in db.session.execute(_unpaid(Invoice.due_at <= now)).all():
        org = invoice.organisation
        block_at = invoice.due_at + timedelta(days=grace_days)
        pay_link = invoices_link(org, pay=True)
        if send_once(org, "overdue", f"invoice:{invoice.id}", now, pay_link, block_at=block_at,
                     **_invoice_context(invoice, owed)):
            result.count("overdue")
        if now >= block_at and org.kind == "customer" and blocking.block(org, "unpaid", now):
            result.blocked += 1
            if send_once(org, "blocked", f"invoice:{invoice.id}", now, pay_link, **_invoice_context(invoice, owed)):
                result.count("blocked")

    for sub in db.session.scalars(
            db.select(Subscription).where(Subscription.status == "active",
                                          Subscription.cancel_at_period_end.is_(False),
                                          Subscription.suspend_at_period_end.is_(False),
                                          Subscription.current_period_end > now,
                                          Subscription.current_period_end <= now + timedelta(days=MAX_RENEWAL_DAYS))
            .order_by(Subscription.id)):
        payer = sub.payer
        if sub.current_period_end > now + timedelta(days=preferences_for(payer).renewal_days):
            continue
        if send_once(payer, "renewal_upcoming", f"sub:{sub.id}:{sub.current_period_end.date().isoformat()}", now,
                     invoices_link(payer), renews_at=sub.current_period_end, **renewal_context(sub)):
            result.count("renewal_upcoming")
    return result
