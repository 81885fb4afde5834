"""A reseller's client companies: the list its people read (search, filters, pages, CSV) and one client.

Every query is scoped by the reseller passed in (the view passes `g.organisation`): a client of another
reseller is never found, whatever id the request names.
"""

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import case
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.labels import CONTRACT_STATUS_LABELS, PAYER_LABELS
from portal.models import AuditEvent, ClientCertificate, Organisation, Product, Software, Subscription
from portal.orm import utcnow
from portal.services.resellers.certificates import certificate_state
from portal.text import folded

CONTRACT_STATUSES = tuple(CONTRACT_STATUS_LABELS)  # active, trial, blocked, cancelled
PAYERS = tuple(PAYER_LABELS)  # client, reseller


@dataclass
class ClientFilters:
    q: str = ""  # part of the client's legal or trade name, or of its tax id (accents and punctuation ignored)
    status: str = ""  # one of CONTRACT_STATUSES
    plan: int | None = None  # a plan's product id
    payer: str = ""  # one of PAYERS

    def args(self) -> dict:
        """The filters as URL query arguments (for the pages, the CSV link and the address bar)."""
        values = {"q": self.q, "status": self.status, "plan": self.plan or "", "payer": self.payer}
        return {key: value for key, value in values.items() if value}


@dataclass
class ClientRow:
    organisation: Organisation
    subscription: Subscription | None
    plan: Product | None
    software: Software | None
    contract_status: str | None
    last_activity: datetime | None
    certificate_expiry: datetime | None = None
    certificate_state: str = "missing"  # missing, expired, expiring (under 30 days) or valid

    @property
    def payer(self) -> str | None:
        """"client" or "reseller": who receives the invoice of the client's current subscription."""
        if self.subscription is None:
            return None
        return "client" if self.subscription.payer_id == self.organisation.id else "reseller"


def _current_subscription_id():
    """The client's current subscription: its latest (a new plan or a new contract starts a new one)."""
    return (
        db.select(db.func.max(Subscription.id))
        .where(Subscription.organisation_id == Organisation.id)
        .correlate(Organisation)
        .scalar_subquery()
    )


def contract_status_expression():
    """The contract status as the reseller reads it, computed by the database so that it can be filtered on."""
    return case(
        (Organisation.status == "blocked", "blocked"),
        (Subscription.status == "trial", "trial"),
        (Subscription.status.in_(("active", "past_due")), "active"),
        (Subscription.status.in_(("suspended", "cancelled")), "cancelled"),
        else_=None,
    )


def _last_activity():
    return (
        db.select(db.func.max(AuditEvent.at))
        .where(AuditEvent.organisation_id == Organisation.id)
        .correlate(Organisation)
        .scalar_subquery()
    )


def _matching(needle: str):
    needle = needle.strip()
    compact = "".join(character for character in needle if character.isalnum()).upper()
    conditions = [Organisation.search_name.contains(folded(needle), autoescape=True)]
    if compact:
        conditions.append(Organisation.tax_id.contains(compact, autoescape=True))
        # "Pao-Dourado" or "pao dourado ltda." finds the name too: compare without spaces and punctuation.
        conditions.append(db.func.replace(Organisation.search_name, " ", "").contains(folded(compact),
                                                                                      autoescape=True))
    return db.or_(*conditions)


def client_rows(reseller: Organisation, filters: ClientFilters):
    """The select of the reseller's clients with their current subscription, plan, software, contract status and
    last activity, ordered by name; page it with portal.pagination.page_of(..., as_rows=True)."""
    status = contract_status_expression().label("contract_status")
    query = (
        db.select(Organisation, Subscription, Product, Software, status, _last_activity().label("last_activity"),
                  ClientCertificate.not_after)
        .outerjoin(Subscription, Subscription.id == _current_subscription_id())
        .outerjoin(ClientCertificate, ClientCertificate.organisation_id == Organisation.id)
        .outerjoin(Product, Product.id == Subscription.plan_id)
        .outerjoin(Software, Software.id == Product.software_id)
        .where(Organisation.reseller_id == reseller.id, Organisation.kind == "customer")
        .order_by(Organisation.name, Organisation.id)
    )
    if filters.q.strip():
        query = query.where(_matching(filters.q))
    if filters.status:
        query = query.where(contract_status_expression() == filters.status)
    if filters.plan:
        query = query.where(Subscription.plan_id == filters.plan)
    if filters.payer == "client":
        query = query.where(Subscription.payer_id == Organisation.id)
    elif filters.payer == "reseller":
        query = query.where(Subscription.payer_id == reseller.id)
    return query


