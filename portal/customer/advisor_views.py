"""Requests to the commercial advisor: the form the top bar opens (a dialog with htmx, a page without), and
the organisation's requests with their answers. Administrators write; members read."""

from flask import abort, flash, g, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.customer.advisor_forms import AdvisorRequestForm
from portal.customer.views import bp
from portal.extensions import db
from portal.htmx import redirect_to, render, wants_fragment
from portal.models import CONTACT_CHOICES
from portal.pagination import page_of
from portal.routing import page_arg
from portal.services.accounts import advisor_requests
from portal.services.errors import DomainError
from portal.tenancy import client_address, roles

LIST = "customer.advisor_requests"


@bp.route("/advisor/requests/new", methods=["GET", "POST"])
@roles("admin")
def advisor_request_new():
    """Show the form to write to the commercial advisor, and send what is written."""
    form = AdvisorRequestForm()
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            try:
                advisor_requests.send_request(g.organisation, current_user, form.data_sent(), client_address())
            except DomainError as error:
                db.session.rollback()
                getattr(form, error.field or "subject").errors.append(str(error.message))
            else:
                db.session.commit()
                advisor = g.organisation.advisor
                flash(_("Your request was sent to %(name)s, who will contact you as you asked.", name=advisor.name)
                      if advisor else _("Your request was sent to our commercial team, who will contact you as "
                                        "you asked."), "success")
                return redirect_to(url_for(LIST))
    return render("customer/advisor_request_new.html", "advisor_form", status=status, form=form,
                  contacts=CONTACT_CHOICES, advisor=g.organisation.advisor, modal=wants_fragment())


@bp.get("/advisor/requests", endpoint="advisor_requests")
def advisor_requests_list():
    """List the organisation's requests to its commercial advisor, newest first, with their status."""
    page = page_of(advisor_requests.customer_requests(g.organisation), page_arg())
    # Only the pager asks for the list alone; htmx sent here after a request was written wants the page.
    block = "requests" if request.headers.get("HX-Target") == "requests" else None
    return render("customer/advisor_requests.html", block, page=page)


@bp.get("/advisor/requests/<int:request_id>")
def advisor_request(request_id: int):
    """Show one request and the answer it got."""
    found = advisor_requests.customer_request(g.organisation, request_id) or abort(404)
    return render("customer/advisor_request.html", row=found)
