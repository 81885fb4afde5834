"""The sandbox bank's pages, under their own prefix: a stand-in for the payer's bank, not part of the portal."""

from flask import Blueprint, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import TextAreaField
from wtforms.validators import Length

from portal.extensions import db
from portal.forms import FlaskForm, Required
from portal.htmx import redirect_to, render
from portal.services.errors import DomainError
from portal.services.payments.offline import sandbox_bank

bp = Blueprint("sandbox_bank", __name__, url_prefix="/sandbox-bank")


class PayForm(FlaskForm):
    code = TextAreaField(_l("Pix code, typeable line, barcode or reference"),
                         validators=[Required(_l("Paste the code to pay.")), Length(max=600)])


@bp.route("/", methods=["GET", "POST"])
def pay():
    """Pay a code as the payer's bank would; the portal hears of it by webhook."""
    if not sandbox_bank.enabled():
        return render("sandbox_bank/pay.html", form=None, status=404)
    form = PayForm(data={"code": request.args.get("code", "")[:600]} if request.method == "GET" else None)
    if request.method == "POST" and form.validate():
        try:
            payment = sandbox_bank.pay(form.code.data)
        except DomainError as error:
            db.session.rollback()
            form.code.errors.append(str(error.message))
            return render("sandbox_bank/pay.html", form=form, status=error.status)
        db.session.commit()
        flash(_("Paid %(reference)s. The portal is told by webhook in a moment.", reference=payment.reference),
              "success")
        return redirect_to(url_for("sandbox_bank.pay"))
    return render("sandbox_bank/pay.html", form=form, status=422 if form.errors else 200)
