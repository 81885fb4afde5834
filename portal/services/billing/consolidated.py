"""A reseller's consolidated monthly invoice: one invoice a month for every client subscription the reseller
pays for, one line per client subscription naming the client (legal name and tax id) and what it bills.

How it fills. When the billing sweep closes the period of a subscription whose payer is a reseller (not the
client itself), it does not issue that subscription an invoice of its own: it adds one line to the reseller's
draft invoice of the month (the month of the sweep's `now` in the reseller's time zone, key
"reseller:<id>:<YYYY-MM>:<currency>", unique, so two sweeps make one draft). The line's amount is what the
subscription's own invoice would have charged — the billing core's lines (plan and add-ons at the reseller
price, overage, prorated charges and credits), added up — with the tax of the reseller's country, rounded
once, as any line (invoicing.line_values). Each line carries the subscription's period key
("sub:<id>:<period end>", unique on invoice lines): a sweep run again, or two at once, never adds a period
twice. The draft's row is locked before its lines go in and its totals are summed from its lines after, so two
sweeps writing to one draft queue behind each other and the totals add up.

Annual plans. A reseller-paid annual subscription renews as the billing core renews it: the whole year in
advance, as one line of the consolidated invoice of the month it renews in (its period, on the line, says so).

Who pays changes. A client switched to paying for itself mid-month keeps the line its last renewal added (that
period was the reseller's); its next renewal is its own invoice. A client switched to its reseller goes onto
the reseller's draft from its next renewal.

Issuing. Once its month has ended the draft is issued (`issue_ended`, after the sweep's batches): numbered in
the reseller's country series, due by the payment terms, its PDF rendered after the commit, announced by
e-mail by dunning like any invoice, paid automatically when the reseller chose it, and otherwise paid on the
reseller's Payment screen (boleto, Pix, card) like any other invoice. A draft is never shown to anyone as
payable; the reseller sees the month so far on its Payment screen.
"""

from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, update
from sqlalchemy.dialects import postgresql, sqlite

from portal.extensions import db
from portal.models import Invoice, InvoiceLine, Organisation
from portal.services import hooks
from portal.services.accounts import taxid
from portal.services.billing import invoicing
from portal.services.billing.rules import LineSpec, describe

KEY_PREFIX = "reseller:"


def pays_for_client(payer, sub) -> bool:
    """Whether `payer` (a row with id and kind) is a reseller paying for another organisation's subscription."""
    return payer.kind == "reseller" and payer.id != sub.organisation_id


def month_of(now: datetime, timezone: str | None) -> tuple[str, datetime, datetime]:
    """The month `now` falls in, in `timezone`: its "YYYY-MM" and its first and next month's first instant."""
    zone = ZoneInfo(timezone or "UTC")
    local = now.astimezone(zone)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return start.strftime("%Y-%m"), start.astimezone(now.tzinfo), end.astimezone(now.tzinfo)


def draft_key(reseller_id: int, currency: str, month: str) -> str:
    return f"{KEY_PREFIX}{reseller_id}:{month}:{currency}"


def client_line(closing, client, payer, rate_bp: int, position: int, tax_for) -> dict:
    """The InvoiceLine values of a closing as one line of its reseller's invoice: the client's legal name and tax
    id and the descriptions of the lines its own invoice would have had; amount their sum."""
    amount = sum(spec.net for spec in closing.lines)
    details = "; ".join(spec.description for spec in closing.lines)
    tax_id = taxid.format_tax_id(client.country, client.tax_id) if client.tax_id else ""
    if tax_id:
        text = describe("client", payer.locale, client=client.name,
                        tax_label=taxid.scheme_name(client.country, client.tax_id), tax_id=tax_id, details=details)
    else:
        text = describe("client_no_tax_id", payer.locale, client=client.name, details=details)
    kinds = [spec.kind for spec in closing.lines if spec.kind not in ("credit", "discount")]
    kind = "recurring" if "recurring" in kinds else (kinds[0] if kinds else "recurring")
    start, end = closing.period
    plan_id = next((spec.product_id for spec in closing.lines if spec.kind == "recurring"), None)
    spec = LineSpec(kind, text, amount, 1, plan_id, start, end, amount=amount)
    values = invoicing.line_values(spec, position, rate_bp, tax_for)
    values.update(subscription_id=closing.sub.id, period_key=closing.key)
    return values


