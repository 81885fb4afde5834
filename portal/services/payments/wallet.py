"""The wallet: a ledger of credits and debits per organisation and currency, whose balance is the ledger's sum
and never negative.

Each entry is numbered within its wallet (`sequence`, unique) and keeps the balance after it (checked >= 0).
Writers lock the payer first (`lock_payer`), so on PostgreSQL they take turns; should two ever race, the
unique number refuses the second and nothing is spent twice.
"""

from datetime import datetime

from flask_babel import lazy_gettext as _l

from portal.bulk import among
from portal.extensions import db
from portal.models import Organisation, WalletEntry, WalletSettings
from portal.services import audit, hooks
from portal.services.billing.invoicing import MAX_AMOUNT
from portal.services.errors import DomainError

ENTRY_KINDS_CREDIT = ("top_up", "refund_in")
RECHARGE_PREFIX = "recharge:"  # the key of a top-up that auto-recharge made (services/payments/auto_pay.py)
MAX_REASON = 300


def lock_payer(organisation_id: int) -> None:
    """Take the organisation's row lock (PostgreSQL) for the rest of the transaction: payments and wallet
    movements of one payer happen one after the other. On SQLite the writing transaction is already alone."""
    db.session.execute(db.select(Organisation.id).where(Organisation.id == organisation_id).with_for_update())


def last_entry(organisation_id: int, currency: str) -> WalletEntry | None:
    return db.session.scalar(
        db.select(WalletEntry).where(WalletEntry.organisation_id == organisation_id, WalletEntry.currency == currency)
        .order_by(WalletEntry.sequence.desc()).limit(1))


def balance(organisation_id: int, currency: str) -> int:
    """The wallet's balance: the balance after its last entry (the sum of the ledger)."""
    last = last_entry(organisation_id, currency)
    return last.balance_after if last is not None else 0


def balance_select(organisation_id: int, currency: str):
    """What `balance` reads (to read it in the statement of other reads: portal.orm.read_together)."""
    return (db.select(WalletEntry.balance_after)
            .where(WalletEntry.organisation_id == organisation_id, WalletEntry.currency == currency)
            .order_by(WalletEntry.sequence.desc()).limit(1))


def balance_from_rows(rows) -> int:
    return rows[0][0] if rows else 0


def ledger_sum(organisation_id: int, currency: str) -> int:
    """The sum of every entry (equal to `balance`; the invariant tests compare both)."""
    return db.session.scalar(
        db.select(db.func.coalesce(db.func.sum(WalletEntry.amount), 0))
        .where(WalletEntry.organisation_id == organisation_id, WalletEntry.currency == currency)) or 0


def movements(organisation_id: int, currency: str):
    """The wallet's entries, newest first (a query, to page)."""
    return (db.select(WalletEntry)
            .where(WalletEntry.organisation_id == organisation_id, WalletEntry.currency == currency)
            .order_by(WalletEntry.sequence.desc()))


def last_entries(organisation_ids) -> dict[tuple[int, str], WalletEntry]:
    """The last entry of each wallet (organisation, currency) of these organisations, in one query."""
    ids = list(organisation_ids)
    if not ids:
        return {}
    newest = (db.select(WalletEntry.organisation_id, WalletEntry.currency,
                        db.func.max(WalletEntry.sequence).label("sequence"))
              .where(among(WalletEntry.organisation_id, ids))
              .group_by(WalletEntry.organisation_id, WalletEntry.currency).subquery())
    found = db.session.scalars(db.select(WalletEntry).join(newest, db.and_(
        WalletEntry.organisation_id == newest.c.organisation_id, WalletEntry.currency == newest.c.currency,
        WalletEntry.sequence == newest.c.sequence)))
    return {(entry.organisation_id, entry.currency): entry for entry in found}


_READ = object()


def add_entry(org: Organisation, kind: str, amount: int, now: datetime, currency: str | None = None,
              payment=None, invoice=None, reason: str | None = None, actor=None, last=_READ,
              flush: bool = True) -> WalletEntry:
    """Write one movement (credit > 0, debit < 0). A debit larger than the balance is refused. A batch that
    holds the payer's lock and knows the wallet's `last` entry (None: it has none) passes it, and may leave the
    entry to its next flush."""
    currency = currency or org.currency
    if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
        raise DomainError(_l("Enter an amount other than zero."), code="invalid_amount", field="amount")
    if abs(amount) > MAX_AMOUNT:
        raise DomainError(_l("This amount is too large. Check the number of digits."), code="amount_too_large",
                          field="amount")
    if last is _READ:
        last = last_entry(org.id, currency)
    before = last.balance_after if last is not None else 0
    if before + amount < 0:
        raise DomainError(_l("The wallet's balance is not enough for this."), code="insufficient_balance",
                          field="amount")
    entry = WalletEntry(
        organisation_id=org.id, currency=currency, sequence=(last.sequence + 1) if last is not None else 1,
        kind=kind, amount=amount, balance_after=before + amount, created_at=now,
        payment_id=payment.id if payment is not None else None,
        invoice_id=invoice.id if invoice is not None else None,
        reason=(reason or "").strip()[:MAX_REASON] or None,
        created_by_id=actor.id if actor is not None else None,
    )
    db.session.add(entry)
    if flush:
        db.session.flush()
    if amount < 0:
        recharge_trigger(org, entry)
    return entry


