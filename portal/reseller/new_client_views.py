"""A reseller's new client ("Novo cliente" / "Nuevo cliente", managers only): a hiring link the client opens to
register alone, or a direct registration ("Novo cadastro") of the client's data. Either way the price the client
or the reseller pays each month (with the reseller discount when the reseller pays) is shown before confirming."""

from flask import flash, g, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from portal.extensions import db
from portal.htmx import redirect_to, render
from portal.orm import utcnow
from portal.reseller.new_client_forms import OfferForm, RegisterForm
from portal.reseller.views import bp
from portal.services.errors import DomainError
from portal.services.resellers import hiring_links, new_clients
from portal.tenancy import client_address, roles

LINK = "reseller/hiring_link.html"
REGISTER = "reseller/client_register.html"


def _plans():
    return new_clients.plans_offered(g.organisation)


def _field_error(form, error: DomainError) -> None:
    """Show the service's refusal beside the field it names (the plan when it names none of the form's)."""
    field = getattr(form, error.field or "plan", form.plan)
    field.errors = [*field.errors, str(error.message)]


def _offer(form) -> new_clients.Offer:
    return new_clients.check_offer(g.organisation, form.software.data, form.plan.data, form.payer.data)


@bp.get("/clients/new")
@roles("manager")
def client_new():
    """Offer the two ways to bring in a new client: a hiring link or a direct registration."""
    return render("reseller/new_client.html", discount_bp=new_clients.reseller_discount_bp())


def _link_page(form, status: int = 200, **context):
    return render(LINK, "hiring_link", status=status, form=form, **context)


@bp.get("/clients/new/link")
@roles("manager")
def hiring_link():
    """Show the hiring link's offer: who pays, software and plan."""
    return _link_page(OfferForm(_plans(), str(get_locale()), formdata=None))


@bp.post("/clients/new/link")
@roles("manager")
def hiring_link_create():
    """Make a signed hiring link for the chosen offer, to copy, e-mail, or share by WhatsApp or SMS."""
    form = OfferForm(_plans(), str(get_locale()))
    if not form.validate_on_submit():
        return _link_page(form, 422)
    try:
        offer = _offer(form)
    except DomainError as error:
        _field_error(form, error)
        return _link_page(form, error.status)
    token, expires_at = hiring_links.issue_link(g.organisation, offer, utcnow(), current_user, client_address())
    db.session.commit()
    return _shared(form, offer, token, expires_at)


def _shared(form, offer, token: str, expires_at=None, status: int = 200, **context):
    url = url_for("auth.signup_form", hire=token, _external=True)
    text = hiring_links.share_text(g.organisation, url)
    response = _link_page(form, status, offer=offer, quote=new_clients.quote(g.organisation, offer), token=token,
                          url=url, expires_at=expires_at, whatsapp=hiring_links.whatsapp_url(text),
                          sms=hiring_links.sms_url(text), **context)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/clients/new/link/email")
@roles("manager")
def hiring_link_email():
    """E-mail a hiring link the manager made to the client."""
    form = OfferForm(_plans(), str(get_locale()))
    token = request.form.get("token", "")[:1000]
    try:
        link = hiring_links.read_link(token)
        if link.reseller.id != g.organisation.id or not form.validate_on_submit():
            raise DomainError(_("This hiring link is not valid. Ask your accountant or reseller for a new one."),
                              code="invalid_link", status=404)
    except DomainError as error:
        return _link_page(OfferForm(_plans(), str(get_locale()), formdata=None), error.status,
                          link_error=str(error.message))
    offer = new_clients.Offer(link.plan, link.payer)
    email = request.form.get("email", "")
    url = url_for("auth.signup_form", hire=token, _external=True)
    try:
        sent = hiring_links.send_link(g.organisation, token, url, email, current_user, client_address())
    except DomainError as error:
        db.session.rollback()
        return _shared(form, offer, token, link.expires_at, status=error.status, email_error=str(error.message),
                       typed=email[:254])
    db.session.commit()
    return _shared(form, offer, token, link.expires_at, sent=sent)


def _register_page(form, status: int = 200, **context):
    return render(REGISTER, "register_form", status=status, form=form, **context)


@bp.get("/clients/new/register")
@roles("manager")
def client_register():
    """Show the direct registration: who pays, software, plan and the client's data."""
    return _register_page(RegisterForm(_plans(), str(get_locale()), formdata=None))


@bp.post("/clients/new/register")
@roles("manager")
def client_register_save():
    """Show the monthly price of the offer, then, once confirmed, register the client and invite it."""
    form = RegisterForm(_plans(), str(get_locale()))
    if not form.validate_on_submit():
        return _register_page(form, 422)
    reseller = g.organisation
    data = new_clients.ClientData(form.legal_name.data, form.tax_id.data, form.contact_name.data, form.email.data)
    try:
        offer = _offer(form)
        new_clients.check_tax_id(reseller.country, data.tax_id)
        new_clients.check_client_email(reseller, data.email)
        quoted = f"{offer.plan.id}:{offer.payer}"
        if request.form.get("confirm") != "1" or form.quoted.data != quoted:
            form.quoted.data = quoted
            return _register_page(form, quote=new_clients.quote(reseller, offer), offer=offer)
        client = new_clients.register_client(reseller, offer, data, utcnow(), current_user, client_address())
    except DomainError as error:
        db.session.rollback()
        _field_error(form, error)
        return _register_page(form, error.status)
    db.session.commit()
    flash(_("%(client)s was registered on trial, and an invitation to choose a password was sent to %(email)s.",
            client=client.name, email=form.email.data.strip().lower()), "success")
    return redirect_to(url_for("reseller.client_manage", client_id=client.id))
