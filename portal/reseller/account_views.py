"""My data ("Meus dados" / "Mis datos"): the reseller's linked e-mails (managers add and remove them, accountants
read them) — a customer that types one of them as its accountant's e-mail becomes the reseller's client — and the
way to its own password and payments."""

from flask import flash, g, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.extensions import db
from portal.htmx import redirect_to, render
from portal.reseller.views import bp
from portal.services.accounts import accountants
from portal.services.errors import DomainError
from portal.tenancy import client_address, roles

TEMPLATE = "reseller/my_data_emails.html"


def _page(status: int = 200, **context):
    return render(TEMPLATE, "linked_emails", status=status, emails=accountants.linked_emails(g.organisation),
                  manager=g.membership.role == "manager", **context)


@bp.get("/my-data/emails")
def my_emails():
    """List the e-mails linked to the reseller."""
    return _page()


@bp.post("/my-data/emails")
@roles("manager")
def my_emails_add():
    """Link a new e-mail to the reseller."""
    email = request.form.get("email", "")
    try:
        linked = accountants.link_email(g.organisation, email, current_user, client_address())
    except DomainError as error:
        db.session.rollback()
        return _page(status=error.status, error=str(error.message), typed=email[:254])
    db.session.commit()
    flash(_("%(email)s is now linked to your account.", email=linked.email), "success")
    return redirect_to(url_for("reseller.my_emails"))


@bp.post("/my-data/emails/<int:email_id>/remove")
@roles("manager")
def my_emails_remove(email_id: int):
    """Remove one of the reseller's linked e-mails."""
    try:
        email = accountants.unlink_email(g.organisation, email_id, current_user, client_address())
    except DomainError as error:
        db.session.rollback()
        return _page(status=error.status, error=str(error.message))
    db.session.commit()
    flash(_("%(email)s is no longer linked to your account.", email=email), "success")
    return redirect_to(url_for("reseller.my_emails"))
