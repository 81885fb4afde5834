"""Views of the API blueprint: JSON in, JSON out, authenticated by an organisation's integration key."""

import json

from flask import Blueprint, current_app, g, jsonify, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.exceptions import RequestEntityTooLarge

from portal.api import resources
from portal.api.openapi import openapi_document
from portal.errors import api_error
from portal.extensions import csrf, db, limiter
from portal.orm import utcnow
from portal.services.accounts.entry_links import issue_entry_link
from portal.services.accounts.integration import key_digest, organisation_for_key
from portal.services.billing import usage
from portal.services.billing.entitlements import entitlements_for
from portal.services.errors import DomainError
from portal.services.partners.license_check import MAX_TYPED as MAX_LICENSE_FIELD
from portal.services.partners.license_check import check_license

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

KEY_HEADER = "X-Api-Key"
PUBLIC_ENDPOINTS = {"api.openapi"}
# 1,000 events of the longest valid shape fit well inside; anything larger is not a batch we accept.
MAX_USAGE_BODY = 1024 * 1024
DEFAULT_RATE_LIMIT = "1200 per minute"
FAILED_KEY_LIMIT = "60 per minute"
# Every installation of the vendor's software sends the same vendor key: license checks are counted per address
# (one client's office), never against the key, which would let one client use up the checks of all.
LICENSE_CHECK_LIMIT = "30 per minute"
LICENSE_CHECK = "api.license_check"


def _rate_limit() -> str:
    return current_app.config.get("API_RATE_LIMIT", DEFAULT_RATE_LIMIT)


def _failed_key_limit() -> str:
    return current_app.config.get("API_FAILED_KEY_LIMIT", FAILED_KEY_LIMIT)


def _license_check_limit() -> str:
    return current_app.config.get("API_LICENSE_CHECK_LIMIT", LICENSE_CHECK_LIMIT)


def _key_bucket() -> str:
    """Requests are counted per integration key (hashed: the key itself never reaches the limiter's storage)."""
    key = request.headers.get(KEY_HEADER, "")
    return "api-key:" + key_digest(key) if key else "api-address:" + (request.remote_addr or "")


def _key_organisation():
    """The organisation of the request's X-Api-Key (None without a valid one), looked up once a request."""
    if "api_organisation" not in g:
        key = request.headers.get(KEY_HEADER, "")
        g.api_organisation = organisation_for_key(key) if key else None
    return g.api_organisation


def _wrong_keys_do_not_apply() -> bool:
    """Only wrong keys count against an address, and only they are refused once it has sent too many: a valid
    key from the same address (an office behind one NAT, a shared proxy) goes on working. Limit failures,
    not successes, as OWASP's credential-stuffing guidance puts it."""
    return request.endpoint in PUBLIC_ENDPOINTS or _key_organisation() is not None


def _is_license_check() -> bool:
    return request.endpoint == LICENSE_CHECK


# Blueprint limits are counted before the key is looked up, so a refused key is counted too (a route's own
# limit would only be counted once its view runs). License checks have theirs, per address, instead of the
# per-key one.
limiter.limit(_rate_limit, key_func=_key_bucket, exempt_when=_is_license_check)(bp)
limiter.limit(_license_check_limit, key_func=lambda: "license-check:" + (request.remote_addr or ""),
              exempt_when=lambda: not _is_license_check())(bp)
# Guessing a 256-bit key is hopeless; an address still gets few wrong ones, so that guessing costs its time.
limiter.limit(_failed_key_limit, key_func=lambda: "api-refused:" + (request.remote_addr or ""),
              deduct_when=lambda response: response.status_code == 401, exempt_when=_wrong_keys_do_not_apply)(bp)


@bp.before_request
def authenticate():
    """Every call but the OpenAPI document needs an integration key in the X-Api-Key header."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    organisation = _key_organisation()
    if organisation is None:
        return api_error(401, "unauthorized", _("Send a valid integration key in the X-Api-Key header."))
    if organisation.status == "blocked":
        if organisation.blocked_reason == "unpaid":
            return api_error(402, "payment_required", _("The account is blocked because a balance is overdue. "
                                                        "Pay it in the portal and the key works again at once."))
        return api_error(403, "account_blocked", _("The account is blocked. Ask the portal's administrators "
                                                   "or your reseller to unblock it."))
    return None


@bp.before_app_request
def authenticate_unknown_paths():
    """An address under /api/v1 that names no endpoint needs a key too: without one the answer is the same
    401 as anywhere in the API (blueprint hooks do not run for a path that matched no route). With one,
    the 404 follows without looking the key up, so these paths are no way around the limit on wrong keys."""
    unrouted = request.url_rule is None and _is_api_path()
    if unrouted and not request.headers.get(KEY_HEADER):
        return api_error(401, "unauthorized", _("Send a valid integration key in the X-Api-Key header."))
    return None


def _is_api_path() -> bool:
    return (request.path + "/").startswith(bp.url_prefix + "/")


@bp.after_app_request
def never_stored(response):
    """An API answer is one organisation's data (or an error about its key): no browser or proxy keeps it."""
    if _is_api_path():
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _refused(error: DomainError):
    db.session.rollback()
    extra = {"field": error.field} if error.field else {}
    if isinstance(error, usage.EventError):
        extra["index"] = error.index
    return api_error(error.status, error.code, str(error.message), **extra)


