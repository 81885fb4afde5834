"""The back office's payments: an organisation's payments and wallet (pages, CSV), a refund confirmed before it is
made, money received recorded against an invoice, a wallet adjustment with its reason — bad input refused with
a translated message and nothing written."""

import pytest

from portal.extensions import db
from portal.models import AuditEvent, Invoice, Payment, Refund, WalletEntry
from portal.services.billing import credit_notes
from portal.services.payments import wallet
from tests import factories
from tests.services.payments.helpers import make_card, pay_by_card


@pytest.fixture
def paid(app):
    member = factories.make_member("customer", "admin")
    org = member.organisation
    invoice = factories.make_invoice(org)
    card = make_card(org)
    db.session.commit()
    payment = pay_by_card(org.id, invoice.id, invoice.total, card.id, "pay-1")
    return org, invoice, payment


@pytest.fixture
def staff(login_as):
    def log_in(role="billing"):
        client = login_as("vendor", role)
        db.session.commit()
        return client

    return log_in


def _refund(client, payment, amount: str, destination="method", key="k-1", confirmed="1", lang="es"):
    return client.form_post(f"/backoffice/payments/{payment.id}/refund",
                            {"idempotency_key": key, "amount": amount, "destination": destination,
                             "confirmed": confirmed, "reason": "pedido del cliente"},
                            headers={"Accept-Language": lang})


def test_a_refund_is_confirmed_then_made_and_shown_to_staff_and_customer(app, paid, staff, login_as):
    org, invoice, payment = paid
    client = staff()
    form = client.get(f"/backoffice/payments/{payment.id}/refund", headers={"Accept-Language": "es"})
    assert form.status_code == 200 and "Reembolsar" in form.get_data(as_text=True)
    asked = _refund(client, payment, "10.000", confirmed="")
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Confirmar el reembolso" in page
    assert db.session.scalar(db.select(db.func.count()).select_from(Refund)) == 0  # nothing yet
    done = _refund(client, payment, "10.000")
    assert done.status_code == 303
    again = _refund(client, payment, "10.000")  # the same form sent twice
    assert again.status_code == 303
    refund = db.session.scalar(db.select(Refund))
    assert db.session.scalar(db.select(db.func.count()).select_from(Refund)) == 1
    assert refund.amount == 10_000 and refund.state == "succeeded" and refund.destination == "method"
    listing = client.get(f"/backoffice/organisations/{org.id}/payments", headers={"Accept-Language": "es"})
    assert refund.reference in listing.get_data(as_text=True)
    csv_text = client.get(f"/backoffice/organisations/{org.id}/payments.csv").get_data(as_text=True)
    assert payment.reference in csv_text and "10000" in csv_text
    admin = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "payment_refunded"))
    assert admin is not None and admin.actor_id == client.user.id


def test_the_customer_reads_the_refund_on_its_history_receipt_and_invoice(app, paid, staff, login_as):
    org, invoice, payment = paid
    _refund(staff(), payment, "10.000")
    refund = db.session.scalar(db.select(Refund))
    customer = login_as("customer", "member", organisation=db.session.merge(org))
    history = customer.get("/customer/payments", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Reembolsado" in history
    receipt = customer.get(f"/customer/payments/{payment.id}", headers={"Accept-Language": "es"})
    assert refund.reference in receipt.get_data(as_text=True)
    page = customer.get(f"/customer/invoices/{invoice.id}", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert refund.reference in page


@pytest.mark.parametrize("amount", ["0", "-5", "abc", "999.999.999"])
def test_a_bad_refund_amount_is_refused_with_a_message_and_writes_nothing(paid, staff, amount):
    _org, _invoice, payment = paid
    response = _refund(staff(), payment, amount, confirmed="")
    assert response.status_code == 422
    assert 'role="alert"' in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Refund)) == 0


def test_more_than_was_paid_or_a_refunded_payment_is_refused(paid, staff):
    _org, _invoice, payment = paid
    client = staff()
    over = _refund(client, payment, str(payment.amount + 1), lang="en")
    assert over.status_code == 422 and "more than was paid" in over.get_data(as_text=True)
    assert _refund(client, payment, str(payment.amount), key="all").status_code == 303
    again = _refund(client, payment, "1", key="more", lang="en")
    assert again.status_code == 409 and "already refunded" in again.get_data(as_text=True)
    assert db.session.get(Payment, payment.id).refunded_amount == payment.amount


