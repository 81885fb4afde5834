"""Inside a company intranet: behind its reverse proxy, under a URL prefix, framed by its pages, signed on by it.

- **Trusted proxies.** `PORTAL_PROXY_HOPS` proxies are believed for `X-Forwarded-For/-Proto/-Host/-Port/
  -Prefix` (the portal then runs under the prefix the proxy says, e.g. `/vitrine`). With
  `PORTAL_TRUSTED_PROXIES` (addresses or networks, comma-separated) they are believed only from those
  addresses: from any other, the forwarded headers are dropped before anything reads them, so a client that
  reaches the portal directly cannot choose its address, scheme or prefix.
- **Trusted-header sign-on.** With `PORTAL_TRUSTED_USER_HEADER` (e.g. `X-Remote-User`), a request that comes
  from one of `PORTAL_TRUSTED_PROXIES` and carries that header with the e-mail of an existing, active user is
  logged in as that user (a session of its own, audited as a login); an unknown e-mail gets the login page as
  usual and no user is ever created. The header from any other address is ignored, logged and audited.
- **Framing.** `PORTAL_FRAME_ANCESTORS` lists the origins that may frame the portal (CSP frame-ancestors,
  portal/security.py). A frame on another site only keeps its login when the session cookie is sent to a
  third party: set `PORTAL_HTTPS=1` and the cookie becomes `SameSite=None; Secure; Partitioned` when another
  origin is listed.
"""

import ipaddress
import logging

from flask import current_app, g, request
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.extensions import db
from portal.services import audit
from portal.services.accounts import auth

log = logging.getLogger(__name__)
PEER = "vitrine.peer"  # the environ key that keeps the address the request really came from
_FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PORT",
              "HTTP_X_FORWARDED_PREFIX")


def parse_networks(setting: str) -> tuple:
    """`10.0.0.5, 10.1.0.0/16` → the networks; a wrong entry is a startup error that names it."""
    networks = []
    for entry in setting.replace(";", ",").replace(" ", ",").split(","):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"PORTAL_TRUSTED_PROXIES: {entry!r} is not an address or a network") from None
    return tuple(networks)


def is_trusted(address: str | None, networks: tuple) -> bool:
    if not address or not networks:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


class TrustedProxies:
    """WSGI middleware: keep the peer's address, then apply ProxyFix to requests from trusted proxies only."""

    def __init__(self, app, hops: int, networks: tuple):
        self.app = app
        self.networks = networks
        self.fixed = ProxyFix(app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops) if hops else app

    def __call__(self, environ, start_response):
        peer = environ.get("REMOTE_ADDR")
        environ[PEER] = peer
        if self.networks and not is_trusted(peer, self.networks):
            for key in _FORWARDED:
                environ.pop(key, None)
            return self.app(environ, start_response)
        return self.fixed(environ, start_response)


def _frame_cookie_settings(app) -> None:
    """Another origin allowed to frame the portal: the session cookie must reach a third-party frame."""
    sources = app.config["FRAME_ANCESTORS"].replace(",", " ").split()
    framed_elsewhere = any(source not in ("'self'", "'none'") for source in sources)
    if framed_elsewhere and app.config["SESSION_COOKIE_SECURE"]:
        app.config["SESSION_COOKIE_SAMESITE"] = "None"
        app.config["SESSION_COOKIE_PARTITIONED"] = True


def trusted_header_login():
    """Log in the user a trusted proxy names (see the module's docstring); a before_request hook."""
    header = current_app.config["TRUSTED_USER_HEADER"]
    claimed = request.headers.get(header, "").strip() if header else ""
    if not claimed or request.endpoint == "static":
        return None
    networks = current_app.extensions["vitrine_trusted_proxies"]
    peer = request.environ.get(PEER, request.remote_addr)
    if not is_trusted(peer, networks):
        log.warning("ignored the sign-on header %s from %s, which is not a trusted proxy", header, peer)
        audit.record("trusted_header_refused", details={"header": header, "peer": peer}, address=peer)
        db.session.commit()
        return None
    if current_user.is_authenticated and current_user.email.lower() == claimed.lower():
        return None
    user = auth.find_user(claimed)
    if user is None or not user.is_active:
        return None  # never creates a user: the login page is there as for anyone
    from portal.sessions import start_session

    start_session(user)
    g.log_user_id = user.id
    audit.record("login", actor=user, obj=user, details={"by": "trusted_header"}, address=peer)
    db.session.commit()
    return None


def init_app(app) -> None:
    networks = parse_networks(app.config["TRUSTED_PROXIES"])
    app.extensions["vitrine_trusted_proxies"] = networks
    app.wsgi_app = TrustedProxies(app.wsgi_app, app.config["PROXY_HOPS"], networks)
    _frame_cookie_settings(app)
    if app.config["TRUSTED_USER_HEADER"]:
        app.before_request(trusted_header_login)