def _positive_int_arg(name: str, default: int, maximum: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9) or not 1 <= int(raw) <= maximum:
        raise DomainError(_("%(name)s must be a whole number from 1 to %(max)d.", name=name, max=maximum),
                          code="invalid_parameter", field=name)
    return int(raw)


@bp.get("/openapi.json")
def openapi():
    """Serve the OpenAPI 3.1 document of this API."""
    return jsonify(openapi_document())


@bp.get("/me")
def me():
    """Tell the caller who it is: organisation, plan, status, billing period and entitlements."""
    return jsonify(resources.me_body(entitlements_for(g.api_organisation)))


@bp.post("/usage")
def usage_create():
    """Record a batch of up to 1,000 usage events; an id already reported is counted once."""
    if request.mimetype != "application/json":
        return api_error(415, "unsupported_media_type", _("Send the batch as JSON, with the header Content-Type: "
                                                          "application/json."))
    if (request.content_length or 0) > MAX_USAGE_BODY:
        return _too_large()
    # A body without a length (chunked) is read up to one byte past the limit: a longer one is too large,
    # not JSON cut short.
    request.max_content_length = MAX_USAGE_BODY + 1
    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return _too_large()
    if len(body) > MAX_USAGE_BODY:
        return _too_large()
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return api_error(400, "invalid_json", _("The body is not valid JSON. Send a JSON object with an "
                                                '"events" list.'))
    now = utcnow()
    organisation = g.api_organisation
    try:
        period = usage.current_period(organisation.id, now)
        result = usage.record_events(organisation, usage.parse_batch(payload, now, period.previous_start), now)
    except DomainError as error:
        return _refused(error)
    db.session.commit()
    return jsonify(accepted=result.accepted, duplicates=result.duplicates)


@bp.post("/entry-links")
def entry_link_create():
    """Issue a link, valid for a minute and used once, that opens the portal's store logged in as one of the
    organisation's users (named by e-mail); never creates a user."""
    payload = request.get_json(silent=True) if request.mimetype == "application/json" else None
    if not isinstance(payload, dict) or not isinstance(payload.get("email"), str):
        return api_error(422, "invalid_payload", _('Send a JSON object with the user\'s "email".'), field="email")
    try:
        token, expires_at = issue_entry_link(g.api_organisation, payload["email"], request.remote_addr)
    except DomainError as error:
        return _refused(error)
    db.session.commit()
    response = jsonify(url=url_for("auth.entry_link", token=token, _external=True),
                       expires_at=expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"))
    response.status_code = 201
    return response


@bp.post("/licenses/check")
def license_check():
    """Check an authorisation code for the client's tax id: valid, cancelled or unknown, with the product and
    its users. Only the vendor's key asks: its software runs at every partner's clients."""
    if g.api_organisation.kind != "vendor":
        return api_error(403, "vendor_key_required", _("Licenses are checked with the vendor's integration key, "
                                                       "the one its software sends; this key is another "
                                                       "organisation's."))
    payload = request.get_json(silent=True) if request.mimetype == "application/json" else None
    payload = payload if isinstance(payload, dict) else {}
    for field in ("code", "tax_id"):
        value = payload.get(field)
        if not isinstance(value, str) or not 1 <= len(value) <= MAX_LICENSE_FIELD:
            return api_error(422, "invalid_payload", _('Send a JSON object with the license\'s "code" and the '
                                                       'client\'s "tax_id", each a text of at most %(max)d '
                                                       'characters.', max=MAX_LICENSE_FIELD), field=field)
    found = check_license(payload["code"], payload["tax_id"])
    return jsonify(resources.license_body(found, _license_message(found)))


def _license_message(found) -> str:
    if found.status == "valid":
        return ngettext("The license is valid: %(product)s for %(num)d user.",
                        "The license is valid: %(product)s for %(num)d users.", found.users,
                        product=resources.product_name(found.product))
    if found.status == "cancelled":
        return _("This license was cancelled. The partner that activated it can activate a new one.")
    if not found.well_formed:
        return _("This is not an authorisation code: it has 20 letters and digits in groups of four "
                 "(ABCD-EFGH-JKMN-PQRS-TUVW). Check what was typed.")
    return _("No license has this authorisation code for this tax id. Check both and try again.")


def _too_large():
    return api_error(413, "batch_too_large", _("The body is larger than %(size)d KB. Send at most %(max)d events "
                                               "per batch.", size=MAX_USAGE_BODY // 1024, max=usage.MAX_EVENTS))


@bp.get("/invoices")
def invoices():
    """List the organisation's issued invoices and credit notes, newest first, a page at a time."""
    try:
        page = _positive_int_arg("page", 1, maximum=1_000_000)
        per_page = _positive_int_arg("per_page", resources.PER_PAGE, maximum=resources.MAX_PER_PAGE)
    except DomainError as error:
        return _refused(error)
    return jsonify(resources.invoices_page(g.api_organisation.id, page, per_page))


@bp.get("/invoices/<int:invoice_id>")
def invoice(invoice_id: int):
    """Show one issued invoice of the organisation, with its lines and installments."""
    found = resources.issued_invoice(g.api_organisation.id, invoice_id)
    if found is None:
        return api_error(404, "not_found", _("There is no invoice with this id for your organisation."))
    return jsonify(resources.invoice_body(found, utcnow(), lines=True))
