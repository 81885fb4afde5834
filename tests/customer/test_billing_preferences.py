"""The billing preferences screen: an administrator chooses which notices go to which of the organisation's
e-mails; another e-mail, an unknown notice or days out of range are refused with a 422 and nothing written;
members read it and change nothing."""

import pytest

from portal.extensions import db
from portal.models import AuditEvent, BillingPreferences, WalletSettings
from portal.services.notices import preferences
from tests import factories

URL = "/customer/account/billing-preferences"


def _form(client, **fields):
    data = {"renewal_days": "7", **fields}
    return client.form_post(URL, data, headers={"Accept-Language": "es"})


def test_the_screen_offers_each_notice_to_the_organisations_emails(login_as):
    client = login_as("customer", "admin")
    org = db.session.merge(client.organisation)
    colleague = factories.make_member("customer", "member", organisation=org).user
    org.accountant_email = "Contador@Estudio.cl"
    db.session.commit()
    page = client.get(URL, headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Preferencias de facturación" in page and "Factura por vencer" in page
    for email in (client.user.email, colleague.email, "contador@estudio.cl"):
        assert f'value="{email}"' in page
    # Nothing stored yet: every notice to the administrators.
    assert page.count(f'value="{client.user.email}" checked') == 7
    assert page.count(f'value="{colleague.email}" checked') == 0


def test_an_administrator_saves_the_choices(login_as):
    client = login_as("customer", "admin")
    org = db.session.merge(client.organisation)
    org.accountant_email = "contador@estudio.cl"
    db.session.commit()
    response = _form(client, renewal_days="10", **{"notice-overdue": ["contador@estudio.cl", client.user.email],
                                                   "notice-due_soon": "CONTADOR@estudio.cl"})
    assert response.status_code == 303
    stored = db.session.get(BillingPreferences, org.id)
    assert stored.renewal_days == 10
    assert stored.recipients == {"overdue": ["contador@estudio.cl", client.user.email],
                                 "due_soon": ["contador@estudio.cl"], "renewal_upcoming": [], "invoice_issued": [],
                                 "payment_failed": [], "low_balance": [], "usage_quota": []}
    assert db.session.scalar(db.select(AuditEvent).filter_by(action="billing_preferences_changed")) is not None
    page = client.get(URL).get_data(as_text=True)
    assert 'value="10"' in page and page.count('value="contador@estudio.cl" checked') == 2


def test_the_low_balance_and_usage_notices_are_offered_and_saved(login_as):
    client = login_as("customer", "admin")
    org = db.session.merge(client.organisation)
    org.accountant_email = "contador@estudio.cl"
    db.session.add(WalletSettings(organisation_id=org.id, auto_recharge=True, recharge_threshold=25_000,
                                  recharge_amount=100_000))
    db.session.commit()
    page = client.get(URL, headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Saldo bajo en la billetera" in page and "Uso que llega al 80% y al 100% de un cupo" in page
    assert "baja de $25.000, su umbral de recarga automática" in page  # the one chosen, not the default
    assert 'name="notice-low_balance"' in page and 'name="notice-usage_quota"' in page
    response = _form(client, **{"notice-low_balance": "contador@estudio.cl", "notice-usage_quota": [
        client.user.email, "contador@estudio.cl"]})
    assert response.status_code == 303
    stored = db.session.get(BillingPreferences, org.id).recipients
    assert stored["low_balance"] == ["contador@estudio.cl"]
    assert stored["usage_quota"] == [client.user.email, "contador@estudio.cl"]
    assert preferences.recipients_for(org, "low_balance") == [("contador@estudio.cl", org.locale)]
    english = client.get(URL, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Usage reaching 80% and 100% of a quota" in english and "falls below CLP25,000" in english


@pytest.mark.parametrize("fields, words", [
    ({"notice-overdue": "intruso@otro.cl"}, "intruso@otro.cl no es un correo de tu organización"),
    ({"renewal_days": "0"}, "Elige de 1 a 60 días"),
    ({"renewal_days": "61"}, "Elige de 1 a 60 días"),
    ({"renewal_days": "siete"}, "Elige de 1 a 60 días"),
    ({"renewal_days": "9" * 40}, "Elige de 1 a 60 días"),
])
def test_bad_input_is_refused_with_a_message_and_nothing_written(login_as, fields, words):
    client = login_as("customer", "admin")
    response = _form(client, **fields)
    assert response.status_code == 422 and words in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(BillingPreferences)) == 0


def test_another_organisations_user_is_not_an_email_of_this_one(login_as):
    client = login_as("customer", "admin")
    stranger = factories.make_member("customer", "admin").user
    db.session.commit()
    assert _form(client, **{"notice-overdue": stranger.email}).status_code == 422
    assert db.session.scalar(db.select(db.func.count()).select_from(BillingPreferences)) == 0


def test_members_read_the_preferences_and_change_nothing(login_as):
    client = login_as("customer", "member")
    page = client.get(URL, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Only an administrator of your organisation can change these preferences." in page
    assert "<fieldset disabled>" in page and "Save preferences" not in page
    assert _form(client, **{"notice-overdue": client.user.email}).status_code == 403
    assert db.session.scalar(db.select(db.func.count()).select_from(BillingPreferences)) == 0


def test_a_blocked_account_still_opens_its_preferences(login_as):
    from portal.orm import utcnow
    from portal.services.accounts import blocking

    client = login_as("customer", "admin")
    blocking.block(db.session.merge(client.organisation), "unpaid", utcnow())
    db.session.commit()
    assert client.get(URL).status_code == 200
