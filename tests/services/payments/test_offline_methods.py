"""The offline methods as gateways: each issues a reference with its instructions, paid when confirmed."""


from datetime import timedelta

import pytest

from portal.extensions import db
from portal.models import Invoice, OutboxMessage, Payment
from portal.orm import utcnow
from portal.services.billing import credit_notes
from portal.services.payments import gateway as gateways
from portal.services.payments import webhooks
from portal.services.payments.offline import bank_transfer, boleto, documents, pix
from tests import factories
from tests.services.payments.helpers import NOW, webhook
from tests.services.payments.offline_helpers import brazilian_customer, issue, offer_demo_methods


@pytest.fixture
def brazil(app):
    offer_demo_methods()
    return brazilian_customer()


def test_pix_issues_a_code_for_the_amount_owed_with_the_payments_reference(brazil):
    org, invoice = brazil
    payment = issue(org.id, invoice.id, "pix", "pix-1")
    assert payment.state == "pending" and payment.gateway == "pix"
    code = payment.instructions["code"]
    fields = pix.parse(code)  # the CRC checks
    assert fields["54"] == "141.55" and fields["53"] == "986"
    assert pix.account_fields(code)["01"] == "pix@vitrine.com.br"
    assert pix.txid(code) == payment.reference.replace("-", "") == payment.payer_reference
    # A pending reference reserves nothing: the invoice still owes it all until the money arrives.
    assert credit_notes.amount_due(db.session.get(Invoice, invoice.id)) == invoice.total


def test_boleto_issues_a_valid_barcode_and_line_for_the_invoice(brazil):
    org, invoice = brazil
    payment = issue(org.id, invoice.id, "boleto", "boleto-1")
    data = payment.instructions
    assert payment.state == "pending"
    assert boleto.barcode_from_line(data["line"]) == data["barcode"] == payment.payer_reference
    assert boleto.amount_cents(data["barcode"]) == invoice.total
    assert data["barcode"][:3] == "001" and data["barcode"][19:25] == "000000"
    assert data["barcode"][25:32] == "1234567" and data["barcode"][-2:] == "17"  # agreement and wallet
    assert int(data["barcode"][32:42]) == payment.id  # the payment's number in the free field
    due = boleto.due_date(int(data["barcode"][5:9]), around=invoice.due_at.date())
    assert due.isoformat() == data["due"] == invoice.due_at.date().isoformat()


def test_a_transfer_gets_a_creditor_reference_that_names_the_payment(app):
    offer_demo_methods()
    member = factories.make_member("customer", "admin")
    invoice = factories.make_invoice(member.organisation)
    db.session.commit()
    payment = issue(member.organisation.id, invoice.id, "bank_transfer", "bt-1")
    data = payment.instructions
    assert bank_transfer.is_valid(data["reference"]) and data["reference"] == payment.payer_reference
    assert data["reference"].endswith(str(payment.id))
    assert data["bank"] == "Banco de Chile" and data["amount"] == invoice.total


def test_oxxo_is_offered_in_mexican_pesos_only(app):
    offer_demo_methods()
    member = factories.make_member("customer", "admin", organisation=factories.make_org("customer", "MX"))
    invoice = factories.make_invoice(member.organisation, lines=[("Plan", 1, 89_900)])
    db.session.commit()
    payment = issue(member.organisation.id, invoice.id, "oxxo", "oxxo-1")
    assert payment.state == "pending" and len(payment.payer_reference) == 14
    # The processor dates its voucher by its own clock, not the portal's `now`.
    assert payment.expires_at is not None and timedelta(0) < payment.expires_at - utcnow() <= timedelta(days=7)


def test_a_method_not_offered_in_the_payers_country_fails_cleanly(app):
    offer_demo_methods()
    member = factories.make_member("customer", "admin")  # Chile: no Pix there
    invoice = factories.make_invoice(member.organisation)
    db.session.commit()
    payment = issue(member.organisation.id, invoice.id, "pix", "pix-cl")
    assert payment.state == "failed" and payment.failure_code == "method_not_offered"
    assert db.session.get(Invoice, invoice.id).status == "open"


def test_issuing_a_reference_emails_the_instructions_and_redraws_the_pdf(brazil):
    org, invoice = brazil
    payment = issue(org.id, invoice.id, "boleto", "boleto-mail")
    mail = db.session.scalar(db.select(OutboxMessage).where(OutboxMessage.template == "payment_instructions"))
    assert mail is not None and payment.instructions["line_printed"] in mail.text_body
    assert invoice.display_number in mail.subject
    assert [p.id for p in documents.pending_for_invoice(invoice.id)] == [payment.id]


def test_the_sandbox_bank_webhook_pays_a_pix_reference_once(brazil):
    org, invoice = brazil
    payment = issue(org.id, invoice.id, "pix", "pix-hook")
    data = {"charge": payment.payer_reference, "reference": payment.reference, "amount": payment.amount,
            "currency": "BRL"}
    headers, body = webhook("charge.succeeded", data, event_id="evt_pix_1")
    now = NOW
    first = webhooks.receive("pix", headers, body, now)
    db.session.commit()
    again = webhooks.receive("pix", headers, body, now)
    db.session.commit()
    assert (first.status, again.status) == (200, 409)
    assert db.session.get(Payment, payment.id).state == "succeeded"
    assert db.session.get(Invoice, invoice.id).status == "paid"


def test_a_webhook_for_another_amount_changes_nothing(brazil):
    org, invoice = brazil
    payment = issue(org.id, invoice.id, "pix", "pix-wrong")
    headers, body = webhook("charge.succeeded", {"reference": payment.reference, "amount": 1, "currency": "BRL"})
    received = webhooks.receive("pix", headers, body, NOW)
    db.session.commit()
    assert received.status == 422 and db.session.get(Payment, payment.id).state == "pending"


def test_every_offline_gateway_is_registered_for_its_kind(app):
    for kind in ("bank_transfer", "boleto", "pix", "oxxo"):
        assert gateways.for_kind(kind).code == kind


def test_the_invoice_pdf_is_redrawn_with_the_boleto_and_the_pix_code(brazil):
    import io

    from pypdf import PdfReader

    from portal.models import InvoicePdf

    org, invoice = brazil
    boleto_payment = issue(org.id, invoice.id, "boleto", "pdf-boleto")
    pix_payment = issue(org.id, invoice.id, "pix", "pdf-pix")
    db.session.expire_all()
    stored = db.session.get(InvoicePdf, invoice.id)  # dropped and drawn again after each reference
    assert stored is not None
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(stored.content)).pages)
    compact = "".join(text.split())
    assert "".join(boleto_payment.instructions["line_printed"].split()) in compact
    assert pix_payment.instructions["txid"] in compact and "Linhadigitável" in compact