def adjustment_by_key(org: Organisation, key: str) -> WalletEntry | None:
    """The adjustment a staff form's key already made, if any."""
    return db.session.scalar(db.select(WalletEntry).where(WalletEntry.organisation_id == org.id,
                                                          WalletEntry.idempotency_key == key))


def adjust(org: Organisation, amount: int, reason: str, now: datetime, actor, key: str | None = None) -> WalletEntry:
    """A staff adjustment of the balance, up or down, always with a reason; once per `key` when given."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("Say why the balance is adjusted."), code="reason_required", field="reason")
    lock_payer(org.id)
    if key is not None:
        done = adjustment_by_key(org, key)
        if done is not None:
            if done.amount != amount:
                raise DomainError(_l("This adjustment was already sent with another amount. Reload the page to "
                                     "start a new one."), code="idempotency_key_reused", status=409)
            return done
    entry = add_entry(org, "adjustment", amount, now, reason=reason, actor=actor)
    entry.idempotency_key = key
    audit.record("wallet_adjusted", actor=actor, organisation=org, obj=entry,
                 details={"amount": amount, "reason": entry.reason})
    return entry


def settings_for(org: Organisation) -> WalletSettings:
    """The organisation's wallet settings (defaults, not stored, when it never chose any)."""
    found = db.session.get(WalletSettings, org.id)
    return found if found is not None else default_settings(org)


def default_settings(org: Organisation) -> WalletSettings:
    """The settings of an organisation that never chose any (not stored)."""
    return WalletSettings(organisation_id=org.id, pay_from_wallet=False, auto_recharge=False, recharge_threshold=0,
                          recharge_amount=0)


_SETTINGS_COLUMNS = ("pay_from_wallet", "auto_recharge", "recharge_threshold", "recharge_amount")


def settings_select(org: Organisation):
    """What a page that only shows the settings reads (to read it in the statement of other reads:
    portal.orm.read_together); `settings_from_rows` makes them of its rows."""
    return db.select(*[getattr(WalletSettings, name) for name in _SETTINGS_COLUMNS]).where(
        WalletSettings.organisation_id == org.id)


def settings_from_rows(org: Organisation, rows) -> WalletSettings:
    """The settings as settings_for gives them, to read only (not in the session): defaults when none are stored."""
    if not rows:
        return default_settings(org)
    return WalletSettings(organisation_id=org.id, **dict(zip(_SETTINGS_COLUMNS, rows[0], strict=True)))


def recharge_trigger(org: Organisation, entry: WalletEntry) -> WalletEntry | None:
    """The movement that brought the wallet under the threshold, when `entry` (just written) leaves it there
    and that fall has not been answered yet — else None. Marks it answered."""
    settings = db.session.get(WalletSettings, org.id)
    if (settings is None or not settings.auto_recharge or settings.recharge_amount <= 0
            or entry.currency != org.currency or entry.balance_after >= settings.recharge_threshold):
        return None
    last_above = db.session.scalar(
        db.select(db.func.max(WalletEntry.sequence)).where(
            WalletEntry.organisation_id == org.id, WalletEntry.currency == entry.currency,
            WalletEntry.balance_after >= settings.recharge_threshold))
    trigger = db.session.scalar(
        db.select(WalletEntry).where(WalletEntry.organisation_id == org.id, WalletEntry.currency == entry.currency,
                                     WalletEntry.sequence == (last_above or 0) + 1))
    if trigger is None or trigger.amount > 0 or settings.recharged_for_entry_id == trigger.id:
        return None
    settings.recharged_for_entry_id = trigger.id
    db.session.flush()
    hooks.after_commit("auto_recharge", [trigger.id])  # portal.jobs charges the auto-pay card
    return trigger


def save_settings(org: Organisation, pay_from_wallet: bool, auto_recharge: bool, threshold: int, amount: int,
                  has_auto_pay_card: bool, now: datetime, actor=None) -> WalletSettings:
    """Store how the wallet is used. Auto-recharge needs an amount above zero and a card that pays
    automatically (it is what is charged); amounts are minor units, never negative."""
    for value in (threshold, amount):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise DomainError(_l("Enter an amount of zero or more."), code="invalid_amount", field="recharge_amount")
        if value > MAX_AMOUNT:
            raise DomainError(_l("This amount is too large. Check the number of digits."), code="amount_too_large",
                              field="recharge_amount")
    if auto_recharge and amount <= 0:
        raise DomainError(_l("Enter the amount to add each time the balance falls below the threshold."),
                          code="recharge_amount_required", field="recharge_amount")
    if auto_recharge and not has_auto_pay_card:
        raise DomainError(_l("Choose a card that pays automatically first: auto-recharge charges it."),
                          code="no_auto_pay_card", field="auto_recharge")
    row = db.session.get(WalletSettings, org.id)
    if row is None:
        row = WalletSettings(organisation_id=org.id)
        db.session.add(row)
    row.pay_from_wallet, row.auto_recharge = bool(pay_from_wallet), bool(auto_recharge)
    row.recharge_threshold, row.recharge_amount, row.updated_at = threshold, amount, now
    db.session.flush()
    audit.record("wallet_settings_changed", actor=actor, organisation=org, obj=None,
                 details={"pay_from_wallet": row.pay_from_wallet, "auto_recharge": row.auto_recharge,
                          "recharge_threshold": threshold, "recharge_amount": amount})
    return row
