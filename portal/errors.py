"""Error pages in the reader's language (whole pages, or fragments for htmx), JSON errors for the API."""

import logging
import time

from flask import jsonify, make_response, request, url_for
from flask.globals import request_ctx
from flask_babel import gettext as _
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException, InternalServerError

from portal.extensions import db, limiter
from portal.htmx import render
from portal.services.errors import DomainError

log = logging.getLogger(__name__)


def _titles() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Bad request"), _("The request could not be understood. Go back and try again.")),
        401: (_("Please log in"), _("You need to log in to see this. Log in and try again.")),
        403: (_("Not allowed"), _("Your role cannot open this page. Ask an administrator of your "
                                  "organisation if you need it.")),
        404: (_("Page not found"), _("There is nothing at this address. Check the link or start again "
                                     "from your home page.")),
        405: (_("Not allowed"), _("This address does not accept this kind of request.")),
        410: (_("No longer available"), _("This link is no longer valid.")),
        413: (_("Too large"), _("What you sent is larger than the portal accepts. Send a smaller file.")),
        422: (_("Please check the form"), _("Some of what you sent is not valid. Correct it and send it "
                                            "again.")),
        429: (_("Too many attempts"), _("Too many attempts in a short time. Wait a few minutes and try "
                                        "again.")),
        500: (_("Something went wrong"), _("An unexpected error happened on our side and has been logged. "
                                           "Try again in a moment.")),
    }


def _is_api() -> bool:
    return request.blueprint == "api" or request.path.startswith("/api/")


def api_error(status: int, code: str, message: str, **extra):
    body = {"error": {"code": code, "message": message, **extra}}
    response = jsonify(body)
    response.status_code = status
    return response


def _explanation(error: HTTPException, default: str) -> str:
    """Our own abort(…, description=_(…)) is translated and specific: show it. Library descriptions
    (a rate limit's "10 per 15 minutes", a CSRF token's "missing") are neither: keep ours."""
    if isinstance(error, CSRFError):
        return _("The page was open too long or was sent from elsewhere. Reload the page and send the form again.")
    if isinstance(error, RateLimitExceeded):
        return default
    if error.description and error.description != type(error).description:
        return str(error.description)
    return default


def _error_page(status: int, title: str, explanation: str):
    response = render("errors/error.html", "error", status=status, status_code=status, title=title,
                      explanation=explanation)
    if status == 401:
        response.headers["HX-Redirect"] = url_for("auth.login")
    return response


def _protocol_headers(error: HTTPException) -> dict[str, str]:
    """What the status promises to tell the client: the methods a 405's address accepts (Allow), and when a
    429's limit lets the next request through (Retry-After, in seconds)."""
    headers = {name: value for name, value in error.get_headers() if name.lower() != "content-type"}
    if isinstance(error, RateLimitExceeded) and limiter.current_limit is not None:
        headers["Retry-After"] = str(max(1, int(limiter.current_limit.reset_at - time.time())))
    return headers


def handle_http_error(error: HTTPException):
    status = error.code or 500
    title, default = _titles().get(status, (error.name, error.description))
    if isinstance(error, CSRFError):
        title = _("The form has expired")
    explanation = _explanation(error, default)
    if _is_api():
        code = "csrf" if isinstance(error, CSRFError) else error.name.lower().replace(" ", "_")
        response = api_error(status, code, explanation)
    elif request_ctx.url_adapter is None:
        # The Host header names no host that can be written (a label over 63 characters, an empty one): no
        # address of the portal can be built for this request, so the page has no links and no styles.
        response = make_response(_bare_page(status, title, explanation))
    else:
        response = _error_page(status, title, explanation)
    response.headers.update(_protocol_headers(error))
    return response


def handle_domain_error(error: DomainError):
    """A rule a request broke that its view did not turn into a form error: the message, with its status."""
    db.session.rollback()
    if _is_api():
        extra = {"field": error.field} if error.field else {}
        return api_error(error.status, error.code, str(error.message), **extra)
    title, _default = _titles().get(error.status, _titles()[422])
    return _error_page(error.status, title, str(error.message))


def handle_unexpected(error: Exception):
    log.exception("unexpected error on %s %s", request.method, request.path)
    try:
        db.session.rollback()
        return handle_http_error(InternalServerError())
    except Exception:
        # The error page needs the database (the top bar, the reader's language); when that is what
        # failed, answer without it.
        log.exception("the error page itself failed")
        return _bare_500()


def _bare_500():
    try:
        title, explanation = _titles()[500]
    except Exception:
        title, explanation = "Something went wrong", "An unexpected error happened on our side. Try again in a moment."
    if _is_api():
        return api_error(500, "internal_server_error", explanation)
    return _bare_page(500, title, explanation)


def _bare_page(status: int, title: str, explanation: str):
    body = f"<!doctype html><title>{escape(title)}</title><h1>{escape(title)}</h1><p>{escape(explanation)}</p>"
    return body, status, {"Content-Type": "text/html; charset=utf-8"}


def init_app(app) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(Exception, handle_unexpected)
