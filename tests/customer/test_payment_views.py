"""The customer's payment screens: pay online, the history and its CSV, receipts, cards and the wallet."""

import re
from urllib.parse import urlsplit

import pytest

from portal.extensions import db
from portal.models import Invoice, Payment, PaymentMethod, WalletEntry
from portal.services.payments import wallet
from tests import factories
from tests.services.payments.helpers import NOW, make_card


@pytest.fixture
def admin(login_as):
    client = login_as("customer", "admin", locale="es")
    client.invoice = factories.make_invoice(client.organisation)
    client.card = make_card(client.organisation)
    db.session.commit()
    return client


def _key(page: str) -> str:
    return re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', page).group(1)


def _pay(client, amount: str, method: str | None = None, key: str | None = None, invoice=None):
    invoice = invoice or client.invoice
    page = client.get(f"/customer/pay?invoice={invoice.id}").get_data(as_text=True)
    return client.form_post("/customer/pay", {
        "idempotency_key": key or _key(page), "invoice": str(invoice.id), f"amount-{invoice.id}": amount,
        "method": method or f"card:{client.card.id}"})


def test_the_pay_page_lists_what_is_owed_and_the_ways_to_pay(admin):
    page = admin.get("/customer/pay").get_data(as_text=True)
    assert "Pagar en línea" in page and admin.invoice.display_number in page
    assert "$47.564" in page and 'value="47564"' in page
    assert "Tarjeta Visa terminada en 4242" in page


def test_paying_by_card_pays_the_invoice_and_the_history_says_so(admin):
    response = _pay(admin, "47564")
    assert response.status_code == 303 and response.headers["Location"].endswith("/customer/payments")
    history = admin.get("/customer/payments").get_data(as_text=True)
    assert "Recibimos el pago de $47.564" in history and "Pagado" in history and "Visa •••• 4242" in history
    assert db.session.get(Invoice, admin.invoice.id).status == "paid"
    invoice_page = admin.get(f"/customer/invoices/{admin.invoice.id}").get_data(as_text=True)
    assert "Pagada" in invoice_page and "PAY-" in invoice_page and "Pagar $" not in invoice_page


def test_the_same_form_sent_twice_pays_once(admin):
    page = admin.get("/customer/pay").get_data(as_text=True)
    key = _key(page)
    assert _pay(admin, "10000", key=key).status_code == 303
    assert _pay(admin, "10000", key=key).status_code == 303
    assert db.session.scalar(db.select(db.func.count(Payment.id))) == 1


def test_a_partial_payment_leaves_the_rest_to_pay(admin):
    _pay(admin, "10.000")
    page = admin.get(f"/customer/invoices/{admin.invoice.id}").get_data(as_text=True)
    assert "Pagar $37.564" in page


@pytest.mark.parametrize("amount, message", [
    ("50000", "Es más de lo que queda por pagar"),
    ("0", "mayor que cero"),
    ("-5", "no puede ser negativo"),
    ("doce mil", "Escribe el monto como número"),
])
def test_a_bad_amount_is_explained_and_nothing_is_paid(admin, amount, message):
    response = _pay(admin, amount)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Payment.id))) == 0


def test_a_declined_card_says_why(admin):
    declined = make_card(admin.organisation, "declined", last4="0002", auto_pay=False)
    db.session.commit()
    response = _pay(admin, "47564", method=f"card:{declined.id}")
    history = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "no se realizó: la tarjeta fue rechazada" in history and "Rechazado" in history
    assert db.session.get(Invoice, admin.invoice.id).status == "open"


def test_another_organisations_invoice_cannot_be_paid(admin):
    theirs = factories.make_invoice(factories.make_org("customer"))
    db.session.commit()
    page = admin.get("/customer/pay").get_data(as_text=True)
    response = admin.form_post("/customer/pay", {"idempotency_key": _key(page), "invoice": str(theirs.id),
                                                 f"amount-{theirs.id}": "100", "method": f"card:{admin.card.id}"})
    assert response.status_code == 404
    assert db.session.scalar(db.select(db.func.count(Payment.id))) == 0


def test_paying_from_the_wallet(admin):
    wallet.add_entry(admin.organisation, "top_up", 50_000, NOW)
    db.session.commit()
    page = admin.get("/customer/pay").get_data(as_text=True)
    assert "Saldo de la billetera ($50.000 disponibles)" in page
    assert _pay(admin, "47564", method="wallet").status_code == 303
    assert wallet.balance(admin.organisation.id, "CLP") == 50_000 - 47_564
    assert "Pago de factura" in admin.get("/customer/wallet").get_data(as_text=True)


