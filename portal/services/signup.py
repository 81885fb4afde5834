"""Self sign-up (seed 003): anyone asks for an account with an e-mail; the link e-mailed to that address
(single use, expiring) creates the organisation with them as its administrator, on the vendor's trial plan
for the first month, with no payment data.

The answer to the person asking is the same whether or not the e-mail already has an account: an address
that has one is e-mailed a reminder to log in instead of a link, and nothing else is written.

Through a reseller's hiring link (portal.services.resellers.hiring_links) the sign-up keeps the reseller's offer:
the organisation is created linked to the reseller, on trial of the plan offered, paid by the reseller (with the
reseller discount) when it said so; the link is used once.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import Organisation, Price, Product, SignUp, Software, User
from portal.services import audit
from portal.services.accounts import auth, taxid
from portal.services.accounts.organisations import COUNTRY_DEFAULTS, add_membership, create_organisation
from portal.services.billing.rules import TRIAL_DAYS
from portal.services.errors import DomainError

COUNTRIES = ("CL", "BR", "MX")
LINK_HOURS = 24


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def check_tax_id(country: str, value: str) -> str:
    """The tax id in its compact form, valid for `country` (a Mexican RFC is refused for Chile)."""
    if country not in COUNTRIES:
        raise DomainError(_l("Choose one of the offered countries."), code="invalid_country", field="country")
    try:
        compact = taxid.normalise_tax_id(country, value)
    except taxid.TaxIdError as error:
        raise DomainError(error.args[0], code="invalid_tax_id", field="tax_id") from error
    taken = db.session.scalar(db.select(Organisation.id).where(Organisation.country == country,
                                                               Organisation.tax_id == compact))
    if taken is not None:
        raise DomainError(_l("An organisation with this tax id already has an account: ask its administrator to "
                             "invite you."), code="tax_id_taken", field="tax_id")
    return compact


def request_sign_up(email: str, name: str, password_hash: str, organisation_name: str, country: str, tax_id: str,
                    locale: str, now: datetime, address: str | None = None, hiring=None) -> None:
    """Keep the request and e-mail its confirmation link; an address with an account gets a reminder. `hiring`:
    the reseller's hiring link it came through (its country is the reseller's)."""
    if hiring is not None and country != hiring.reseller.country:
        raise DomainError(_l("Choose one of the offered countries."), code="invalid_country", field="country")
    from portal.services.mail import composing as mail

    email = email.strip().lower()
    compact = check_tax_id(country, tax_id)
    user = auth.find_user(email)
    if user is not None:
        mail.queue_email(user.email, "signup_exists", user.locale or locale, user=user,
                         login=mail.external_url("auth.login"), reset=mail.external_url("auth.password_forgot"))
        audit.record("sign_up_existing_email", actor=user, obj=user, address=address)
        return
    raw = secrets.token_urlsafe(32)
    request = SignUp(email=email, name=" ".join(name.split()), password_hash=password_hash,
                     organisation_name=" ".join(organisation_name.split()), country=country, tax_id=compact,
                      locale=locale, token_hash=_digest(raw), expires_at=now + timedelta(hours=LINK_HOURS),
                     created_at=now)
    if hiring is not None:
        request.reseller_id, request.plan_id = hiring.reseller.id, hiring.plan.id
        request.reseller_pays, request.hiring_link_id = hiring.payer == "reseller", hiring.link_id
    db.session.add(request)
    db.session.flush()
    mail.queue_email(email, "signup_confirm", locale, name=request.name, organisation=request.organisation_name,
                     link=mail.external_url("auth.signup_confirm", token=raw), hours=LINK_HOURS)
    audit.record("sign_up_requested", obj=request, address=address,
                 details={"country": country} | ({"reseller_id": hiring.reseller.id} if hiring is not None else {}))


def peek(raw: str, now: datetime) -> SignUp:
    """The sign-up a link names, still to be used; raises auth.TokenError (invalid, used, expired)."""
    found = db.session.scalar(db.select(SignUp).where(SignUp.token_hash == _digest(raw or "")))
    if found is None:
        raise auth.TokenError("invalid")
    if found.used_at is not None:
        raise auth.TokenError("used")
    if found.expires_at <= now:
        raise auth.TokenError("expired")
    return found


def trial_plan(currency: str) -> Product | None:
    """The plan a new organisation tries for its first month: the first of PORTAL_SIGNUP_PLANS (product codes)
    sold monthly in its currency, or else the cheapest plan on sale that is."""
    codes = [code.strip() for code in current_app.config.get("SIGNUP_PLANS", "").split(",") if code.strip()]
    query = (db.select(Product).join(Price, Price.product_id == Product.id).join(Software)
             .where(Product.kind == "plan", Product.retired_at.is_(None), Software.retired_at.is_(None),
                    Price.currency == currency, Price.period == "monthly"))
    if codes:
        found = {plan.code: plan for plan in db.session.scalars(query.where(Product.code.in_(codes)))}
        return next((found[code] for code in codes if code in found), None)
    return db.session.scalar(query.order_by(Price.amount, Product.id).limit(1))


def confirm_sign_up(raw: str, now: datetime, address: str | None = None) -> User:
    """Use the link once: create the organisation, its administrator and its trial; returns the user."""
    from portal.services.billing import subscriptions as subs

    request = peek(raw, now)
    used = db.session.execute(db.update(SignUp).where(SignUp.id == request.id, SignUp.used_at.is_(None))
                              .values(used_at=now).execution_options(synchronize_session=False))
    if used.rowcount != 1:
        raise auth.TokenError("used")
    if auth.find_user(request.email) is not None:
        raise DomainError(_l("This e-mail already has an account. Log in, or ask for a new password."),
                          code="email_taken", status=409)
    compact = check_tax_id(request.country, request.tax_id)
    reseller = db.session.get(Organisation, request.reseller_id) if request.reseller_id is not None else None
    org = create_organisation("customer", request.organisation_name, request.country, compact,
                              locale=request.locale if request.locale in ("es", "pt_BR", "en") else
                              COUNTRY_DEFAULTS[request.country][2], reseller_id=reseller and reseller.id)
    user = User(email=request.email, name=request.name, locale=request.locale,
                password_hash=request.password_hash, session_token=auth.new_session_token())
    db.session.add(user)
    db.session.flush()
    add_membership(user, org, "admin")
    request.organisation_id, request.password_hash = org.id, ""  # the hash now lives on the user only
    if reseller is not None:
        from portal.services.resellers import hiring_links

        hiring_links.use_link(request.hiring_link_id or "", reseller, org)
        plan = db.session.get(Product, request.plan_id) if request.plan_id is not None else None
        payer = reseller if request.reseller_pays else org
    else:
        plan, payer = trial_plan(org.currency), org
    if plan is not None:
        subs.start_subscription(org, plan, org.currency, "monthly", now, trial_days=TRIAL_DAYS, payer=payer,
                                actor=user)
    audit.record("signed_up", actor=user, organisation=org, obj=org, address=address,
                 details={"plan": plan.code if plan is not None else None}
                 | ({"reseller_id": reseller.id, "payer": "reseller" if payer is reseller else "client"}
                    if reseller is not None else {}))
    return user
