"""Views of the auth blueprint: login, logout, passwords, invitations, team, switchers."""

from flask import Blueprint, abort, current_app, flash, g, redirect, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from portal import jobs
from portal.auth import devices
from portal.auth.forms import (
    AcceptInvitationForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    InviteForm,
    LoginForm,
    ResetPasswordForm,
)
from portal.extensions import db, limiter
from portal.htmx import redirect_to, render
from portal.i18n import LOCALES, normalise_locale
from portal.labels import ROLE_LABELS, TEAM_ADMIN_ROLES
from portal.models import LEAST_PRIVILEGED_ROLE, ROLES, Membership
from portal.services import audit
from portal.services.accounts import auth, entry_links
from portal.services.accounts import organisations as accounts
from portal.services.errors import DomainError
from portal.sessions import end_session, start_session
from portal.tenancy import client_address, landing_url

bp = Blueprint("auth", __name__)

TOKEN_MESSAGES = {
    "invalid": lambda: _("This link is not valid. Ask for a new one."),
    "used": lambda: _("This link has already been used. Ask for a new one if you still need it."),
    "expired": lambda: _("This link has expired. Ask for a new one."),
}


def _login_limit() -> str:
    return current_app.config["LOGIN_LIMIT"]


def _account_key() -> str:
    return "login-account:" + devices.login_email()


def _reset_account_key() -> str:
    return "reset-account:" + request.form.get("email", "").strip().lower()[:254]


def _failed(response) -> bool:
    return response.status_code >= 400


def _safe_next(target: str | None) -> str | None:
    """A path of this portal to go back to (as given by request.full_path), with the URL prefix the portal
    runs under; None for anything that could lead elsewhere ("//host", "/\\host", "https:…", control
    characters that browsers drop)."""
    if not target or len(target) > 2000 or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(char) < 0x21 or ord(char) == 0x7F for char in target):
        return None
    return request.script_root + target


def audit_here(action: str, obj=None, **details) -> None:
    """Record an audit event for the current user, organisation and address."""
    actor = current_user if current_user.is_authenticated else None
    audit.record(action, actor=actor, organisation=g.get("organisation"), obj=obj, details=details,
                 address=client_address())


@bp.get("/")
def index():
    """Send a visitor to their role's landing page, or to the login."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(landing_url())


@bp.route("/login", methods=["GET", "POST"])
# Failed logins are counted per address and per account, but a browser that logged in to the account before
# is counted on its own (portal/auth/devices.py): someone guessing cannot lock the owner out.
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_failed, exempt_when=devices.trusted)
@limiter.limit(_login_limit, methods=["POST"], key_func=_account_key, deduct_when=_failed,
               exempt_when=devices.trusted)
@limiter.limit(_login_limit, methods=["POST"], key_func=devices.device_key, deduct_when=_failed,
               exempt_when=devices.untrusted)
def login():
    """Log in with e-mail and password."""
    if current_user.is_authenticated and request.method != "POST":
        return redirect(landing_url())
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = auth.authenticate(form.email.data, form.password.data)
        if user is not None:
            target = _safe_next(form.next.data)
            start_session(user)
            audit_here("login", obj=user)
            db.session.commit()
            return devices.remember(redirect_to(target or landing_url()), user.email)
        audit.record("login_failed", obj=auth.find_user(form.email.data),
                     details={"email": form.email.data.strip().lower()[:254]}, address=client_address())
        db.session.commit()
        form.password.errors.append(_("The e-mail or the password is not correct."))
    status = 422 if request.method == "POST" else 200
    return render("auth/login.html", "login_form", status=status, form=form)


@bp.post("/logout")
def logout():
    """Log out and forget the session."""
    if current_user.is_authenticated:
        audit_here("logout", obj=current_user)
    end_session()
    db.session.commit()
    flash(_("You have logged out."), "info")
    return redirect_to(url_for("auth.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_reset_account_key)
def password_forgot():
    """Ask for a password reset link by e-mail."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        # Looked up and e-mailed by a job: the answer is the same, and as quick, whether the account exists.
        jobs.send_password_reset(form.email.data.strip().lower(), str(get_locale()), client_address())
        flash(_("If an account exists for this e-mail, we have sent it a link to choose a new password."), "info")
        return redirect_to(url_for("auth.login"))
    status = 422 if request.method == "POST" else 200
    return render("auth/password_forgot.html", "forgot_form", status=status, form=form)


