"""Logs a person can follow: a request id on every request, one line per request, JSON when asked.

- Every request gets an id: the `X-Request-ID` a trusted reverse proxy sent (portal/intranet.py), when
  it is a plain token of at most 128 characters, or a new random one. It is returned in the response's
  `X-Request-ID`, and every log record written while the request runs carries it, with the user's and the
  organisation's ids. A header that is too long or holds anything but letters, digits and `._:-` is
  replaced, never echoed.
- Jobs queued by a request carry the request's id into the worker (portal/jobs.py), so one id follows a
  payment from the click to the webhook and the e-mail.
- After each request one record says the method, route (as written in the code, never the address's values,
  some of which are secrets), status and duration (`portal.request`, info;
  the health checks at debug, so that a load balancer's probes don't fill the log).
- PORTAL_LOG_FORMAT=json writes one JSON object a line; otherwise readable text.
"""

import contextvars
import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

from flask import current_app, g, has_request_context, request

HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
QUIET_ENDPOINTS = {"health.healthz", "health.readyz", "static"}

# The id of the job's request, in a worker (no request context there).
job_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("job_request_id", default=None)
request_log = logging.getLogger("portal.request")


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted_request_id(value: str | None) -> str | None:
    """The proxy's request id when it is a plain token of at most 128 characters; else None."""
    if value and _VALID_ID.fullmatch(value):
        return value
    return None


def current_request_id() -> str | None:
    if has_request_context():
        return g.get("request_id")
    return job_request_id.get()


class RequestContextFilter(logging.Filter):
    """Adds request_id, user_id, organisation_id and route to every record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        record.user_id = record.organisation_id = record.route = None
        if has_request_context():
            record.route = request.endpoint
            record.user_id = g.get("log_user_id")
            record.organisation_id = g.get("log_organisation_id")
        return True


_FIELDS = ("request_id", "user_id", "organisation_id", "route", "method", "status", "duration_ms")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")


_configured = False


def configure_logging(log_format: str, level: str = "INFO") -> None:
    """One handler on the root logger, once per process (every app built in it shares it)."""
    global _configured
    if _configured:
        return
    _configured = True
    handler = logging.StreamHandler()
    handler.addFilter(RequestContextFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)


def _route_text() -> str:
    """The request's route as written in the code (`/password/reset/<token>`), never its values: some
    addresses are secrets (e-mailed links). An address that matched no route: its path, cut short."""
    rule = request.url_rule
    return rule.rule if rule is not None else request.path[:120]


def _from_trusted_proxy() -> bool:
    """PORTAL_PROXY_HOPS is set; with PORTAL_TRUSTED_PROXIES, the request must also come from one of them."""
    from portal.intranet import PEER, is_trusted

    networks = current_app.extensions.get("vitrine_trusted_proxies")
    return not networks or is_trusted(request.environ.get(PEER), networks)


def init_app(app) -> None:
    hops = bool(app.config.get("PROXY_HOPS"))
    if not app.testing:
        configure_logging(app.config.get("LOG_FORMAT", "text"), app.config.get("LOG_LEVEL", "INFO"))

    @app.before_request
    def assign_request_id():
        g.request_started = time.perf_counter()
        given = accepted_request_id(request.headers.get(HEADER)) if hops and _from_trusted_proxy() else None
        g.request_id = given or new_request_id()

    @app.after_request
    def log_request(response):
        response.headers[HEADER] = g.get("request_id") or new_request_id()
        started = g.get("request_started")
        duration = round((time.perf_counter() - started) * 1000, 1) if started else None
        level = logging.DEBUG if request.endpoint in QUIET_ENDPOINTS else logging.INFO
        if request_log.isEnabledFor(level):
            request_log.log(level, "%s %s %s %s ms", request.method, _route_text(), response.status_code, duration,
                            extra={"method": request.method, "status": response.status_code,
                                   "duration_ms": duration})
        return response
