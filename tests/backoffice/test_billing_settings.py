"""The back office's billing settings: the reseller discount, read by every vendor role, changed by
administrators and billing staff (audited), applied to the subscriptions a reseller pays from then on."""

import pytest

from portal.extensions import db
from portal.models import AuditEvent, BillingSettings
from portal.orm import utcnow
from portal.services.billing import settings
from portal.services.billing import subscriptions as subs
from tests import factories


def test_an_administrator_changes_the_reseller_discount_and_it_is_audited(login_as):
    admin = login_as("vendor", "admin")
    page = admin.get("/backoffice/billing-settings").get_data(as_text=True)
    assert 'value="50"' in page
    response = admin.form_post("/backoffice/billing-settings", {"reseller_discount": "35"})
    assert response.status_code == 303
    assert settings.reseller_discount_bp() == 3_500
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="reseller_discount_changed"))
    assert event.details == {"before_bp": 5_000, "discount_bp": 3_500} and event.actor_id == admin.user.id


@pytest.mark.parametrize("typed", ["-5", "101", "12.5", "cinquenta", ""])
def test_a_discount_that_is_not_a_whole_percentage_is_refused(login_as, typed):
    admin = login_as("vendor", "billing")
    response = admin.form_post("/backoffice/billing-settings", {"reseller_discount": typed})
    assert response.status_code == 422 and "whole percentage" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(BillingSettings.id))) == 0


def test_an_advisor_reads_the_settings_and_cannot_change_them(login_as):
    advisor = login_as("vendor", "advisor")
    assert "readonly" in advisor.get("/backoffice/billing-settings").get_data(as_text=True)
    assert advisor.form_post("/backoffice/billing-settings", {"reseller_discount": "10"}).status_code == 403


def test_a_new_payer_reseller_gets_the_discount_then_in_force(app):
    reseller = factories.make_org("reseller", "BR")
    client = factories.make_org("customer", "BR", reseller_id=reseller.id)
    plan = factories.make_product("plan", prices=(("BRL", "monthly", 10_000, 0),))
    settings.set_reseller_discount("25")
    sub = subs.start_subscription(client, plan, "BRL", "monthly", utcnow())
    subs.change_payer(sub, reseller, utcnow())
    assert sub.discount_bp == 2_500