def as_client_row(row, now: datetime | None = None) -> ClientRow:
    found = ClientRow(*row)
    found.certificate_state = certificate_state(found.certificate_expiry, now or utcnow())
    return found


def client_count(reseller: Organisation) -> int:
    return db.session.scalar(
        db.select(db.func.count()).select_from(Organisation).where(Organisation.reseller_id == reseller.id,
                                                                   Organisation.kind == "customer")
    )


def plans_in_use(reseller: Organisation) -> list[Product]:
    """The plans of the reseller's clients' subscriptions (the choices of the plan filter), by name."""
    ids = (
        db.select(Subscription.plan_id)
        .join(Organisation, Organisation.id == Subscription.organisation_id)
        .where(Organisation.reseller_id == reseller.id)
        .distinct()
    )
    return list(db.session.scalars(
        db.select(Product).where(Product.id.in_(ids)).options(joinedload(Product.software)).order_by(Product.name)
    ))


def current_subscription(client: Organisation) -> Subscription | None:
    """The client's current subscription: its latest."""
    return db.session.scalar(_current_subscription(client))


def shown_subscription(client: Organisation) -> Subscription | None:
    """current_subscription with what the client's pages show of it loaded in the same statement: its plan, the
    plan's software and any plan it changes to (not for a writer: its lock, `refresh(with_for_update=True)`,
    would then lock the nullable side of outer joins, which PostgreSQL refuses)."""
    return db.session.scalar(_current_subscription(client).options(
        joinedload(Subscription.plan).joinedload(Product.software), joinedload(Subscription.pending_plan)))


def _current_subscription(client: Organisation):
    return db.select(Subscription).where(Subscription.organisation_id == client.id).order_by(
        Subscription.id.desc()).limit(1)


def contract_status(client: Organisation) -> str | None:
    """One client's contract status, by the same rule as the list's."""
    return db.session.scalar(
        db.select(contract_status_expression())
        .select_from(Organisation)
        .outerjoin(Subscription, Subscription.id == _current_subscription_id())
        .where(Organisation.id == client.id)
    )


def client_of(reseller: Organisation, client_id: int) -> Organisation | None:
    """One client company of `reseller`; None for any other organisation (the view answers 404)."""
    return db.session.scalar(
        db.select(Organisation).where(Organisation.id == client_id, Organisation.reseller_id == reseller.id,
                                      Organisation.kind == "customer")
    )


def _cell(value) -> str:
    """A CSV cell that a spreadsheet shows as text: a leading =, +, - or @ would otherwise run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_header() -> list[str]:
    return [str(title) for title in (_l("Company"), _l("Trade name"), _l("Tax ID"), _l("Country"), _l("Software"),
                                      _l("Plan"), _l("Contract status"), _l("Who pays"), _l("Certificate valid until"),
                                      _l("Last activity"))]


def csv_row(row: ClientRow, locale: str | None) -> list[str]:
    org = row.organisation
    return [
        _cell(org.name), _cell(org.trade_name), _cell(org.tax_id), org.country,
        _cell(row.software.display_name(locale)) if row.software else "",
        _cell(row.plan.display_name(locale)) if row.plan else "",
        str(CONTRACT_STATUS_LABELS[row.contract_status]) if row.contract_status else "",
        str(PAYER_LABELS[row.payer]) if row.payer else "",
        row.certificate_expiry.date().isoformat() if row.certificate_expiry else "",
        row.last_activity.isoformat(timespec="seconds") if row.last_activity else "",
    ]


def csv_lines(query, locale: str | None, chunk: int = 1_000):
    """The CSV text of every client of `query`, a chunk at a time (a large export is streamed)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # so that spreadsheets read the accents as UTF-8
    writer.writerow(csv_header())
    yield buffer.getvalue()
    for rows in db.session.execute(query.execution_options(yield_per=chunk)).partitions(chunk):
        buffer.seek(0)
        buffer.truncate()
        for row in rows:
            writer.writerow(csv_row(as_client_row(row), locale))
        yield buffer.getvalue()


def csv_filename(today=None) -> str:
    """clients-2026-12-02.csv in the reader's language, kept to plain ASCII letters and dashes."""
    name = str(_l("clients-%(date)s.csv", date=(today or utcnow().date()).isoformat()))
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().removesuffix(".csv")
    return (re.sub(r"[^A-Za-z0-9]+", "-", ascii_name).strip("-") or "clients") + ".csv"
