"""Reconciliation: a statement file's rows matched to the payments their references name.

`check_statement` reads the whole file first (pure, no write): a file with any bad row is refused with the
report of each row and why, and nothing is recorded. A good file is kept (`create_import`) and its rows are
matched in batches (`match_batch`, run by `portal.workflows.statements`, each batch its own transaction, so
progress shows while a large file is read). A row whose reference names a payment still waiting, for the
same amount and currency, pays it (`settlement.succeed`); one whose payment was already paid — by a
webhook, by staff, by another row of this or another statement — is "already paid"; the rest wait for a
person to match them by hand (`match_line`) or dismiss them (`dismiss_line`). A payment is paid by one
row at most (a unique key), and settling twice changes nothing.
"""

import contextlib
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import Payment
from portal.models.offline import StatementImport, StatementLine
from portal.services import audit, hooks
from portal.services.errors import DomainError
from portal.services.payments import settlement, wallet
from portal.services.payments.offline import boleto
from portal.services.payments.offline import statement as statements

BATCH_ROWS = 1000
# Which payments a statement of each kind can pay (by the gateway that issued their reference).
GATEWAYS = {"bank": ("bank_transfer", "pix"), "boleto": ("boleto",), "oxxo": ("oxxo",)}
CURRENCIES = {"boleto": "BRL", "oxxo": "MXN"}
# Our own payment references (PAY-7KQ2-M9XD) and Pix txids (PAY7KQ2M9XD), as a bank copies them.
_OUR_REFERENCE = re.compile(r"PAY-?([A-HJ-NP-Z2-9]{4})-?([A-HJ-NP-Z2-9]{4})", re.IGNORECASE)
MATCHABLE_STATES = ("pending", "processing", "expired", "failed")


@dataclass(frozen=True)
class Checked:
    statement: statements.Statement
    sha256: str


def expected_currency(kind: str, currency: str | None) -> str:
    return CURRENCIES.get(kind) or (currency or "").upper()


def check_statement(raw: bytes, kind: str, currency: str | None) -> Checked:
    """Read a statement file without writing anything; `statement.ok` says whether it can be imported."""
    if kind not in statements.KINDS:
        raise DomainError(_l("Choose the kind of statement."), code="invalid_kind", field="kind")
    currency = expected_currency(kind, currency)
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise DomainError(_l("Choose the currency of the account."), code="invalid_currency", field="currency")
    return Checked(statements.read(raw, kind, currency), hashlib.sha256(raw).hexdigest())


def create_import(checked: Checked, filename: str, size: int, actor, now: datetime) -> StatementImport:
    """Keep a statement that was read without errors, with its rows still to be matched."""
    result = checked.statement
    if not result.ok:
        raise ValueError("a statement with errors is not imported")
    if not result.rows:
        raise DomainError(_l("This file has no payments to match."), code="empty_statement", field="file")
    done = db.session.scalar(db.select(StatementImport.id).where(StatementImport.sha256 == checked.sha256,
                                                                 StatementImport.state != "refused"))
    if done is not None:
        raise DomainError(_l("This file was already imported."), code="already_imported", field="file", status=409)
    record = StatementImport(kind=result.kind, currency=result.rows[0].currency, filename=filename[:200],
                             sha256=checked.sha256, size=size, state="processing", encoding=result.encoding,
                             total_rows=len(result.rows), skipped_rows=result.skipped,
                             created_by_id=actor.id if actor is not None else None, created_at=now, errors=[])
    db.session.add(record)
    db.session.flush()
    db.session.execute(db.insert(StatementLine), [
        {"import_id": record.id, "line": row.line, "paid_on": row.paid_on, "amount": row.amount,
         "currency": row.currency, "refs": list(row.references), "text": row.text, "state": "unmatched"}
        for row in result.rows])
    audit.record("statement_imported", actor=actor, obj=record,
                 details={"kind": record.kind, "rows": record.total_rows, "filename": record.filename})
    return record


def queue_matching(record: StatementImport) -> None:
    """Have the import's rows matched by a job once the import is committed."""
    hooks.after_commit("match_statement", [record.id])


def line_counts(import_id: int) -> dict[str, int]:
    """How many of the import's rows are in each state."""
    counts = dict.fromkeys(("matched", "unmatched", "dismissed", "already_paid"), 0)
    counts.update(db.session.execute(db.select(StatementLine.state, db.func.count())
                                     .where(StatementLine.import_id == import_id)
                                     .group_by(StatementLine.state)).all())
    return counts


def named_payments(lines: list[StatementLine]) -> dict[int, Payment]:
    """The payments these rows name, by id (to show their reference and invoice beside each row)."""
    ids = {line.named_payment_id for line in lines if line.named_payment_id is not None}
    if not ids:
        return {}
    return {payment.id: payment for payment in db.session.scalars(db.select(Payment).where(Payment.id.in_(ids)))}


def candidates(kind: str, references: list[str], text: str) -> list[str]:
    """What a row may name: its references, then our own payment references written in its text."""
    found = list(references)
    if kind == "bank":
        for match in _OUR_REFERENCE.finditer(text or ""):
            found.append(f"PAY-{match.group(1).upper()}-{match.group(2).upper()}")
            found.append(f"PAY{match.group(1).upper()}{match.group(2).upper()}")
    return list(dict.fromkeys(found))


