"""Manage a client ("Gerenciar" / "Gestionar", managers only): its page, and its Settings ("Configurações") —
four tabs (digital certificate, integration key, contract, software), each a plain page that htmx also opens
in a dialog, where the tab bar and the active panel come back together."""

from flask import abort, flash, g, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.extensions import db
from portal.htmx import redirect_to, render, wants_fragment
from portal.models import Product
from portal.orm import utcnow
from portal.reseller.views import bp
from portal.routing import fits
from portal.services.accounts import integration
from portal.services.billing import account
from portal.services.billing import subscriptions as subs
from portal.services.billing.rules import PriceBook
from portal.services.errors import DomainError
from portal.services.resellers import certificates, clients, contracts, software_access
from portal.tenancy import client_address, roles

TEMPLATE = "reseller/client_settings.html"
TABS = ("certificate", "integration", "contract", "software")
# The form's own fields and the multipart boundaries around a certificate of the largest size.
FORM_OVERHEAD = 16 * 1024
# The page after generating a key shows the new key whole, once (the prefix remembers which).
FRESH_KEY = "client_integration_key_fresh"


def _limit_certificate_uploads() -> None:
    """A certificate's body is refused past its size (413) before anything reads it: it stays in memory (werkzeug
    spools only larger bodies to disk), never on disk in the clear."""
    if request.endpoint == "reseller.client_certificate_upload":
        request.max_content_length = certificates.MAX_BYTES + FORM_OVERHEAD


bp.record_once(lambda state: state.app.before_request_funcs.setdefault(None, []).insert(0, _limit_certificate_uploads))


def _client(client_id: int):
    return clients.client_of(g.organisation, client_id) or abort(404)


def _subscription(client):
    return clients.current_subscription(client)


def _tab(client, tab: str, status: int = 200, **context):
    """The settings with `tab` active: the dialog's content for htmx, a whole page otherwise."""
    now = utcnow()
    sub = clients.shown_subscription(client)
    facts = {"client": client, "tab": tab, "tabs": TABS, "modal": wants_fragment(), "sub": sub, "now": now}
    if tab == "certificate":
        row = certificates.current_certificate(client)
        facts |= {"certificate": row,
                  "certificate_state": certificates.certificate_state(row.not_after if row else None, now)}
    elif tab == "contract":
        facts["contract_status"] = clients.contract_status(client)
    elif tab == "integration":
        key = integration.current_key(client)
        facts |= {"key": key, "masked": integration.masked(key) if key else ""}
    elif tab == "software" and sub is not None:
        facts |= {"plans": account.choices(sub, PriceBook.load())[0]}
    response = render(TEMPLATE, "settings", status=status, **(facts | context))
    response.headers["Cache-Control"] = "no-store"  # the integration key may be on it in the clear
    return response


def _saved(client, tab: str, message: str):
    """After a tab saved: the same tab with its message for htmx, a redirect to it (303) otherwise."""
    if wants_fragment():
        return _tab(client, tab, saved=message)
    flash(message, "success")
    return redirect_to(url_for("reseller.client_settings", client_id=client.id, tab=tab))


@bp.get("/clients/<int:client_id>")
@roles("manager")
def client_manage(client_id: int):
    """Show one client with what its manager can do for it."""
    return client_page(_client(client_id))


def client_page(client, status: int = 200, **context):
    """The client's page (also with a refusal of one of its forms, `status` 4xx)."""
    from portal.reseller import report_views

    now = utcnow()
    return render("reseller/client.html", status=status, client=client, sub=clients.shown_subscription(client),
                  certificate=certificates.current_certificate(client), now=now,
                  fiscal=report_views.fiscal_forms(client, now) | context.pop("fiscal", {}), **context)


@bp.get("/clients/<int:client_id>/settings/<tab>")
@roles("manager")
def client_settings(client_id: int, tab: str):
    """Show one tab of the client's settings."""
    client = _client(client_id)
    if tab not in TABS:
        abort(404)
    return _tab(client, tab)


