"""Billing preferences ("Preferencias de facturación"): which notices go to which of the organisation's e-mails,
and how long before a renewal it is announced. Administrators change them; members read them."""

from flask import abort, flash, g, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import StringField

from portal.customer.views import bp
from portal.extensions import db
from portal.forms import FlaskForm
from portal.htmx import redirect_to, render
from portal.labels import NOTICE_LABELS
from portal.models import NOTICE_KINDS
from portal.orm import utcnow
from portal.services.errors import DomainError
from portal.services.notices import preferences, thresholds


class PreferencesForm(FlaskForm):
    renewal_days = StringField(_l("Days before a renewal"))


def _page(form: PreferencesForm, chosen: dict, status: int = 200, error: str | None = None):
    org = g.organisation
    return render("customer/account/preferences.html", "preferences", status=status, form=form, chosen=chosen,
                  emails=list(preferences.organisation_emails(org)), notices=NOTICE_KINDS, labels=NOTICE_LABELS,
                  can_change=g.membership.role == "admin", error=error, days_range=preferences.RENEWAL_DAYS_RANGE,
                  low_balance_threshold=thresholds.threshold_of(org),
                  own_threshold=thresholds.chosen_threshold(org) is not None,
                  usage_levels=thresholds.USAGE_LEVELS)


@bp.route("/account/billing-preferences", methods=["GET", "POST"])
def billing_preferences():
    """Show the billing notices and who receives each; an administrator changes them."""
    stored = preferences.preferences_for(g.organisation)
    if request.method == "POST":
        if g.membership.role != "admin":
            abort(403)
        form = PreferencesForm()
        chosen = {notice: request.form.getlist(f"notice-{notice}") for notice in NOTICE_KINDS}
        if not form.validate():
            return _page(form, chosen, 422)
        raw = (form.renewal_days.data or "").strip()
        days = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 3 else -1
        try:
            preferences.save_preferences(g.organisation, days, chosen, utcnow(), actor=current_user)
        except DomainError as refused:
            db.session.rollback()
            return _page(form, chosen, 422, str(refused.message))
        db.session.commit()
        flash(_("Your billing preferences were saved."), "success")
        return redirect_to(url_for("customer.billing_preferences"))
    form = PreferencesForm(renewal_days=str(stored.renewal_days))
    return _page(form, {notice: list(emails) for notice, emails in stored.recipients.items()})
