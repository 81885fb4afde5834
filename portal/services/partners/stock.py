"""A partner's stock of licenses, activated for its clients under authorisation codes.

Activating takes one license with a conditional UPDATE (`available = available - 1 WHERE available >= 1`):
on PostgreSQL the row lock makes a concurrent activation wait and read the new count, on SQLite writers take
turns; either way the stock never goes below zero (and the CHECK constraint is the last word). Every change
is a StockMovement, so the history always adds up to what is available.
"""

import re
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import Organisation, Product, User
from portal.models.partners import LicenseActivation, PartnerClient, PartnerStock, StockMovement
from portal.services import audit
from portal.services.accounts.taxid import TaxIdError, format_tax_id, normalise_tax_id
from portal.services.errors import DomainError
from portal.services.partners import codes
from portal.text import folded, search_text

MAX_NOTE = 500
MAX_NAME = 200


def mask_tax_id(country: str, tax_id: str) -> str:
    """The printed tax id with all but its first two and last two digits hidden: 11.***.***/****-81."""
    printed = format_tax_id(country, tax_id)
    digits = [i for i, character in enumerate(printed) if character.isalnum()]
    hidden = set(digits[2:-2])
    return "".join("*" if i in hidden else character for i, character in enumerate(printed))


def check_client(partner: Organisation, name: str | None, tax_id: str | None) -> tuple[str, str]:
    name = " ".join((name or "").split())
    if not name:
        raise DomainError(_l("Enter the client's name."), code="invalid_name", field="client_name")
    if len(name) > MAX_NAME:
        raise DomainError(_l("The client's name can have at most %(max)s characters.", max=MAX_NAME),
                          code="invalid_name", field="client_name")
    try:
        compact = normalise_tax_id(partner.country, tax_id or "")
    except TaxIdError as error:
        raise DomainError(str(error), code="invalid_tax_id", field="client_tax_id") from None
    return name, compact


