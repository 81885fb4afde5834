"""The reseller's Payment screen: its invoices paid and pending, a boleto or a Pix issued for a pending one once
per form, the CSV and the PDF; an invoice's page lists the payments made on it; accountants read; the client's own
screens say that its reseller pays."""

import re

import pytest

from portal.extensions import db
from portal.models import Invoice, Organisation, Payment
from portal.services.payments import checkout, refunds
from portal.workflows import refunds as refund_flow
from tests import factories
from tests.services.payments.helpers import NOW
from tests.services.payments.offline_helpers import offer_demo_methods

PT = {"Accept-Language": "pt-BR"}


@pytest.fixture
def reseller(app, login_as):
    """A Brazilian reseller paying for a client: one invoice paid, one pending (BRL)."""
    offer_demo_methods()
    org = factories.make_org("reseller", "BR", name="Contabilidade Horizonte Teste Ltda")
    client = factories.make_org("customer", "BR", name="Padaria Cliente Ltda")
    factories.make_subscription(client, payer_id=org.id)
    paid = factories.make_invoice(org, lines=[("Padaria Cliente Ltda — Plano Essencial", 1, 14_155)], tax_rate_bp=0,
                                  status="paid")
    pending = factories.make_invoice(org, lines=[("Padaria Cliente Ltda — Plano Essencial", 1, 14_155)],
                                     tax_rate_bp=0)
    db.session.commit()
    manager = login_as("reseller", "manager", organisation=org)
    return manager, org, client, paid, pending


def test_the_payment_screen_lists_paid_and_pending_invoices_with_boleto_and_pix(reseller):
    manager, _org, _client, paid, pending = reseller
    page = manager.get("/reseller/payment", headers={"Accept-Language": "pt-BR"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert paid.display_number in text and pending.display_number in text
    assert "Gerar boleto" in text and "Gerar Pix" in text and "Minhas faturas" in text
    assert text.count("Gerar boleto") == 1  # only the pending invoice offers it
    csv_text = manager.get("/reseller/payment/invoices.csv", buffered=True).get_data(as_text=True)
    assert paid.display_number in csv_text and pending.display_number in csv_text


def test_generating_a_boleto_issues_one_reference_and_shows_its_line(reseller):
    manager, org, _client, _paid, pending = reseller
    data = {"method": "boleto", "key": "form-1"}
    sent = manager.form_post(f"/reseller/payment/invoices/{pending.id}/reference", data)
    assert sent.status_code == 303
    again = manager.form_post(f"/reseller/payment/invoices/{pending.id}/reference", data)
    assert again.headers["Location"] == sent.headers["Location"]
    payments = list(db.session.scalars(db.select(Payment).where(Payment.invoice_id == pending.id)))
    assert len(payments) == 1 and payments[0].state == "pending" and payments[0].organisation_id == org.id
    shown = manager.get(sent.headers["Location"], headers={"Accept-Language": "pt-BR"}).get_data(as_text=True)
    assert payments[0].instructions["line_printed"] in shown and "<svg" in shown
    listing = manager.get("/reseller/payment", headers={"Accept-Language": "pt-BR"}).get_data(as_text=True)
    assert "Ver o Boleto gerado" in listing


def test_a_paid_invoice_or_a_method_not_offered_issues_nothing(reseller):
    manager, _org, _client, paid, pending = reseller
    assert manager.form_post(f"/reseller/payment/invoices/{paid.id}/reference",
                             {"method": "boleto", "key": "k"}).status_code == 303
    assert manager.form_post(f"/reseller/payment/invoices/{pending.id}/reference",
                             {"method": "oxxo", "key": "k2"}).status_code == 303
    assert manager.form_post(f"/reseller/payment/invoices/{pending.id}/reference",
                             {"method": "", "key": ""}).status_code == 303
    assert db.session.scalar(db.select(db.func.count()).select_from(Payment)) == 0


def test_an_accountant_reads_but_issues_nothing(reseller, login_as):
    _manager, org, _client, _paid, pending = reseller
    accountant = login_as("reseller", "accountant", organisation=db.session.merge(org))
    page = accountant.get("/reseller/payment", headers={"Accept-Language": "pt-BR"}).get_data(as_text=True)
    assert pending.display_number in page and "Gerar boleto" not in page
    assert accountant.form_post(f"/reseller/payment/invoices/{pending.id}/reference",
                                {"method": "boleto", "key": "k"}).status_code == 403
    assert db.session.scalar(db.select(db.func.count()).select_from(Payment)) == 0


def test_another_resellers_invoice_is_not_found(reseller, login_as):
    _manager, _org, _client, _paid, pending = reseller
    other = login_as("reseller", "manager")
    assert other.get(f"/reseller/payment/invoices/{pending.id}").status_code == 404
    assert other.get(f"/reseller/payment/invoices/{pending.id}/pdf").status_code == 404
    assert other.form_post(f"/reseller/payment/invoices/{pending.id}/reference",
                           {"method": "boleto", "key": "k"}).status_code == 404
    assert db.session.get(Invoice, pending.id).status == "open"


def test_the_clients_screens_say_that_its_reseller_pays(reseller, login_as):
    _manager, org, client, _paid, _pending = reseller
    customer = login_as("customer", "admin", organisation=db.session.merge(client))
    for path in ("/customer/account", "/customer/pay"):
        page = customer.get(path, headers={"Accept-Language": "pt-BR"}).get_data(as_text=True)
        assert f"{org.name}, sua revenda, paga" in page, path


def _payment_rows(page_text: str) -> list[str]:
    """The rows of the invoice page's Payments panel, as text (tags dropped, spaces squeezed)."""
    panel = re.search(r'id="invoice-payments-title".*?</section>', page_text, re.S)
    assert panel is not None, "the invoice page has no Payments panel"
    rows = re.findall(r"<tr>(.*?)</tr>", panel.group(0).split("<tbody>")[1], re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).replace("\xa0", " ").split()) for row in rows]