def test_an_advisor_reads_but_cannot_refund_record_or_adjust(paid, staff):
    org, _invoice, payment = paid
    client = staff("advisor")
    assert client.get(f"/backoffice/organisations/{org.id}/payments").status_code == 200
    assert _refund(client, payment, "1.000").status_code == 403
    assert client.form_post(f"/backoffice/organisations/{org.id}/wallet/adjust",
                            {"idempotency_key": "a", "direction": "add", "amount": "1000",
                             "reason": "x"}).status_code == 403
    assert db.session.scalar(db.select(db.func.count()).select_from(Refund)) == 0


def test_staff_record_a_transfer_received_against_a_pending_invoice(app, staff):
    member = factories.make_member("customer", "admin")
    org = member.organisation
    invoice = factories.make_invoice(org)
    db.session.commit()
    client = staff()
    page = client.get(f"/backoffice/organisations/{org.id}/payments", headers={"Accept-Language": "pt-BR"})
    assert "Registrar um pagamento recebido" in page.get_data(as_text=True)
    data = {"idempotency_key": "rec-1", "invoice": str(invoice.id), "method": "bank_transfer",
            "reference": "TRF 88812", "amount": str(invoice.total), "received_on": "2026-12-01"}
    sent = client.form_post(f"/backoffice/organisations/{org.id}/payments/record", data)
    assert sent.status_code == 303
    assert client.form_post(f"/backoffice/organisations/{org.id}/payments/record", data).status_code == 303
    payments = list(db.session.scalars(db.select(Payment).where(Payment.invoice_id == invoice.id)))
    assert len(payments) == 1 and payments[0].payer_reference == "TRF 88812"
    assert payments[0].state == "succeeded" and payments[0].created_by_id == client.user.id
    assert db.session.get(Invoice, invoice.id).status == "paid"


@pytest.mark.parametrize("field,value", [("amount", "0"), ("amount", "-100"), ("amount", "99999999"),
                                         ("received_on", "2099-01-01"), ("invoice", "999999")])
def test_a_bad_payment_received_is_refused_and_writes_nothing(app, staff, field, value):
    member = factories.make_member("customer", "admin")
    org = member.organisation
    invoice = factories.make_invoice(org)
    db.session.commit()
    data = {"idempotency_key": "rec-1", "invoice": str(invoice.id), "method": "bank_transfer",
            "amount": "10000", "received_on": "2026-12-01", field: value}
    sent = staff().form_post(f"/backoffice/organisations/{org.id}/payments/record", data,
                             headers={"Accept-Language": "es"})
    assert sent.status_code == 422
    assert db.session.scalar(db.select(db.func.count()).select_from(Payment)) == 0
    assert credit_notes.amount_due(db.session.get(Invoice, invoice.id)) == invoice.total


def test_a_wallet_adjustment_has_a_reason_is_done_once_and_never_goes_below_zero(app, staff):
    org = factories.make_member("customer", "admin").organisation
    db.session.commit()
    client = staff()
    url = f"/backoffice/organisations/{org.id}/wallet/adjust"
    data = {"idempotency_key": "adj-1", "direction": "add", "amount": "5.000", "reason": "compensación"}
    assert client.form_post(url, data, headers={"Accept-Language": "es"}).status_code == 303
    assert client.form_post(url, data, headers={"Accept-Language": "es"}).status_code == 303
    assert wallet.balance(org.id, "CLP") == 5_000
    below = client.form_post(url, {"idempotency_key": "adj-2", "direction": "take", "amount": "5001",
                                   "reason": "error"}, headers={"Accept-Language": "en"})
    assert below.status_code == 422 and "not enough" in below.get_data(as_text=True)
    no_reason = client.form_post(url, {"idempotency_key": "adj-3", "direction": "add", "amount": "100",
                                       "reason": " "})
    assert no_reason.status_code == 422
    for amount, message in (("0", "Ingresa un monto distinto de cero."), ("cinco", "Escribe el monto como número")):
        refused = client.form_post(url, {"idempotency_key": f"adj-{amount}", "direction": "add", "amount": amount,
                                         "reason": "error"}, headers={"Accept-Language": "es"})
        assert refused.status_code == 422 and message in refused.get_data(as_text=True), amount
    assert db.session.scalar(db.select(db.func.count()).select_from(WalletEntry)) == 1
    movements = client.get(f"/backoffice/organisations/{org.id}/wallet", headers={"Accept-Language": "es"})
    assert "compensación" in movements.get_data(as_text=True)
    assert "compensación" in client.get(f"/backoffice/organisations/{org.id}/wallet.csv").get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "wallet_adjusted")) == 1


def test_a_vendor_organisation_has_no_payments_page(staff):
    client = staff()
    assert client.get(f"/backoffice/organisations/{client.organisation.id}/payments").status_code == 404
    assert client.get("/backoffice/organisations/999999/payments").status_code == 404