def _client(partner: Organisation, name: str, tax_id: str, now: datetime) -> PartnerClient:
    """The partner's client with this tax id, made on its first activation (a concurrent first wins)."""
    query = db.select(PartnerClient).where(PartnerClient.partner_id == partner.id, PartnerClient.tax_id == tax_id)
    client = db.session.scalar(query)
    if client is not None:
        return client
    client = PartnerClient(partner_id=partner.id, name=name, search_name=search_text(name), tax_id=tax_id,
                           tax_id_masked=mask_tax_id(partner.country, tax_id), created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(client)
    except IntegrityError:
        client = db.session.scalar(query)
    return client


def activate(partner: Organisation, user: User, product: Product | None, client_name: str | None,
             client_tax_id: str | None, note: str | None, now: datetime, address: str | None = None
             ) -> LicenseActivation:
    """Take one license of `product` from the partner's stock for a client; returns the activation and its
    code. Refused, with nothing written, when no license is left."""
    if product is None:
        raise DomainError(_l("Choose a product from your stock."), code="invalid_product", field="product")
    name, tax_id = check_client(partner, client_name, client_tax_id)
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise DomainError(_l("The note can have at most %(max)s characters.", max=MAX_NOTE), code="invalid_note",
                          field="note")
    left = db.session.scalar(db.select(PartnerStock.available).where(
        PartnerStock.partner_id == partner.id, PartnerStock.product_id == product.id))
    taken = None if not left else db.session.execute(
        db.update(PartnerStock)
        .where(PartnerStock.partner_id == partner.id, PartnerStock.product_id == product.id,
               PartnerStock.available >= 1)
        .values(available=PartnerStock.available - 1)
        .returning(PartnerStock.users_per_license), execution_options={"synchronize_session": False}).first()
    if taken is None:  # none left when read (no write at all), or taken meanwhile by another activation
        raise DomainError(_l("No license of %(product)s is left in your stock. Order more under Orders > Buy.",
                             product=product.name), code="out_of_stock", field="product", status=409)
    client = _client(partner, name, tax_id, now)
    activation = LicenseActivation(partner_id=partner.id, client_id=client.id, product_id=product.id,
                                   code=codes.new_code(), users=taken[0], note=note, status="active",
                                   activated_by_id=user.id, activated_at=now)
    db.session.add(activation)
    db.session.flush()
    db.session.add(StockMovement(partner_id=partner.id, product_id=product.id, kind="activation", quantity=-1,
                                 activation_id=activation.id, user_id=user.id, at=now))
    db.session.flush()
    audit.record("license_activated", actor=user, organisation=partner, obj=activation, address=address,
                 details={"product_id": product.id, "client_id": client.id})
    return activation


def _give_back(partner_id: int, product_id: int, count: int) -> None:
    db.session.execute(
        db.update(PartnerStock).where(PartnerStock.partner_id == partner_id, PartnerStock.product_id == product_id)
        .values(available=PartnerStock.available + count), execution_options={"synchronize_session": False})


def cancel_activation(activation: LicenseActivation, user: User, now: datetime, address: str | None = None,
                      kind: str = "cancellation") -> LicenseActivation:
    """Cancel an active license: it goes back to stock. A license already cancelled is refused."""
    db.session.flush()
    db.session.refresh(activation, with_for_update=True)
    if activation.status != "active":
        raise DomainError(_l("This license was already cancelled: nothing was changed."),
                          code="activation_cancelled", status=409)
    activation.status, activation.cancelled_by_id, activation.cancelled_at = "cancelled", user.id, now
    _give_back(activation.partner_id, activation.product_id, 1)
    db.session.add(StockMovement(partner_id=activation.partner_id, product_id=activation.product_id, kind=kind,
                                 quantity=1, activation_id=activation.id, user_id=user.id, at=now))
    db.session.flush()
    if kind == "cancellation":
        audit.record("license_cancelled", actor=user, organisation=db.session.get(Organisation, activation.partner_id),
                     obj=activation, address=address)
    return activation


def active_licenses(client: PartnerClient) -> list[LicenseActivation]:
    return list(db.session.scalars(db.select(LicenseActivation).where(  # (partner, client): the index's order
        LicenseActivation.partner_id == client.partner_id, LicenseActivation.client_id == client.id,
        LicenseActivation.status == "active")
        .order_by(LicenseActivation.id)))


def cancel_client(partner: Organisation, client: PartnerClient, user: User, now: datetime,
                  address: str | None = None) -> int:
    """Cancel a client: every active license cancelled and back to stock, and its tax id removed (the
    activations keep the masked one). Returns how many licenses returned."""
    db.session.flush()
    db.session.refresh(client, with_for_update=True)
    if client.cancelled_at is not None:
        raise DomainError(_l("This client was already cancelled: nothing was changed."), code="client_cancelled",
                          status=409)
    licenses = active_licenses(client)
    for activation in licenses:
        cancel_activation(activation, user, now, kind="client_cancellation")
    client.tax_id, client.cancelled_at = None, now
    db.session.flush()
    audit.record("partner_client_cancelled", actor=user, organisation=partner, obj=client, address=address,
                 details={"licenses": len(licenses), "tax_id": client.tax_id_masked})
    return len(licenses)


# Reading


def stock_of(partner: Organisation) -> list[PartnerStock]:
    return list(db.session.scalars(
        db.select(PartnerStock).where(PartnerStock.partner_id == partner.id)
        .options(db.joinedload(PartnerStock.product)).order_by(PartnerStock.product_id)))


def available_stock(partner: Organisation) -> list[PartnerStock]:
    return [stock for stock in stock_of(partner) if stock.available > 0]


def movements(partner: Organisation, limit: int = 100) -> list[StockMovement]:
    return list(db.session.scalars(
        db.select(StockMovement).where(StockMovement.partner_id == partner.id)
        .options(db.joinedload(StockMovement.product), db.joinedload(StockMovement.user))
        .order_by(StockMovement.id.desc()).limit(limit)))


_DIGITS = re.compile(r"\D+")


def find_activations(partner: Organisation, name: str = "", tax_id: str = "", code: str = "",
                     limit: int = 50) -> list[LicenseActivation]:
    """The partner's activations, newest first, filtered by client name (a part of it), tax id or code (either
    typed in any case, with spaces or dashes). A code or tax id that cannot be one finds nothing."""
    query = (db.select(LicenseActivation).join(PartnerClient, PartnerClient.id == LicenseActivation.client_id)
             .where(LicenseActivation.partner_id == partner.id))
    if code.strip():
        compact = codes.normalise(code)
        if compact is None:
            return []
        query = query.where(LicenseActivation.code == compact)
    if tax_id.strip():
        query = query.where(PartnerClient.partner_id == partner.id,
                            PartnerClient.tax_id == _DIGITS.sub("", tax_id)[:20])
    if name.strip():
        pattern = "%" + folded(name.strip()).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(PartnerClient.search_name.like(pattern, escape="\\"))
    return list(db.session.scalars(
        query.options(db.contains_eager(LicenseActivation.client), db.joinedload(LicenseActivation.product),
                      db.joinedload(LicenseActivation.activated_by))
        .order_by(LicenseActivation.id.desc()).limit(limit)))


def partner_activation(partner: Organisation, activation_id: int, shown: bool = False) -> LicenseActivation | None:
    """One of the partner's activations; `shown`: with its product, client and who activated it, in the same
    statement (its page). Not for a change: the row lock taken then (cancel_activation) would reach the joins."""
    query = db.select(LicenseActivation).where(LicenseActivation.id == activation_id,
                                               LicenseActivation.partner_id == partner.id)
    if shown:
        query = query.options(db.joinedload(LicenseActivation.product), db.joinedload(LicenseActivation.client),
                              db.joinedload(LicenseActivation.activated_by))
    return db.session.scalar(query)


def find_clients(partner: Organisation, query_text: str = "", limit: int = 50) -> list[tuple[PartnerClient, int]]:
    """The partner's clients still active, each with its count of active licenses; by a part of the name or
    by tax id. Each count reads the licenses by the (partner, client) index, not the whole table."""
    active = (db.select(db.func.count(LicenseActivation.id)).where(
        LicenseActivation.partner_id == partner.id, LicenseActivation.client_id == PartnerClient.id,
        LicenseActivation.status == "active")
        .correlate(PartnerClient).scalar_subquery())
    query = db.select(PartnerClient, active).where(PartnerClient.partner_id == partner.id,
                                                   PartnerClient.cancelled_at.is_(None))
    text = query_text.strip()
    digits = _DIGITS.sub("", text)
    if text and len(digits) >= 11 and len(digits) == len(re.sub(r"[\s./-]", "", text)):
        query = query.where(PartnerClient.tax_id == digits[:20])
    elif text:
        pattern = "%" + folded(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(PartnerClient.search_name.like(pattern, escape="\\"))
    return [(client, count) for client, count in
            db.session.execute(query.order_by(PartnerClient.name, PartnerClient.id).limit(limit))]


def partner_client(partner: Organisation, client_id: int) -> PartnerClient | None:
    return db.session.scalar(db.select(PartnerClient).where(PartnerClient.id == client_id,
                                                            PartnerClient.partner_id == partner.id))
