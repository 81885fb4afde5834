"""A blocked customer: a banner on every page, its billing screens open, everything else refused with a page
that says why; its integration key answers 402 (unpaid) or 403 (blocked by hand)."""

import pytest

from portal.extensions import db
from portal.orm import utcnow
from portal.services.accounts import blocking
from tests import factories


def _block(client, reason: str):
    blocking.block(db.session.merge(client.organisation), reason, utcnow())
    db.session.commit()


@pytest.mark.parametrize("path", ["/customer/pay", "/customer/payments", "/customer/payment-methods",
                                  "/customer/wallet", "/customer/invoices", "/customer/invoices.csv",
                                  "/customer/payments.csv", "/customer/advisor/requests",
                                  "/customer/advisor/requests/new"])
def test_a_blocked_account_opens_its_billing_screens_with_the_banner(login_as, path):
    client = login_as("customer", "admin")
    _block(client, "unpaid")
    response = client.get(path, headers={"Accept-Language": "es"}, buffered=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    if response.mimetype == "text/html":
        assert 'id="blocked-banner"' in page and "Cuenta bloqueada" in page


def test_a_blocked_accounts_invoice_and_its_pdf_open(login_as):
    client = login_as("customer", "admin")
    invoice = factories.make_invoice(db.session.merge(client.organisation))
    db.session.commit()
    _block(client, "unpaid")
    assert client.get(f"/customer/invoices/{invoice.id}").status_code == 200
    assert client.get(f"/customer/invoices/{invoice.id}/pdf").status_code == 200


def test_a_blocked_accounts_home_sends_it_to_pay(login_as):
    client = login_as("customer", "admin")
    _block(client, "unpaid")
    response = client.get("/customer/")
    assert response.status_code == 303 and response.headers["Location"] == "/customer/pay"


@pytest.mark.parametrize("reason, language, words", [
    ("unpaid", "es", "un saldo está vencido"),
    ("reseller", "pt-BR", "Seu revendedor bloqueou"),
    ("staff", "en", "Your account is blocked"),
])
@pytest.mark.parametrize("path", ["/customer/store", "/customer/account", "/customer/integration",
                                  "/customer/account/plans", "/customer/cart"])
def test_everything_else_is_refused_with_a_translated_page_that_says_why(login_as, reason, language, words, path):
    client = login_as("customer", "admin")
    _block(client, reason)
    response = client.get(path, headers={"Accept-Language": language})
    assert response.status_code == 403
    assert words in response.get_data(as_text=True)


def test_a_blocked_account_cannot_post_outside_billing_and_nothing_is_written(login_as):
    from portal.models import CartLine

    client = login_as("customer", "admin")
    _block(client, "unpaid")
    assert client.form_post("/customer/cart", {"price_id": "1", "quantity": "1"}).status_code == 403
    assert db.session.scalar(db.select(db.func.count(CartLine.id))) == 0


def test_members_of_a_blocked_account_see_the_banner_and_an_active_account_does_not(login_as):
    client = login_as("customer", "member")
    page = client.get("/customer/invoices", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'id="blocked-banner"' not in page
    _block(client, "reseller")
    page = client.get("/customer/invoices", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'id="blocked-banner"' in page and "Your reseller has blocked your account" in page


def test_unblocking_opens_everything_again(login_as):
    client = login_as("customer", "admin")
    _block(client, "staff")
    assert client.get("/customer/store").status_code == 403
    blocking.unblock(db.session.merge(client.organisation), utcnow())
    db.session.commit()
    assert client.get("/customer/store").status_code == 200
    assert client.get("/customer/").status_code == 200
