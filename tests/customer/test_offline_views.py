"""A customer pays an invoice offline: chooses the method on the invoice page, reads the instructions."""

import pytest

from portal.extensions import db
from portal.models import Invoice, Payment, WebhookEvent
from portal.services.payments.offline import pix
from tests import factories
from tests.services.payments.offline_helpers import offer_demo_methods


@pytest.fixture
def brazilian(login_as):
    offer_demo_methods()
    client = login_as("customer", "admin", organisation=factories.make_org("customer", "BR"))
    invoice = factories.make_invoice(client.organisation, lines=[("Plano Essencial mensal", 1, 14_155)],
                                     tax_rate_bp=0)
    db.session.commit()
    client.invoice_id = invoice.id
    return client


def _pay(client, method: str, key: str = "key-1"):
    return client.form_post(f"/customer/invoices/{client.invoice_id}/pay-offline", {"method": method, "key": key})


def test_the_invoice_page_offers_boleto_and_pix_to_a_brazilian_customer(brazilian):
    page = brazilian.get(f"/customer/invoices/{brazilian.invoice_id}", headers={"Accept-Language": "pt-BR"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'value="pix"' in text and 'value="boleto"' in text and 'value="oxxo"' not in text


def test_choosing_pix_shows_the_code_its_qr_and_a_copy_button(brazilian):
    response = _pay(brazilian, "pix")
    assert response.status_code == 303
    payment = db.session.scalar(db.select(Payment))
    assert response.headers["Location"].endswith(f"/customer/payments/{payment.id}/instructions")
    page = brazilian.get(response.headers["Location"])
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert pix.parse(payment.instructions["code"])["54"] == "141.55"
    assert payment.instructions["code"] in text and "<svg" in text and "data-copy=" in text


def test_choosing_boleto_shows_the_typeable_line_and_the_barcode(brazilian):
    location = _pay(brazilian, "boleto").headers["Location"]
    payment = db.session.scalar(db.select(Payment))
    text = brazilian.get(location).get_data(as_text=True)
    assert payment.instructions["line_printed"] in text and 'class="barcode"' in text


def test_a_double_click_issues_one_reference_and_a_second_request_gives_the_same_one(brazilian):
    first = _pay(brazilian, "boleto", key="same")
    again = _pay(brazilian, "boleto", key="same")
    other_key = _pay(brazilian, "boleto", key="another")
    assert first.headers["Location"] == again.headers["Location"] == other_key.headers["Location"]
    assert db.session.scalar(db.select(db.func.count()).select_from(Payment)) == 1


def test_a_method_not_offered_is_refused_with_nothing_written(brazilian):
    response = _pay(brazilian, "oxxo")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/customer/invoices/{brazilian.invoice_id}")
    assert db.session.scalar(db.select(db.func.count()).select_from(Payment)) == 0


def test_a_paid_invoice_offers_nothing_to_pay(brazilian):
    db.session.get(Invoice, brazilian.invoice_id).status = "paid"
    db.session.commit()
    assert b"pay-offline" not in brazilian.get(f"/customer/invoices/{brazilian.invoice_id}").data
    assert _pay(brazilian, "pix").status_code == 303
    assert db.session.scalar(db.select(db.func.count()).select_from(Payment)) == 0


def test_the_sandbox_bank_pays_the_code_by_a_signed_webhook_and_the_invoice_reads_paid(brazilian, client):
    _pay(brazilian, "pix")
    payment = db.session.scalar(db.select(Payment))
    code = payment.instructions["code"]
    page = client.get("/sandbox-bank/", query_string={"code": code})
    assert page.status_code == 200 and code in page.get_data(as_text=True)
    paid = client.form_post("/sandbox-bank/", {"code": code})  # its webhook is delivered at once in tests
    assert paid.status_code == 303
    db.session.expire_all()
    event = db.session.scalar(db.select(WebhookEvent).where(WebhookEvent.gateway == "pix"))
    assert event.verified and event.outcome == "processed" and event.payment_id == payment.id
    assert db.session.get(Payment, payment.id).state == "succeeded"
    assert db.session.get(Invoice, brazilian.invoice_id).status == "paid"
    again = client.form_post("/sandbox-bank/", {"code": code})
    assert again.status_code == 409


def test_the_sandbox_bank_refuses_a_code_it_did_not_issue(client):
    response = client.form_post("/sandbox-bank/", {"code": "00020126580014br.gov.bcb.pix"})
    assert response.status_code == 404


def test_another_customers_instructions_are_not_found(brazilian, login_as):
    _pay(brazilian, "pix")
    payment = db.session.scalar(db.select(Payment))
    stranger = login_as("customer", "admin", organisation=factories.make_org("customer", "BR"))
    assert stranger.get(f"/customer/payments/{payment.id}/instructions").status_code == 404


def test_a_boleto_waiting_on_an_invoice_paid_by_card_says_it_is_no_longer_needed(brazilian):
    from tests.services.payments.helpers import make_card, pay_by_card

    location = _pay(brazilian, "boleto").headers["Location"]
    card = make_card(db.session.merge(brazilian.organisation))
    db.session.commit()
    invoice = db.session.get(Invoice, brazilian.invoice_id)
    assert pay_by_card(brazilian.organisation.id, invoice.id, invoice.total, card.id, "card-1").state == "succeeded"
    db.session.commit()
    text = brazilian.get(location, headers={"Accept-Language": "pt-BR"}).get_data(as_text=True)
    assert f"A fatura {invoice.display_number} foi paga de outra forma" in text
    assert "Aguardando pagamento" not in text and 'class="barcode"' in text  # still shown, for the record
    history = brazilian.get("/customer/payments", headers={"Accept-Language": "pt-BR"}).get_data(as_text=True)
    assert "Não é mais necessário: a fatura foi paga de outra forma." in history
