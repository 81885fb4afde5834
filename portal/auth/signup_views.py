"""Sign-up: the form, the page that says to look at the e-mail, and the e-mailed link that creates the account."""

from flask import current_app, flash, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from portal.auth.signup_forms import SignUpForm
from portal.auth.views import TOKEN_MESSAGES, bp
from portal.extensions import db, limiter
from portal.htmx import redirect_to, render
from portal.i18n import normalise_locale
from portal.orm import utcnow
from portal.services import signup
from portal.services.accounts import auth
from portal.services.errors import DomainError
from portal.services.resellers import hiring_links
from portal.sessions import start_session
from portal.tenancy import client_address, landing_url


def _limit() -> str:
    return current_app.config["LOGIN_LIMIT"]


def _email_key() -> str:
    return "signup-email:" + request.form.get("email", "").strip().lower()[:254]


def _hiring():
    """The reseller's hiring link the sign-up came through, if any (a DomainError, 404 or 410, when not valid)."""
    raw = request.values.get("hire", "")
    return hiring_links.read_link(raw[:1000]) if raw else None


def _form(hiring=None) -> SignUpForm:
    names = get_locale().territories
    codes = (hiring.reseller.country,) if hiring is not None else signup.COUNTRIES
    return SignUpForm().with_countries({code: names.get(code, code) for code in codes}, codes)


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"])
@limiter.limit(_limit, methods=["POST"], key_func=_email_key)
def signup_form():
    """Ask for an account: e-mail, password, the company, its country and tax id (through a reseller's hiring
    link: with its plan and who pays)."""
    hiring = _hiring()
    form = _form(hiring)
    if form.validate_on_submit():
        try:
            signup.check_tax_id(form.country.data, form.tax_id.data)
        except DomainError as error:
            form.tax_id.errors = [str(error.message)]
        else:
            password_hash = auth.new_password_hash(form.password.data)  # slow: before anything is written
            signup.request_sign_up(form.email.data, form.name.data, password_hash, form.organisation.data,
                                   form.country.data, form.tax_id.data, normalise_locale(str(get_locale())) or "en",
                                   utcnow(), client_address(), hiring=hiring)
            db.session.commit()
            return redirect_to(url_for("auth.signup_sent"))
    status = 422 if request.method == "POST" else 200
    return render("auth/signup.html", "signup_form", status=status, form=form, hiring=hiring,
                  hire=request.values.get("hire", "")[:1000] if hiring else "")


@bp.get("/signup/sent")
def signup_sent():
    """Say where the link went, the same for every e-mail."""
    return render("auth/signup_sent.html", hours=signup.LINK_HOURS)


@bp.route("/signup/confirm/<token>", methods=["GET", "POST"])
def signup_confirm(token: str):
    """Open the e-mailed link, then create the account with one click (a GET changes nothing)."""
    try:
        pending = signup.peek(token, utcnow())
    except auth.TokenError as error:
        return _token_error(error.reason)
    if request.method == "POST":
        try:
            user = signup.confirm_sign_up(token, utcnow(), client_address())
        except auth.TokenError as error:
            db.session.rollback()
            return _token_error(error.reason)
        start_session(user)
        db.session.commit()
        flash(_("Welcome! Your account is ready, and your first month is free."), "success")
        return redirect_to(landing_url())
    return render("auth/signup_confirm.html", pending=pending, token=token)


def _token_error(reason: str):
    return render("auth/token_error.html", status=404 if reason == "invalid" else 410,
                  message=TOKEN_MESSAGES[reason](), again=url_for("auth.signup_form"))
