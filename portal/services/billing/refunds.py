"""Refunds by credit note: an amount spread over a subscription's latest invoices that can still be credited,
never more than each invoice's total less what was already credited.
"""

from datetime import datetime

from flask_babel import force_locale, gettext

from portal.extensions import db
from portal.models import Invoice, Organisation, Subscription, SubscriptionCharge
from portal.services.billing import credit_notes, invoicing, money


class Room:
    """What each invoice can still be credited, as credit notes are planned against it."""

    def __init__(self):
        self.left: dict[int, int] = {}

    def take(self, invoice: Invoice, wanted: int) -> int:
        if invoice.id not in self.left:
            self.left[invoice.id] = invoice.total - credit_notes.credited_total(invoice)
        taken = max(min(wanted, self.left[invoice.id]), 0)
        self.left[invoice.id] -= taken
        return taken


def spread_refund(sub: Subscription, gross: int, room: Room) -> list:
    """Credit notes (invoice, None, amount) for `gross` against the subscription's latest invoices that can take
    it; what none can take any more is dropped (it was never invoiced)."""
    notes = []
    invoices = db.session.scalars(db.select(Invoice).where(
        Invoice.subscription_id == sub.id, Invoice.kind == "invoice",
        Invoice.status.in_(invoicing.CREDITABLE_STATUSES)).order_by(Invoice.id.desc()))
    for invoice in invoices:
        if gross <= 0:
            break
        taken = room.take(invoice, gross)
        if taken:
            notes.append((invoice, None, taken))
            gross -= taken
    return notes


def owed_back(invoice: Invoice, total: int) -> int:
    """What of a credit of `total` on `invoice` is money to give back rather than a debt forgiven: all of it on
    a paid invoice, and on an open one what exceeds what it still owes (it was partly paid)."""
    if invoice.status == "paid":
        return total
    if invoice.status == "open":
        return max(total - credit_notes.amount_due(invoice), 0)
    return 0


_excess_back_to = None  # where a credit's excess over what an open invoice still owed goes (the app's wiring)


def give_excess_back_to(handler) -> None:
    """Have `handler(invoice, note, amount, now, actor)` take what a credit note gives back beyond what its open
    invoice still owed (part of it paid already), whoever issues the note: create_app wires the wallet's refund
    (services/payments/suspension.py), which billing does not import."""
    global _excess_back_to
    _excess_back_to = handler


def issue_notes(notes: list, now: datetime, actor=None, give_back=None) -> int:
    """Issue the planned credit notes. With `give_back(invoice, note, amount, now, actor)`, what each note owes
    back (see `owed_back`) is handed to it (the wallet's refund). Without it, the note of a paid invoice waits
    as owed back, and what exceeds an open invoice's debt goes to the wired handler: an open invoice is never
    settled for more than it still owed without the rest going somewhere."""
    refunded = 0
    for invoice, lines, total in notes:
        back = owed_back(invoice, total)
        handler = give_back if give_back is not None else (_excess_back_to if invoice.status == "open" else None)
        if lines is not None:
            note = credit_notes.issue_credit_note(invoice, now, lines=lines, actor=actor)
        else:
            note = credit_notes.issue_credit_note(invoice, now, amount=total, actor=actor,
                                               reason=credit_reason(invoice.locale))
        refunded += note.total
        if handler is not None and back > 0:
            handler(invoice, note, min(back, note.total), now, actor)
    return refunded


def credit_reason(locale: str) -> str:
    with force_locale(locale):
        return gettext("days not used after a reduction or a suspension")


def refund(sub: Subscription, net: int, now: datetime, actor=None) -> int:
    """Refund `net` (before tax) of credits by credit notes against the subscription's latest invoices."""
    rate = invoicing.load_context().tax_rate(db.session.get(Organisation, sub.payer_id).country)
    return issue_notes(spread_refund(sub, net + money.tax_for(net, rate), Room()), now, actor)


def refund_credits(subscription_id: int, charge_ids: list[int], now: datetime) -> int:
    """For the sweep: the credits left when a subscription ends are refunded. Returns the credit notes made."""
    sub = db.session.get(Subscription, subscription_id)
    charges = list(db.session.scalars(db.select(SubscriptionCharge).where(SubscriptionCharge.id.in_(charge_ids))))
    rate = invoicing.load_context().tax_rate(db.session.get(Organisation, sub.payer_id).country)
    net = -sum(charge.amount for charge in charges)
    notes = spread_refund(sub, net + money.tax_for(net, rate), Room())
    issue_notes(notes, now)
    for charge in charges:
        charge.collected_at = now
    db.session.flush()
    return len(notes)
