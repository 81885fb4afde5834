"""Customers' requests to their commercial advisor, for every staff role: the list by status, one request,
its answer (e-mailed to the customer) and closing it."""

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.backoffice.advisor_forms import AdvisorAnswerForm, AdvisorRequestFilterForm
from portal.backoffice.views import bp
from portal.extensions import db
from portal.htmx import redirect_to, render
from portal.pagination import page_of
from portal.routing import page_arg
from portal.services.accounts import advisor_requests
from portal.services.errors import DomainError
from portal.tenancy import client_address

TEMPLATE = "backoffice/advisor_request.html"


def _request(request_id: int):
    return advisor_requests.staff_request(request_id) or abort(404)


@bp.get("/advisor-requests", endpoint="advisor_requests")
def advisor_requests_list():
    """List every customer's requests to its commercial advisor, newest first, by status."""
    form = AdvisorRequestFilterForm(formdata=request.args)
    status = form.status_chosen()
    page = page_of(advisor_requests.staff_requests(status), page_arg())
    return render("backoffice/advisor_requests.html", "requests", status=422 if form.errors else 200, form=form,
                  chosen=status, page=page)


@bp.get("/advisor-requests/<int:request_id>")
def advisor_request(request_id: int):
    """Show one request, with the form to answer or close it."""
    return render(TEMPLATE, row=_request(request_id), form=AdvisorAnswerForm())


@bp.post("/advisor-requests/<int:request_id>/answer")
def advisor_request_answer(request_id: int):
    """Answer a request: the customer reads the answer and gets it by e-mail."""
    row = _request(request_id)
    form = AdvisorAnswerForm()
    if form.validate_on_submit():
        try:
            advisor_requests.answer_request(row, current_user, form.answer.data, client_address())
        except DomainError as error:
            db.session.rollback()
            if error.field is None:
                raise
            form.answer.errors.append(str(error.message))
        else:
            db.session.commit()
            flash(_("The answer was sent to %(name)s.", name=row.user.name), "success")
            return redirect_to(url_for("backoffice.advisor_request", request_id=row.id))
    return render(TEMPLATE, "answer_form", status=422, row=_request(request_id), form=form)


@bp.post("/advisor-requests/<int:request_id>/close")
def advisor_request_close(request_id: int):
    """Close a request: nothing more to do for it."""
    advisor_requests.close_request(_request(request_id), current_user, client_address())
    db.session.commit()
    flash(_("The request was closed."), "success")
    return redirect_to(url_for("backoffice.advisor_request", request_id=request_id))
