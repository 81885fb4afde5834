"""The reseller's consolidated monthly invoice on its screens (pt_BR): the month in preparation with a line per
client, then the issued invoice with its lines, its page, "Gerar boleto"; the clients' own screens say that
their reseller pays and list nothing to pay."""

import pytest

from portal.extensions import db
from portal.models import Invoice, Payment
from portal.workflows.billing_run import run_sweep
from tests.reseller.helpers import MARCH_2, consolidated_office, logged_in

PT = {"Accept-Language": "pt-BR"}


@pytest.fixture
def office(app, login_as):
    """A Brazilian reseller paying for two clients whose February renewals are on its draft of the month."""
    reseller, clients, _draft = consolidated_office("pt_BR", "BR", "Contabilidade Horizonte Ltda",
                                                    ("Padaria Pão Dourado Ltda", "Oficina Mecânica Sul Ltda"))
    manager = logged_in(login_as, "reseller", "manager", organisation=reseller, locale="pt_BR")
    return manager, reseller, clients


def _consolidated(reseller) -> Invoice:
    return db.session.scalar(db.select(Invoice).where(Invoice.organisation_id == reseller.id,
                                                      Invoice.period_key.like("reseller:%")))


def test_the_payment_screen_shows_the_month_so_far_with_a_line_per_client(office):
    manager, _reseller, clients = office
    text = manager.get("/reseller/payment", headers=PT).get_data(as_text=True)
    assert "Este mês até agora" in text and "Total até agora" in text
    for client in clients:
        assert f"{client.name} (CNPJ " in text
    assert "R$\xa031,45" in text  # R$ 59,90 at 50 % off with Brazil's 5 % ISS, per client: R$ 29,95 + 1,50
    assert "R$\xa062,90" in text  # the two together


def test_after_the_month_the_invoice_lists_its_clients_and_offers_a_boleto(office):
    manager, reseller, clients = office
    run_sweep(MARCH_2, render_pdfs=False)
    invoice = _consolidated(reseller)
    assert invoice.status == "open"
    text = manager.get("/reseller/payment", headers=PT).get_data(as_text=True)
    assert "Este mês até agora" not in text
    assert invoice.display_number in text and "2 clientes" in text
    assert all(client.name in text for client in clients)
    page = manager.get(f"/reseller/payment/invoices/{invoice.id}", headers=PT)
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f"Fatura {invoice.display_number}" in body and "Gerar boleto" in body and "Gerar Pix" in body
    assert all(f"{client.name} (CNPJ " in body for client in clients)
    issued = manager.form_post(f"/reseller/payment/invoices/{invoice.id}/reference",
                               {"method": "boleto", "key": "consolidated-1"})
    assert issued.status_code in (302, 303)
    payment = db.session.scalar(db.select(Payment).where(Payment.invoice_id == invoice.id))
    assert payment.method_kind == "boleto" and payment.amount == invoice.total == 6_290


def test_an_accountant_reads_the_invoice_page_without_a_button(office, login_as):
    _manager, reseller, _clients = office
    run_sweep(MARCH_2, render_pdfs=False)
    invoice = _consolidated(reseller)
    accountant = logged_in(login_as, "reseller", "accountant", organisation=reseller, locale="pt_BR")
    body = accountant.get(f"/reseller/payment/invoices/{invoice.id}", headers=PT).get_data(as_text=True)
    assert "Oficina Mecânica Sul Ltda" in body and "Gerar boleto" not in body


def test_another_reseller_and_the_client_do_not_see_the_invoice(office, login_as):
    _manager, reseller, clients = office
    run_sweep(MARCH_2, render_pdfs=False)
    invoice = _consolidated(reseller)
    other = logged_in(login_as, "reseller", "manager")
    assert other.get(f"/reseller/payment/invoices/{invoice.id}").status_code == 404
    customer = logged_in(login_as, "customer", "admin", organisation=db.session.merge(clients[0]))
    assert customer.get(f"/customer/invoices/{invoice.id}").status_code == 404


def test_the_clients_invoices_say_that_its_reseller_pays_and_list_nothing_to_pay(office, login_as):
    _manager, reseller, clients = office
    run_sweep(MARCH_2, render_pdfs=False)
    number = _consolidated(reseller).display_number
    customer = logged_in(login_as, "customer", "admin", organisation=db.session.merge(clients[0]))
    for path in ("/customer/invoices", "/customer/pay"):
        text = customer.get(path, headers=PT).get_data(as_text=True)
        assert f"{reseller.name}, sua revenda, paga" in text, path
        assert number not in text and "F0000" not in text, path  # no invoice at all: the reseller's are its own