def _token_error(reason: str):
    status = 404 if reason == "invalid" else 410
    return render("auth/token_error.html", status=status, message=TOKEN_MESSAGES[reason]())


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def password_reset(token: str):
    """Choose a new password with the e-mailed link."""
    try:
        auth.peek_token(token, "reset")
    except auth.TokenError as error:
        return _token_error(error.reason)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        password_hash = auth.new_password_hash(form.password.data)  # slow: before the token's write
        try:
            user = auth.consume_token(token, "reset")
        except auth.TokenError as error:
            db.session.rollback()
            return _token_error(error.reason)
        auth.set_password(user, password_hash=password_hash)
        audit.record("password_reset", actor=user, obj=user, address=client_address())
        db.session.commit()
        flash(_("Your password has been changed. Log in with the new one."), "success")
        return redirect_to(url_for("auth.login"))
    status = 422 if request.method == "POST" else 200
    return render("auth/password_reset.html", "reset_form", status=status, form=form, token=token)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def invitation_accept(token: str):
    """Accept an invitation: someone new gives their name and chooses a password, someone with an account
    confirms; either way the organisation is theirs only from then on."""
    try:
        invitation = auth.peek_token(token, "invite")
    except auth.TokenError as error:
        return _token_error(error.reason)
    existing = invitation.user.password_hash is not None
    form = FlaskForm() if existing else AcceptInvitationForm(name=invitation.user.name)
    if form.validate_on_submit():
        # slow: before the token's write
        password_hash = None if existing else auth.new_password_hash(form.password.data)
        try:
            user = auth.consume_token(token, "invite")
        except auth.TokenError as error:
            db.session.rollback()
            return _token_error(error.reason)
        if not existing:
            user.name = form.name.data.strip()
            auth.set_password(user, password_hash=password_hash)
        accepted = accounts.accept_invitation(invitation)
        organisation = accepted[0].organisation if accepted else None
        audit.record("invitation_accepted", actor=user, organisation=organisation, obj=user, address=client_address())
        if not existing:
            start_session(user)
            db.session.commit()
            flash(_("Welcome! Your account is ready."), "success")
            return redirect_to(landing_url())
        db.session.commit()
        name = (organisation.trade_name or organisation.name) if organisation else ""
        if current_user.is_authenticated and current_user.id == user.id and accepted:
            session["membership_id"] = accepted[0].id
            flash(_("You are now a member of %(org)s.", org=name), "success")
            return redirect_to(url_for("auth.index"))
        flash(_("You are now a member of %(org)s. Log in to act for it.", org=name), "success")
        return redirect_to(url_for("auth.login"))
    status = 422 if request.method == "POST" else 200
    return render("auth/invitation.html", "invitation_form", status=status, form=form, token=token,
                  invitation=invitation, existing=existing)


@bp.route("/entry/<token>", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_failed)
def entry_link(token: str):
    """Enter the store from the vendor's software: a signed link, used once within a minute, logs its user in."""
    if request.method == "POST":
        try:
            membership = entry_links.use_entry_link(token[:1000], client_address())
        except DomainError as error:
            db.session.rollback()
            return render("auth/entry_link.html", status=error.status, message=str(error.message), token=token)
        start_session(membership.user)
        session["membership_id"] = membership.id
        g.membership, g.organisation = membership, membership.organisation
        db.session.commit()
        return redirect_to(url_for("customer.store") if membership.kind == "customer" else landing_url())
    return render("auth/entry_link.html", token=token, message=None)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_failed)
def password_change():
    """Change your own password (this ends your other sessions)."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not auth.check_password(current_user, form.current.data):
            form.current.errors.append(_("The current password is not correct."))
        else:
            auth.set_password(current_user, form.password.data)
            audit_here("password_changed", obj=current_user)
            start_session(current_user._get_current_object(), keep_membership=True)
            db.session.commit()
            flash(_("Your password has been changed."), "success")
            return redirect_to(url_for("auth.password_change"))
    status = 422 if request.method == "POST" else 200
    return render("auth/password_change.html", "password_form", status=status, form=form)


def _team_gate():
    if g.get("membership") is None or (g.membership.kind, g.membership.role) not in TEAM_ADMIN_ROLES:
        abort(403)


def _invite_form() -> InviteForm:
    form = InviteForm()
    kind = g.membership.kind
    form.role.choices = [(role, str(ROLE_LABELS[(kind, role)])) for role in ROLES[kind]]
    if not form.is_submitted():
        form.role.data = LEAST_PRIVILEGED_ROLE[kind]
    return form


def _team_members():
    query = (
        db.select(Membership)
        .where(Membership.organisation_id == g.organisation.id)
        .order_by(Membership.id)
        .options(db.joinedload(Membership.user))
    )
    return db.session.scalars(query).all()


@bp.get("/team")
@login_required
def team():
    """List the people of your organisation and invite more."""
    _team_gate()
    return render("auth/team.html", form=_invite_form(), members=_team_members())


@bp.post("/team")
@login_required
def team_invite():
    """Invite a person to your organisation by e-mail."""
    _team_gate()
    form = _invite_form()
    if form.validate_on_submit():
        try:
            membership = accounts.invite(g.organisation, current_user, form.email.data, form.name.data,
                                         form.role.data, current_app.config["INVITE_TOKEN_DAYS"], client_address())
        except DomainError as error:
            db.session.rollback()  # undo what the invitation wrote before it was refused
            getattr(form, error.field or "email", form.email).errors.append(str(error.message))
        else:
            db.session.commit()
            flash(_("%(email)s has been invited.", email=membership.user.email), "success")
            return redirect_to(url_for("auth.team"))
    # A form that did not validate wrote nothing: no rollback, so what the request loaded stays loaded.
    return render("auth/team.html", "invite_form", status=422, form=form, members=_team_members())


@bp.post("/switch")
@login_required
def membership_switch():
    """Act for another of your organisations."""
    wanted = request.form.get("membership_id", type=int)
    membership = next((m for m in accounts.switchable_memberships(current_user) if m.id == wanted), None)
    if membership is None:
        abort(404)
    session["membership_id"] = membership.id
    g.membership, g.organisation = membership, membership.organisation
    audit_here("role_switch", obj=membership, role=membership.role)
    db.session.commit()
    return redirect_to(landing_url())


@bp.post("/locale")
def locale_switch():
    """Choose the language of the portal."""
    locale = normalise_locale(request.form.get("locale"))
    if locale is None or locale not in LOCALES:
        abort(400, description=_("This language is not offered. Choose English, Español or Português."))
    session["locale"] = locale
    if current_user.is_authenticated:
        current_user.locale = locale
        db.session.commit()
    target = _safe_next(request.form.get("next")) or url_for("auth.index")
    return redirect_to(target)


@bp.get("/welcome")
@login_required
def no_membership():
    """Tell a user without any organisation what to do."""
    return render("auth/no_membership.html")
