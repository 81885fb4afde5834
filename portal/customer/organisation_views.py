"""The organisation ("Mi organización"): its people and their roles, its billing data, its accountant's e-mail
and the software it opens. Administrators change them; members read them."""

from flask import flash, g, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.customer.organisation_forms import AccountantForm, BillingDataForm
from portal.customer.views import bp
from portal.extensions import db
from portal.htmx import redirect_to, render
from portal.models import ROLES
from portal.services.accounts import accountants, members
from portal.services.accounts.billing_data import CFDI_USES, TAX_REGIMES, BillingData, update_billing_data
from portal.services.catalog.software import subscribed_software
from portal.services.errors import DomainError
from portal.tenancy import client_address, roles

TEMPLATE = "customer/organisation.html"
PAGE = "customer.organisation"


def _page(block: str | None = None, status: int = 200, billing_form=None, accountant_form=None):
    org = g.organisation
    return render(TEMPLATE, block, status=status, members=members.members(org), roles=ROLES[org.kind],
                  billing_form=billing_form or BillingDataForm(organisation=org),
                  accountant_form=accountant_form or AccountantForm(accountant_email=org.accountant_email or ""),
                  software=subscribed_software(org.id), tax_regimes=TAX_REGIMES, cfdi_uses=CFDI_USES)


def _field_error(form, error: DomainError, default: str) -> None:
    db.session.rollback()  # undo whatever the refused change wrote
    getattr(form, error.field or default, getattr(form, default)).errors.append(str(error.message))


@bp.get("/organisation")
def organisation():
    """Show the organisation: its people, billing data, accountant and the software it opens."""
    return _page()


@bp.post("/organisation/billing")
@roles("admin")
def organisation_billing():
    """Change the billing data (the Mexican CFDI fields too, for a Mexican organisation)."""
    form = BillingDataForm(organisation=g.organisation)
    if form.validate_on_submit():
        data = BillingData(form.legal_name.data, form.trade_name.data, form.tax_id.data, form.address.data,
                           form.invoice_emails.data, form.tax_regime.data or "", form.postal_code.data,
                           form.cfdi_use.data or "")
        try:
            changed = update_billing_data(g.organisation, data, current_user, client_address())
        except DomainError as error:
            _field_error(form, error, "legal_name")
        else:
            db.session.commit()
            flash(_("The billing data were saved.") if changed else _("Nothing changed."), "success")
            return redirect_to(url_for(PAGE))
    return _page("billing_form", 422, billing_form=form)


@bp.post("/organisation/accountant")
@roles("admin")
def organisation_accountant():
    """Keep the accountant's e-mail; the reseller that links it becomes the organisation's reseller."""
    form = AccountantForm()
    if form.validate_on_submit():
        try:
            reseller = accountants.set_accountant_email(g.organisation, form.accountant_email.data, current_user,
                                                        client_address())
        except DomainError as error:
            _field_error(form, error, "accountant_email")
        else:
            db.session.commit()
            flash(_("Your accountant's e-mail was saved. %(reseller)s is now your reseller.", reseller=reseller.name)
                  if reseller else _("Your accountant's e-mail was saved."), "success")
            return redirect_to(url_for(PAGE))
    return _page("accountant_form", 422, accountant_form=form)


@bp.post("/organisation/members/<int:membership_id>/role")
@roles("admin")
def organisation_member_role(membership_id: int):
    """Give a person another role (the last administrator keeps theirs)."""
    found = members.change_role(g.organisation, membership_id, (request.form.get("role") or "")[:16],
                                current_user, client_address())
    db.session.commit()
    flash(_("%(email)s's role was changed.", email=found.user.email), "success")
    return redirect_to(url_for(PAGE))


@bp.route("/organisation/members/<int:membership_id>/remove", methods=["GET", "POST"])
@roles("admin")
def organisation_member_remove(membership_id: int):
    """Ask to confirm, then remove a person from the organisation."""
    found = members.membership_of(g.organisation, membership_id)
    if request.method == "POST":
        leaving = found.user_id == current_user.id
        email = members.remove_member(g.organisation, membership_id, current_user, client_address())
        db.session.commit()
        flash(_("%(email)s was removed from the organisation.", email=email), "success")
        return redirect_to(url_for("auth.index") if leaving else url_for(PAGE))
    return render("customer/organisation_confirm.html", member=found, action="remove")


@bp.route("/organisation/members/<int:membership_id>/admin", methods=["GET", "POST"])
@roles("admin")
def organisation_admin_handover(membership_id: int):
    """Ask to confirm, then hand the admin role to another person (you become a member)."""
    found = members.membership_of(g.organisation, membership_id)
    if request.method == "POST":
        members.hand_over_admin(g.organisation, g.membership, membership_id, current_user, client_address())
        db.session.commit()
        flash(_("%(email)s is now the administrator. You are a member.", email=found.user.email), "success")
        return redirect_to(url_for(PAGE))
    return render("customer/organisation_confirm.html", member=found, action="handover")
