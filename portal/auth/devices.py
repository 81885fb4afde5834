"""Browsers that have logged in to an account before, so that guessing an account's password cannot lock its
owner out (OWASP: "Slow Down Online Guessing Attacks with Device Cookies").

A successful login leaves a signed cookie in the browser naming the account (by a digest of its e-mail) and
the device (a random nonce); it is sent only to the login page. Failed logins are then counted three ways,
each with PORTAL_LOGIN_LIMIT:
- per account, for every browser without such a cookie for it: ten wrong guesses by anyone else make the
  account wait for them, as before;
- per address, for the same browsers: one address cannot try many accounts;
- per device, for a browser with the cookie: the owner has an allowance of their own that strangers' guesses
  do not use up, and a copied cookie guesses no faster than anyone.
"""

import hashlib
import secrets
from datetime import timedelta

from flask import current_app, request, url_for
from itsdangerous import BadData, URLSafeTimedSerializer

COOKIE = "vitrine_device"
LIFETIME = timedelta(days=365)
_SALT = "vitrine-login-device"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_SALT)


def login_email() -> str:
    """The e-mail a login attempt names, as the account is known by (lower case, trimmed)."""
    return request.form.get("email", "").strip().lower()[:254]


def _account(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()[:32]


def _device() -> dict | None:
    raw = request.cookies.get(COOKIE, "")
    if not raw or len(raw) > 400:
        return None
    try:
        device = _serializer().loads(raw, max_age=int(LIFETIME.total_seconds()))
    except BadData:
        return None
    return device if isinstance(device, dict) and isinstance(device.get("nonce"), str) else None


def trusted() -> bool:
    """Whether this browser has logged in before to the account the attempt names."""
    device = _device()
    return device is not None and device.get("account") == _account(login_email())


def untrusted() -> bool:
    return not trusted()


def device_key() -> str:
    """The limiter's bucket of this browser (only used for a trusted one)."""
    device = _device()
    return "login-device:" + (device["nonce"] if device else "")


def remember(response, email: str):
    """Mark this browser as one that logged in to `email`'s account (after a successful login)."""
    device = _device()
    nonce = device["nonce"] if device else secrets.token_urlsafe(16)
    value = _serializer().dumps({"account": _account(email.strip().lower()), "nonce": nonce})
    response.set_cookie(COOKIE, value, max_age=LIFETIME, path=url_for("auth.login"), httponly=True, samesite="Lax",
                        secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response