def match_batch(import_id: int, now: datetime, limit: int = BATCH_ROWS) -> int:
    """Match up to `limit` rows not yet processed; returns how many were. Marks the import done at the end."""
    record = db.session.get(StatementImport, import_id, with_for_update=True)
    if record is None or record.state != "processing":
        return 0
    lines = list(db.session.scalars(
        db.select(StatementLine).where(StatementLine.import_id == import_id, StatementLine.line > record.last_line)
        .order_by(StatementLine.line).limit(limit)))
    if not lines:
        record.state, record.finished_at = "done", now
        db.session.flush()
        return 0
    wanted = {line.id: candidates(record.kind, line.refs, line.text) for line in lines}
    payments = _payments_named(record.kind, {ref for refs in wanted.values() for ref in refs})
    for line in lines:
        payment = next((payments[ref] for ref in wanted[line.id] if ref in payments), None)
        if payment is not None:
            _settle_line(line, payment, now, actor=None)
        record.processed_rows += 1
        if line.state == "matched":
            record.matched_rows += 1
    record.last_line = lines[-1].line
    db.session.flush()
    return len(lines)


def _payments_named(kind: str, references: set[str]) -> dict[str, Payment]:
    if not references:
        return {}
    found: dict[str, Payment] = {}
    refs = sorted(references)
    for start in range(0, len(refs), 500):
        chunk = refs[start : start + 500]
        for payment in db.session.scalars(db.select(Payment).where(
                Payment.gateway.in_(GATEWAYS[kind]),
                db.or_(Payment.payer_reference.in_(chunk), Payment.reference.in_(chunk)))):
            for key in (payment.payer_reference, payment.reference):
                if key:
                    found[key] = payment
    return found


def _settle_line(line: StatementLine, payment: Payment, now: datetime, actor) -> None:
    """Pay `payment` with `line` if it still waits and the amounts agree; else say why it cannot. The payer's
    lock is taken first, so two statements naming one payment at once see each other's match."""
    wallet.lock_payer(payment.organisation_id)
    db.session.refresh(payment)
    already = db.session.scalar(db.select(StatementLine.id).where(StatementLine.payment_id == payment.id))
    if already is not None or payment.state == "succeeded":
        line.state, line.named_payment_id = "already_paid", payment.id
        return
    if payment.state not in MATCHABLE_STATES or (line.amount, line.currency) != (payment.amount, payment.currency):
        line.named_payment_id = payment.id  # named, but not for this amount: a person decides
        return
    settlement.succeed(payment, now, actor=actor)
    line.state, line.payment_id, line.named_payment_id = "matched", payment.id, payment.id
    line.resolved_at = now
    if actor is not None:
        line.resolved_by_id = actor.id
    db.session.flush()


def find_payment(reference: str) -> Payment | None:
    """The payment a person names by its reference (PAY-7KQ2-M9XD, a boleto's line, an RF reference, …)."""
    text = (reference or "").strip()
    ours = _OUR_REFERENCE.search(text)
    keys = [f"PAY-{ours.group(1).upper()}-{ours.group(2).upper()}"] if ours else []
    compact = "".join(char for char in text if char.isalnum()).upper()
    if compact:
        keys.append(compact)
    digits = "".join(char for char in text if char.isdigit())
    if len(digits) == 47:
        with contextlib.suppress(boleto.BoletoError):
            keys.append(boleto.barcode_from_line(digits))
    if not keys:
        return None
    return db.session.scalar(db.select(Payment).where(
        db.or_(Payment.reference.in_(keys), Payment.payer_reference.in_(keys))).limit(1))


def match_line(line: StatementLine, reference: str, actor, now: datetime) -> Payment:
    """A person matches an unmatched row to the payment `reference` names."""
    if line.state != "unmatched":
        raise DomainError(_l("This row is already resolved."), code="line_resolved", status=409)
    payment = find_payment(reference)
    record = db.session.get(StatementImport, line.import_id)
    if payment is None or payment.gateway not in GATEWAYS[record.kind]:
        raise DomainError(_l("No payment of this kind has that reference. Check it and try again."),
                          code="unknown_reference", field="reference")
    if (line.amount, line.currency) != (payment.amount, payment.currency):
        raise DomainError(_l("The row's amount is not the payment's. Record the payment by hand instead."),
                          code="amount_differs", field="reference")
    _settle_line(line, payment, now, actor)
    if line.state != "matched":
        raise DomainError(_l("This payment was already paid. Dismiss the row if it is not ours."),
                          code="already_paid", field="reference", status=409)
    record.matched_rows += 1
    audit.record("statement_line_matched", actor=actor, obj=line,
                 details={"payment_id": payment.id, "reference": payment.reference, "line": line.line})
    return payment


def dismiss_line(line: StatementLine, actor, now: datetime) -> None:
    """A person says an unmatched row pays nothing of ours (a transfer to another account, a duplicate)."""
    if line.state not in ("unmatched", "already_paid"):
        raise DomainError(_l("This row is already resolved."), code="line_resolved", status=409)
    line.state, line.resolved_at, line.resolved_by_id = "dismissed", now, actor.id if actor is not None else None
    db.session.flush()
    audit.record("statement_line_dismissed", actor=actor, obj=line, details={"line": line.line})
