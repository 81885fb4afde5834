"""A reseller's hiring link ("Enviar link de contratação" / "Enviar enlace de contratación"): a signed link,
valid for 14 days and used once, that leads a new client through the sign-up with the reseller's offer (a plan
and who pays). The client's organisation is created on trial, linked to the reseller, paid by it (with the
reseller discount) when it said so.

The link carries the reseller, the plan, who pays and a random id, signed with the portal's secret
(itsdangerous, a salt of its own); the organisation it creates keeps the id (HiringLinkUse, unique), so a second
use is refused. Nothing is stored when a link is made: the manager copies it, e-mails it or shares it.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import HiringLinkUse, Organisation, Product, User
from portal.services import audit
from portal.services.errors import DomainError
from portal.services.resellers.new_clients import Offer, check_offer

SALT = "vitrine-hiring-link"
LIFETIME = timedelta(days=14)
PAYER_CODES = {"client": "c", "reseller": "r"}


@dataclass(frozen=True)
class HiringLink:
    """What a valid link offers: the reseller, the plan, who pays, the link's id and when it stops working."""

    reseller: Organisation
    plan: Product
    payer: str
    link_id: str
    expires_at: datetime


def _serializer() -> URLSafeTimedSerializer:
    config = current_app.config
    return URLSafeTimedSerializer([*(config.get("SECRET_KEY_FALLBACKS") or []), config["SECRET_KEY"]], salt=SALT)


def issue_link(reseller: Organisation, offer: Offer, now: datetime, actor: User | None = None,
               address: str | None = None) -> tuple[str, datetime]:
    """A signed token offering `offer` for the reseller, and when it stops working (audited)."""
    link_id = secrets.token_urlsafe(12)
    token = _serializer().dumps({"r": reseller.id, "p": offer.plan.id, "w": PAYER_CODES[offer.payer], "j": link_id})
    audit.record("hiring_link_issued", actor=actor, organisation=reseller, obj=offer.plan,
                 details={"plan": offer.plan.code, "payer": offer.payer, "link": link_id[:8]}, address=address)
    return token, now + LIFETIME


def _invalid():
    return DomainError(_l("This hiring link is not valid. Ask your accountant or reseller for a new one."),
                       code="invalid_link", status=404)


def _used():
    return DomainError(_l("This hiring link has already been used. Ask your accountant or reseller for a new "
                          "one."), code="used_link", status=410)


def read_link(token: str) -> HiringLink:
    """The offer of a link still valid; a DomainError when it is forged, older than 14 days or used."""
    try:
        data, signed_at = _serializer().loads(token or "", max_age=int(LIFETIME.total_seconds()),
                                              return_timestamp=True)
    except SignatureExpired as error:
        raise DomainError(_l("This hiring link has expired: it works for 14 days. Ask your accountant or reseller "
                             "for a new one."), code="expired_link", status=410) from error
    except BadSignature as error:
        raise _invalid() from error
    if (not isinstance(data, dict) or not isinstance(data.get("r"), int) or not isinstance(data.get("p"), int)
            or data.get("w") not in PAYER_CODES.values() or not isinstance(data.get("j"), str)):
        raise _invalid()
    reseller = db.session.get(Organisation, data["r"])
    if reseller is None or reseller.kind != "reseller" or reseller.status == "blocked":
        raise _invalid()
    payer = next(code for code, short in PAYER_CODES.items() if short == data["w"])
    plan = db.session.get(Product, data["p"])
    try:
        offer = check_offer(reseller, plan.software_id if plan else None, data["p"], payer)
    except DomainError as error:
        raise DomainError(_l("The plan of this hiring link is no longer offered. Ask your accountant or reseller "
                             "for a new link."), code="plan_gone", status=410) from error
    link_id = data["j"][:64]
    if db.session.scalar(db.select(HiringLinkUse.id).filter_by(link_id=link_id)) is not None:
        raise _used()
    return HiringLink(reseller, offer.plan, payer, link_id, signed_at + LIFETIME)


def use_link(link_id: str, reseller: Organisation, client: Organisation) -> None:
    """Keep that the link created `client`; a DomainError if another organisation used it first."""
    try:
        with db.session.begin_nested():
            db.session.add(HiringLinkUse(link_id=link_id[:64], reseller_id=reseller.id, organisation_id=client.id))
    except IntegrityError as error:
        raise _used() from error


def share_text(reseller: Organisation, url: str) -> str:
    """The message a manager sends with the link (WhatsApp, SMS, e-mail)."""
    return str(_l("%(reseller)s invites you to hire your software: open this link to create your account, with "
                  "the first month free. %(url)s", reseller=reseller.trade_name or reseller.name, url=url))


def whatsapp_url(text: str) -> str:
    return "https://wa.me/?text=" + quote(text, safe="")


def sms_url(text: str) -> str:
    return "sms:?body=" + quote(text, safe="")


def send_link(reseller: Organisation, token: str, url: str, email: str, actor: User | None = None,
              address: str | None = None) -> str:
    """E-mail a valid link of the reseller to `email`; returns the address it went to."""
    from portal.services.mail import composing as mail

    link = read_link(token)
    if link.reseller.id != reseller.id:
        raise _invalid()
    email = " ".join((email or "").split()).lower()
    local, _at, domain = email.partition("@")
    if not local or "." not in domain or len(email) > 254:
        raise DomainError(_l("Enter the client's e-mail."), code="invalid_email", field="email")
    mail.queue_email(email, "hiring_link", reseller.locale, reseller=reseller.trade_name or reseller.name,
                     link=url, days=LIFETIME.days,
                     plan=f"{link.plan.software.display_name(reseller.locale)} · "
                          f"{link.plan.display_name(reseller.locale)}")
    audit.record("hiring_link_sent", actor=actor, organisation=reseller,
                 details={"email": email, "link": link.link_id[:8]}, address=address)
    return email
