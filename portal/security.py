"""Security headers on every response (the reverse proxy, a URL prefix and framing: portal/intranet.py)."""

from flask import request
from flask_login import current_user

# Pages whose address is itself a secret (an e-mailed link): never kept by the browser or a proxy.
_SECRET_URL_ENDPOINTS = {"auth.password_reset", "auth.invitation_accept"}


def frame_ancestors_sources(setting: str) -> str:
    """PORTAL_FRAME_ANCESTORS as CSP sources: commas or spaces between origins; a ";" cannot add directives."""
    sources = " ".join(setting.replace(",", " ").replace(";", " ").split())
    return sources or "'none'"


def content_security_policy(frame_ancestors: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "form-action 'self'",
            "base-uri 'none'",
            "object-src 'none'",
            f"frame-ancestors {frame_ancestors_sources(frame_ancestors)}",
        ]
    )


def init_app(app) -> None:
    csp = content_security_policy(app.config["FRAME_ANCESTORS"])

    @app.after_request
    def set_security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", csp)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config["SESSION_COOKIE_SECURE"]:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if "Cache-Control" not in headers and _private():
            # A page for one logged-in person must not come back from a shared computer's cache after logout.
            headers["Cache-Control"] = "no-store"
        return response


def _private() -> bool:
    if request.endpoint == "static":
        return False
    return request.endpoint in _SECRET_URL_ENDPOINTS or current_user.is_authenticated
