"""My data ("Meus dados" / "Mis datos"): the reseller's basic data (legal name, trade name, tax id, phone, address;
managers change them, accountants read them), its linked e-mails (managers add and remove them, accountants
read them) — a customer that types one of them as its accountant's e-mail becomes the reseller's client — and the
way to its own password and payments."""

from flask import flash, g, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.extensions import db
from portal.htmx import redirect_to, render
from portal.reseller.forms import BasicsForm
from portal.reseller.views import bp
from portal.services.accounts import accountants
from portal.services.errors import DomainError
from portal.services.resellers import my_data
from portal.tenancy import client_address, roles

TEMPLATE = "reseller/my_data_emails.html"
BASICS = "reseller/my_data_basics.html"


def _basics_page(block: str | None = None, status: int = 200, form: BasicsForm | None = None):
    return render(BASICS, block, status=status, form=form or BasicsForm(organisation=g.organisation),
                  manager=g.membership.role == "manager")


@bp.get("/my-data")
def my_basics():
    """Show the reseller's basic data: a form for managers, the facts for accountants."""
    return _basics_page()


@bp.post("/my-data")
@roles("manager")
def my_basics_save():
    """Check and keep the reseller's legal name, trade name, tax id, phone and address (all or nothing)."""
    form = BasicsForm(organisation=g.organisation)
    if form.validate_on_submit():
        data = my_data.Basics(form.legal_name.data, form.trade_name.data, form.tax_id.data, form.phone.data,
                              form.address.data)
        try:
            changed = my_data.update_basics(g.organisation, data, current_user, client_address())
        except DomainError as error:
            db.session.rollback()  # undo whatever the refused change wrote
            getattr(form, error.field or "legal_name", form.legal_name).errors.append(str(error.message))
            return _basics_page("basics_form", error.status, form=form)
        db.session.commit()
        flash(_("Your data were saved.") if changed else _("Nothing changed."), "success")
        return redirect_to(url_for("reseller.my_basics"))
    return _basics_page("basics_form", 422, form=form)


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