def _received(org_id: int, invoice_id: int, amount: int, key: str) -> Payment:
    """A transfer for the invoice received and recorded by staff, committed."""
    claim = checkout.record_received(db.session.get(Organisation, org_id), db.session.get(Invoice, invoice_id),
                                     amount, "bank_transfer", key, NOW)
    db.session.commit()
    return claim.payment


def test_a_paid_invoice_page_lists_its_payment(reseller):
    manager, org, _client, _paid, pending = reseller
    payment = _received(org.id, pending.id, pending.total, "transfer-1")
    page = manager.get(f"/reseller/payment/invoices/{pending.id}", headers=PT)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Pagar esta fatura" not in text
    [row] = _payment_rows(text)
    # date (09:00 in São Paulo), reference, method, amount, status
    assert row.startswith("02/12/2026") and payment.reference in row and "Transferência bancária" in row
    assert "R$ 141,55" in row and row.endswith("Pago")


def test_an_open_invoice_page_lists_its_issued_boleto_as_awaiting_payment(reseller):
    manager, _org, _client, _paid, pending = reseller
    issued = manager.form_post(f"/reseller/payment/invoices/{pending.id}/reference",
                               {"method": "boleto", "key": "form-1"})
    assert issued.status_code == 303
    boleto = db.session.scalar(db.select(Payment).where(Payment.invoice_id == pending.id))
    text = manager.get(f"/reseller/payment/invoices/{pending.id}", headers=PT).get_data(as_text=True)
    [row] = _payment_rows(text)
    assert boleto.reference in row and "Boleto" in row and "R$ 141,55" in row and row.endswith("Aguardando pagamento")
    assert f'href="/reseller/payment/references/{boleto.id}"><code>{boleto.reference}</code>' in text
    assert "Ver o Boleto gerado" in text  # still to pay: the reference offered above as well


def test_an_invoice_without_payments_has_no_payments_panel(reseller):
    manager, _org, _client, paid, _pending = reseller
    text = manager.get(f"/reseller/payment/invoices/{paid.id}", headers=PT).get_data(as_text=True)
    assert paid.display_number in text and "invoice-payments-title" not in text


def test_the_invoice_page_sends_as_many_statements_for_one_payment_as_for_many(reseller, count_queries):
    manager, org, _client, _paid, pending = reseller
    other = factories.make_invoice(db.session.merge(org), lines=[("Padaria Cliente Ltda — Plano Essencial", 1,
                                                                   14_155)], tax_rate_bp=0)
    db.session.commit()
    _received(org.id, pending.id, 1_000, "one")
    first = _received(org.id, other.id, 3_000, "many-1")
    for n in range(2, 6):
        _received(org.id, other.id, 1_000 + n, f"many-{n}")
    refund_flow.refund(lambda: refunds.claim_refund(db.session.get(Payment, first.id), 500, "wallet", "back-1",
                                                    NOW, reason="asked"), NOW)
    assert manager.form_post(f"/reseller/payment/invoices/{other.id}/reference",
                             {"method": "boleto", "key": "rest"}).status_code == 303

    def counted(invoice_id: int) -> tuple[int, int]:
        path = f"/reseller/payment/invoices/{invoice_id}"
        manager.get(path, headers=PT)  # caches warm, as a second visit
        with count_queries() as counter:
            text = manager.get(path, headers=PT).get_data(as_text=True)
        return counter["n"], len(_payment_rows(text))

    (few, one_row), (lots, many_rows) = counted(pending.id), counted(other.id)
    assert (one_row, many_rows) == (1, 7)  # five transfers, the boleto, the refund
    assert few == lots