def test_the_history_as_csv(admin):
    _pay(admin, "47564")
    response = admin.get("/customer/payments.csv", buffered=True)
    text = response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    assert "Fecha,Referencia,Medio de pago" in text and ",47564,CLP," in text


def test_a_receipt(admin):
    _pay(admin, "47564")
    payment = db.session.scalar(db.select(Payment))
    page = admin.get(f"/customer/payments/{payment.id}").get_data(as_text=True)
    assert payment.reference in page and "Comprobante" in page and "$47.564" in page


def test_adding_a_card_on_the_gateways_page(admin):
    to_gateway = admin.form_post("/customer/payment-methods/new")
    assert to_gateway.status_code == 303
    gateway_url = to_gateway.headers["Location"]
    assert urlsplit(gateway_url).path == "/sandbox-gateway/capture"
    back = admin.form_post(gateway_url, {"number": "5555 5555 5555 4444", "expiry": "08/31", "cvc": "321",
                                         "holder": "Rosa Pérez"})
    assert back.status_code == 303 and urlsplit(back.headers["Location"]).path == "/customer/payment-methods/added"
    confirm = admin.get(back.headers["Location"])
    page = confirm.get_data(as_text=True)
    assert "Mastercard •••• 4444" in page and "5555555555554444" not in page
    result = re.search(r'name="result" type="hidden" value="([^"]+)"', page).group(1)
    saved = admin.form_post("/customer/payment-methods/added", {"result": result})
    assert saved.status_code == 303
    listing = admin.get("/customer/payment-methods").get_data(as_text=True)
    assert "Mastercard •••• 4444" in listing and "08/2031" in listing
    admin.form_post("/customer/payment-methods/added", {"result": result})  # the confirmation sent again
    assert db.session.scalar(db.select(db.func.count(PaymentMethod.id))) == 2


def test_a_card_captured_for_another_organisation_is_refused(admin, login_as):
    other = login_as("customer", "admin")
    to_gateway = other.form_post("/customer/payment-methods/new")
    back = other.form_post(to_gateway.headers["Location"], {"number": "4242424242424242", "expiry": "08/31",
                                                             "cvc": "321", "holder": "X"})
    assert admin.get(back.headers["Location"]).status_code == 404


def test_choosing_the_auto_pay_card_and_removing_one(admin):
    second = make_card(admin.organisation, last4="1881", auto_pay=False)
    db.session.commit()
    admin.form_post(f"/customer/payment-methods/{second.id}/auto-pay")
    db.session.expire_all()
    assert db.session.get(PaymentMethod, second.id).auto_pay
    assert not db.session.get(PaymentMethod, admin.card.id).auto_pay
    admin.form_post(f"/customer/payment-methods/{second.id}/remove")
    db.session.expire_all()
    assert db.session.get(PaymentMethod, second.id).state == "removed"
    page = admin.get("/customer/payment-methods").get_data(as_text=True)
    assert "•••• 1881" not in page.split("<h1>")[1]
    assert "Tarjeta Visa terminada en 1881" not in admin.get("/customer/pay").get_data(as_text=True)


def test_adding_funds_to_the_wallet_by_card(admin):
    page = admin.get("/customer/wallet").get_data(as_text=True)
    response = admin.form_post("/customer/wallet", {"idempotency_key": _key(page), "amount": "20.000",
                                                    "method": str(admin.card.id)})
    assert response.status_code == 303
    page = admin.get("/customer/wallet").get_data(as_text=True)
    assert "Se agregaron $20.000 a tu billetera" in page and "Fondos agregados" in page
    assert wallet.balance(admin.organisation.id, "CLP") == 20_000


def test_a_negative_top_up_is_refused(admin):
    page = admin.get("/customer/wallet").get_data(as_text=True)
    response = admin.form_post("/customer/wallet", {"idempotency_key": _key(page), "amount": "-100",
                                                    "method": str(admin.card.id)})
    assert response.status_code == 422 and "no puede ser negativo" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(WalletEntry.id))) == 0


def test_a_member_pays_but_does_not_manage_cards(login_as):
    member = login_as("customer", "member")
    assert member.get("/customer/pay").status_code == 200
    assert member.get("/customer/payment-methods").status_code == 403


