"""The login session: renewed at login, ended by logging out, after inactivity and after an absolute lifetime.

The browser keeps a signed cookie naming the user and a random session key; the server keeps a row per
session (services/auth.py) so that logging out or changing the password ends a session for good, even
for someone holding a copy of the cookie.
"""

import time

from flask import abort, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user

from portal.extensions import login_manager
from portal.htmx import wants_fragment
from portal.models import User
from portal.services.accounts import auth
from portal.services.accounts.organisations import membership_for

_TOUCH_EVERY = 60  # seconds: the cookie is rewritten at most once a minute for the idle clock
SESSION_KEY = "sid"
# Endpoints that work for visitors: an ended session just continues there as a visitor.
_VISITOR_ENDPOINTS = {"auth.login", "auth.logout", "auth.locale_switch", "auth.index"}


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The cookie names the user, their password generation and a session key the server still holds."""
    user_part, _sep, token = user_id.partition(":")
    if not user_part.isdigit():
        return None
    user = auth.session_user(int(user_part), session.get(SESSION_KEY, ""), current_app.config["SESSION_MAX"],
                             session.get("membership_id"))
    if user is None or user.session_token != token:
        return None
    return user


def _clear_keeping_locale() -> None:
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale


def start_session(user: User, keep_membership: bool = False) -> None:
    """Begin a fresh session for `user`: nothing from the previous one survives but the language (and,
    when asked, the organisation acted for); the previous session of this browser ends on the server."""
    membership_id = session.get("membership_id") if keep_membership else None
    auth.end_session(session.get(SESSION_KEY))
    _clear_keeping_locale()
    login_user(user)
    session[SESSION_KEY] = auth.open_session(user, request.remote_addr, request.user_agent.string)
    now = int(time.time())
    session["login_at"] = now
    session["seen_at"] = now
    session.permanent = True
    membership = membership_for(user, membership_id)
    g.membership = membership
    g.organisation = membership.organisation if membership else None
    if membership is not None:
        session["membership_id"] = membership.id


def end_session() -> None:
    """Log out: the server forgets the session, the browser keeps only its language."""
    auth.end_session(session.get(SESSION_KEY))
    logout_user()
    _clear_keeping_locale()


def login_redirect():
    """What a visitor gets on a page that needs a login: the login page (then back here), or a 401 for
    htmx (whose error handler tells htmx to load the login page) and for the API."""
    if wants_fragment() or request.blueprint == "api":
        abort(401)
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("auth.login", next=target))


def _unauthorized():
    flash(_("Please log in to see this page."), "info")
    return login_redirect()


def enforce_timeouts():
    """End a session that has been idle too long, has lived past its absolute lifetime, or was ended
    elsewhere (logged out, password changed)."""
    if request.endpoint == "static" or SESSION_KEY not in session:
        return None
    now = int(time.time())
    config = current_app.config
    login_at = session.get("login_at", 0)
    seen_at = session.get("seen_at", 0)
    expired = now - seen_at > config["SESSION_IDLE"].total_seconds() or (
        now - login_at > config["SESSION_MAX"].total_seconds()
    )
    if not expired and current_user.is_authenticated:
        if now - seen_at >= _TOUCH_EVERY:
            session["seen_at"] = now
        return None
    logout_user()
    _clear_keeping_locale()
    if request.blueprint == "api" or request.endpoint in _VISITOR_ENDPOINTS:
        return None
    flash(_("Your session has ended. Please log in again."), "info")
    return login_redirect()


def init_app(app) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = None  # the session is renewed at login and checked on the server
    login_manager.unauthorized_handler(_unauthorized)
    app.before_request(enforce_timeouts)
