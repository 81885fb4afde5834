"""The sandbox gateway's hosted card page: enter a card, go back to the portal with a token."""

from urllib.parse import urlencode

from flask import Blueprint, abort, redirect, request
from flask_babel import force_locale

from portal.htmx import render
from portal.i18n import LOCALES
from portal.sandbox.forms import CardForm
from portal.services.payments import sandbox

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox-gateway")


@bp.route("/capture", methods=["GET", "POST"])
def capture():
    """Show the provider's card form; a card it accepts goes back to the portal as a token."""
    session = sandbox.read_capture_session(request.args.get("session", ""))
    if session is None:
        abort(410)
    locale = session.get("locale") if session.get("locale") in LOCALES else "en"
    with force_locale(locale):
        form = CardForm()
        if request.method == "POST" and form.validate():
            month, year = form.month_year()
            result = sandbox.capture_result(session, form.card_number(), month, year)
            return redirect(f"{session['return']}?{urlencode({'result': result})}", 303)
        form.number.data = form.cvc.data = None  # never sent back to the browser
        response = render("sandbox/capture.html", status=422 if form.errors else 200, form=form,
                          cards=sandbox.TEST_CARDS, cancel_url=session["return"] + "?cancelled=1",
                          page_locale=locale)
    response.headers["Cache-Control"] = "no-store"
    return response