@bp.post("/clients/<int:client_id>/settings/certificate")
@roles("manager")
def client_certificate_upload(client_id: int):
    """Check the uploaded PFX with its password and keep it, encrypted, as the client's certificate."""
    client = _client(client_id)
    upload = request.files.get("pfx")
    data = upload.read(certificates.MAX_BYTES + 1) if upload is not None else b""
    try:
        certificates.store_certificate(client, data, request.form.get("password", ""), utcnow(), current_user,
                                       client_address())
    except DomainError as error:
        db.session.rollback()
        return _tab(client, "certificate", status=422, error=str(error.message))
    db.session.commit()
    return _saved(client, "certificate", _("The certificate was checked and saved."))


@bp.post("/clients/<int:client_id>/settings/integration/reveal")
@roles("manager")
def client_key_reveal(client_id: int):
    """Show the client's whole integration key, recorded in the audit log."""
    client = _client(client_id)
    raw = integration.reveal_key(client, current_user, client_address())
    db.session.commit()
    return _tab(client, "integration", revealed=raw)


@bp.route("/clients/<int:client_id>/settings/integration/generate", methods=["GET", "POST"])
@roles("manager")
def client_key_generate(client_id: int):
    """Ask to confirm, then generate a new key for the client; the previous one stops working at once."""
    client = _client(client_id)
    if request.method == "POST":
        raw = integration.generate_key(client, current_user, client_address())
        db.session.commit()
        return _tab(client, "integration", revealed=raw,
                    saved=_("A new integration key was generated and the previous one no longer works. Copy the "
                            "new key into the client's software now."))
    return _tab(client, "integration", confirming=True)  # GET, and HEAD and OPTIONS with it, only ask


@bp.post("/clients/<int:client_id>/settings/contract")
@roles("manager")
def client_contract_save(client_id: int):
    """Save the client's status (Active, Trial, Blocked, Cancelled) and who pays its monthly fee."""
    client = _client(client_id)
    try:
        contracts.change_contract(g.organisation, client, request.form.get("status", ""),
                                  request.form.get("payer", ""), utcnow(), current_user, client_address())
    except DomainError as error:
        db.session.rollback()
        return _tab(client, "contract", status=422, error=str(error.message))
    db.session.commit()
    return _saved(client, "contract", _("The contract was saved."))


def _plan(client, sub) -> Product:
    raw = (request.values.get("plan") or "").strip()
    found = db.session.get(Product, int(raw)) if raw.isdigit() and fits(int(raw)) else None
    if found is None:
        raise DomainError(_l("Choose one of the plans offered."), code="invalid_product", field="plan")
    return found


@bp.post("/clients/<int:client_id>/settings/software")
@roles("manager")
def client_software_save(client_id: int):
    """Preview the plan change (its proration), then change the client's plan once confirmed."""
    client = _client(client_id)
    sub = _subscription(client) or abort(404)
    now = utcnow()
    try:
        plan = _plan(client, sub)
        if request.form.get("confirm") != "1":
            preview = subs.preview_plan_change(sub, plan, now)
            return _tab(client, "software", preview=preview, chosen=plan, locale=str(get_locale()))
        subs.change_plan(sub, plan, now, actor=current_user)
    except DomainError as error:
        db.session.rollback()
        return _tab(client, "software", status=422, error=str(error.message))
    db.session.commit()
    return _saved(client, "software", _("The plan was changed.") if sub.plan_id == plan.id else
                  _("The plan will change at the end of the current period."))


@bp.post("/clients/<int:client_id>/software")
@roles("manager")
def client_software_open(client_id: int):
    """Open the client's software, signed in, through a single-use token valid for 60 seconds (audited).

    The answer is a page with the launch address as a link (portal.js follows it at once), not a redirect: the
    Content-Security-Policy's `form-action 'self'` stops a form's redirect to another origin in the browser."""
    client = _client(client_id)
    sub = _subscription(client)
    url = software_access.launch_url(client, current_user, address=client_address())  # a 409 without a plan
    db.session.commit()
    response = render("reseller/software_open.html", client=client, software=sub.plan.software, launch_url=url)
    response.headers["Cache-Control"] = "no-store"  # the token must not be kept by any cache
    return response