def add_lines(closings: list, payers: dict, now: datetime, ctx, tax_for) -> dict[str, int]:
    """Add each closing (of a reseller-paid subscription, with lines) to its reseller's draft of the month;
    returns the draft's id by the closing's period key. Flushes only."""
    if not closings:
        return {}
    clients = {row.id: row for row in db.session.execute(
        db.select(Organisation.id, Organisation.name, Organisation.tax_id, Organisation.country)
        .where(Organisation.id.in_({closing.sub.organisation_id for closing in closings}))).all()}
    by_draft: dict[str, list] = defaultdict(list)
    drafts: dict[str, dict] = {}
    for closing in closings:
        payer = payers[closing.sub.payer_id]
        month, start, end = month_of(now, payer.timezone)
        key = draft_key(payer.id, closing.sub.currency, month)
        by_draft[key].append(closing)
        drafts.setdefault(key, {
            "organisation_id": payer.id, "subscription_id": None, "period_key": key, "kind": "invoice",
            "status": "draft", "currency": closing.sub.currency, "locale": payer.locale, "subtotal": 0,
            "tax_total": 0, "total": 0, "period_start": start, "period_end": end,
            "vendor_snapshot": ctx.vendor_snapshot, "customer_snapshot": invoicing.customer_snapshot(payer),
            "created_at": now})
    ids = _lock_drafts(list(drafts.values()))
    rows = []
    next_position = dict(db.session.execute(
        db.select(InvoiceLine.invoice_id, func.max(InvoiceLine.position))
        .where(InvoiceLine.invoice_id.in_(ids.values())).group_by(InvoiceLine.invoice_id)).all())
    found = {}
    for key, members in by_draft.items():
        draft_id = ids[key]
        position = next_position.get(draft_id, -1) + 1
        for closing in members:
            payer = payers[closing.sub.payer_id]
            line = client_line(closing, clients[closing.sub.organisation_id], payer, ctx.tax_rate(payer.country),
                               position, tax_for)
            line["invoice_id"] = found[closing.key] = draft_id
            rows.append(line)
            position += 1
    db.session.execute(_insert_new(InvoiceLine, "period_key"), rows)
    _sum_lines(sorted(ids.values()))
    return found


def _insert_new(model, key: str):
    """INSERT that leaves out a row whose unique `key` is already taken (by this run earlier or another one)."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model.__table__).on_conflict_do_nothing(index_elements=[key])


def _lock_drafts(drafts: list[dict]) -> dict[str, int]:
    """Make the drafts that do not exist yet and lock every one (in key order: two sweeps never deadlock);
    returns id by key. A draft issued meanwhile (its month ended) is not written to: its lines go to a new one."""
    drafts.sort(key=lambda values: values["period_key"])
    db.session.execute(_insert_new(Invoice, "period_key"), drafts)
    keys = [values["period_key"] for values in drafts]
    return dict(db.session.execute(
        db.select(Invoice.period_key, Invoice.id).where(Invoice.period_key.in_(keys), Invoice.status == "draft")
        .order_by(Invoice.period_key).with_for_update()).all())


def _sum_lines(invoice_ids: list[int]) -> None:
    """Set each draft's totals to the sum of its lines (read after its lock, so every line is counted)."""
    line = InvoiceLine.__table__
    subtotal = db.select(func.coalesce(func.sum(line.c.amount), 0)).where(
        line.c.invoice_id == Invoice.__table__.c.id).scalar_subquery()
    tax = db.select(func.coalesce(func.sum(line.c.tax_amount), 0)).where(
        line.c.invoice_id == Invoice.__table__.c.id).scalar_subquery()
    db.session.execute(update(Invoice.__table__).where(Invoice.__table__.c.id.in_(invoice_ids))
                       .values(subtotal=subtotal, tax_total=tax, total=subtotal + tax))


def issue_ended(now: datetime, ctx=None) -> list[int]:
    """Issue every consolidated draft whose month has ended at `now`; returns their ids. Their PDFs are
    rendered and their automatic payments attempted once the transaction commits; dunning e-mails them.
    The drafts, their lines and their resellers are read in three statements, the billing context once."""
    issued = []
    drafts = db.session.scalars(
        db.select(Invoice).where(Invoice.status == "draft", Invoice.period_key.like(f"{KEY_PREFIX}%"),
                                 Invoice.period_end <= now)
        .options(db.selectinload(Invoice.lines), db.selectinload(Invoice.organisation))
        .order_by(Invoice.id).with_for_update(of=Invoice, skip_locked=True)).all()
    if drafts and ctx is None:
        ctx = invoicing.load_context()
    for draft in drafts:
        if not draft.lines:  # every line it was made for was already billed: nothing to issue
            db.session.delete(draft)
            continue
        invoicing.finalize_invoice(draft, now, ctx=ctx)
        issued.append(draft.id)
    if issued:
        hooks.after_commit("auto_pay", [(invoice_id, 1) for invoice_id in issued])
    return issued


def drafts_of(reseller: Organisation) -> list[Invoice]:
    """The reseller's consolidated invoices of the months not yet ended (drafts), with their lines (joined in the
    same statement)."""
    from sqlalchemy.orm import joinedload

    return list(db.session.scalars(
        db.select(Invoice).where(Invoice.organisation_id == reseller.id, Invoice.status == "draft",
                                 Invoice.period_key.like(f"{KEY_PREFIX}%"))
        .options(joinedload(Invoice.lines)).order_by(Invoice.period_start, Invoice.id)).unique())


def client_lines(invoice_ids: list[int]) -> dict[int, list[InvoiceLine]]:
    """The lines that name a client subscription of each of these invoices, in one query."""
    found: dict[int, list[InvoiceLine]] = {}
    if invoice_ids:
        for line in db.session.scalars(db.select(InvoiceLine).where(
                InvoiceLine.invoice_id.in_(invoice_ids), InvoiceLine.subscription_id.is_not(None))
                .order_by(InvoiceLine.invoice_id, InvoiceLine.position)):
            found.setdefault(line.invoice_id, []).append(line)
    return found

