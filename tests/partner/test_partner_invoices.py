"""The partner's invoices ("Faturas"): its admins list them (CSV, PDF), open one and pay a pending one with a
boleto or a Pix (once per form) or a card on file; sellers neither see nor pay them; another partner's invoice
is 404; paying one already paid, or by a method not offered, is a translated 4xx that writes nothing; a blocked
partner still opens them; a notice links to them."""

import pytest

from portal.extensions import db
from portal.models import Invoice, Organisation, Payment
from portal.services.notices import dunning
from tests import factories
from tests.services.payments.helpers import make_card
from tests.services.payments.offline_helpers import offer_demo_methods

PT = {"Accept-Language": "pt-BR"}
ES = {"Accept-Language": "es"}


@pytest.fixture
def partner(app):
    """A Brazilian license partner billed for its licenses: one invoice paid, one pending (BRL)."""
    offer_demo_methods()
    org = factories.make_org("partner", "BR", currency="BRL", name="Moderniza Parceiro Teste Ltda")
    paid = factories.make_invoice(org, lines=[("Moderniza Completo — mensalidade", 10, 8_990)], tax_rate_bp=0,
                                  status="paid")
    pending = factories.make_invoice(org, lines=[("Moderniza Completo — adesão", 10, 15_000)], tax_rate_bp=0)
    db.session.commit()
    return org, paid, pending


@pytest.fixture
def admin(partner, login_as):
    return login_as("partner", "admin", organisation=partner[0])


def _payments() -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(Payment))


def test_an_admin_lists_paid_and_pending_invoices_with_boleto_and_pix_and_downloads_them(partner, admin):
    _org, paid, pending = partner
    page = admin.get("/partner/invoices", headers=PT)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert paid.display_number in text and pending.display_number in text and "Minhas faturas" in text
    assert "1.500,00" in text and text.count("Gerar boleto") == 1 and text.count("Gerar Pix") == 1
    assert 'aria-current="page">Faturas</a>' in text
    csv_text = admin.get("/partner/invoices.csv", buffered=True).get_data(as_text=True)
    assert paid.display_number in csv_text and pending.display_number in csv_text
    pdf = admin.get(f"/partner/invoices/{pending.id}/pdf", buffered=True)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    detail = admin.get(f"/partner/invoices/{pending.id}", headers=PT).get_data(as_text=True)
    assert f"Fatura {pending.display_number}" in detail and "Pagar esta fatura" in detail
    assert "Moderniza Completo — adesão" in detail
    done = admin.get(f"/partner/invoices/{paid.id}", headers=PT).get_data(as_text=True)
    assert "Pagar esta fatura" not in done and "Gerar boleto" not in done


def test_a_boleto_is_issued_once_per_form_and_shown_and_listed(partner, admin):
    org, _paid, pending = partner
    data = {"method": "boleto", "key": "form-1"}
    sent = admin.form_post(f"/partner/invoices/{pending.id}/pay", data)
    assert sent.status_code == 303 and "/partner/invoices/references/" in sent.headers["Location"]
    again = admin.form_post(f"/partner/invoices/{pending.id}/pay", data)
    assert again.headers["Location"] == sent.headers["Location"]
    [payment] = db.session.scalars(db.select(Payment).where(Payment.invoice_id == pending.id))
    assert payment.state == "pending" and payment.organisation_id == org.id and payment.amount == 150_000
    shown = admin.get(sent.headers["Location"], headers=PT).get_data(as_text=True)
    assert payment.instructions["line_printed"] in shown and "<svg" in shown and "← Faturas" in shown
    listing = admin.get("/partner/invoices", headers=PT).get_data(as_text=True)
    assert "Ver o Boleto gerado" in listing


def test_a_card_on_file_pays_all_the_invoice_owes(partner, admin):
    org, _paid, pending = partner
    card = make_card(db.session.merge(org))
    db.session.commit()
    page = admin.get(f"/partner/invoices/{pending.id}", headers=PT).get_data(as_text=True)
    assert f'value="card:{card.id}"' in page and "4242" in page
    sent = admin.form_post(f"/partner/invoices/{pending.id}/pay", {"method": f"card:{card.id}", "key": "card-1"},
                           headers=PT)
    assert sent.status_code == 303 and sent.headers["Location"].endswith(f"/partner/invoices/{pending.id}")
    [payment] = db.session.scalars(db.select(Payment).where(Payment.invoice_id == pending.id))
    assert payment.method_kind == "card" and payment.amount == 150_000 and payment.state == "succeeded"
    assert db.session.get(Invoice, pending.id).status == "paid"
    shown = admin.get(sent.headers["Location"], headers=PT).get_data(as_text=True)
    assert "Obrigado" in shown


@pytest.mark.parametrize(("which", "method", "status", "message"), [
    ("paid", "boleto", 409, "Esta factura no tiene nada pendiente de pago."),
    ("pending", "oxxo", 422, "Este medio de pago no se ofrece para esta factura."),
    ("pending", "card:999999", 422, "Este medio de pago no se ofrece para esta factura."),
    ("pending", "wallet", 422, "Este medio de pago no se ofrece para esta factura."),
    ("pending", "", 422, "Elige cómo pagar."),
], ids=["already-paid", "not-offered", "unknown-card", "wallet", "empty"])
def test_bad_payments_are_a_translated_4xx_that_write_nothing(partner, admin, which, method, status, message):
    _org, paid, pending = partner
    invoice = paid if which == "paid" else pending
    answer = admin.form_post(f"/partner/invoices/{invoice.id}/pay", {"method": method, "key": "k"}, headers=ES)
    assert answer.status_code == status
    assert message in answer.get_data(as_text=True)
    assert _payments() == 0
    assert db.session.get(Invoice, paid.id).status == "paid" and db.session.get(Invoice, pending.id).status == "open"


def test_another_partners_card_does_not_pay(partner, admin):
    _org, _paid, pending = partner
    card = make_card(factories.make_org("partner", "BR", currency="BRL"))
    db.session.commit()
    answer = admin.form_post(f"/partner/invoices/{pending.id}/pay", {"method": f"card:{card.id}", "key": "k"})
    assert answer.status_code == 422 and _payments() == 0


def test_another_partners_invoice_is_not_found(partner, login_as):
    _org, _paid, pending = partner
    other = login_as("partner", "admin")
    for path in (f"/partner/invoices/{pending.id}", f"/partner/invoices/{pending.id}/pdf"):
        assert other.get(path).status_code == 404, path
    assert other.form_post(f"/partner/invoices/{pending.id}/pay", {"method": "boleto", "key": "k"}).status_code == 404
    assert _payments() == 0


def test_a_seller_neither_sees_nor_pays_the_invoices(partner, login_as):
    org, _paid, pending = partner
    seller = login_as("partner", "seller", organisation=org)
    home = seller.get("/partner/", headers=PT).get_data(as_text=True)
    assert "/partner/invoices" not in home
    assert seller.get("/partner/invoices").status_code == 403
    assert seller.get(f"/partner/invoices/{pending.id}").status_code == 403
    assert seller.form_post(f"/partner/invoices/{pending.id}/pay", {"method": "boleto", "key": "k"}).status_code == 403
    assert _payments() == 0


def test_a_blocked_partner_still_opens_and_pays_its_invoices(partner, admin):
    org, _paid, pending = partner
    found = db.session.get(Organisation, org.id)
    found.status, found.blocked_reason, found.blocked_at = "blocked", "unpaid", found.created_at
    db.session.commit()
    assert admin.get("/partner/stock").status_code == 403
    assert admin.get("/partner/invoices").status_code == 200
    assert admin.get(f"/partner/invoices/{pending.id}").status_code == 200
    assert admin.form_post(f"/partner/invoices/{pending.id}/pay", {"method": "pix", "key": "k"}).status_code == 303


def test_a_billing_notice_links_the_partner_to_its_invoice_and_invoices(partner, app):
    org, _paid, pending = partner
    with app.test_request_context():
        assert dunning.invoices_link(org, pending).endswith(f"/partner/invoices/{pending.id}")
        assert dunning.invoices_link(org, pay=True).endswith("/partner/invoices")
        assert dunning.invoices_link(org).endswith("/partner/invoices")


def test_the_invoices_page_sends_the_same_statements_for_one_invoice_and_for_many(app, login_as, count_queries):
    """What each invoice owes, its references waiting and its cards come in one query each, not one per row."""
    offer_demo_methods()

    def partner_with(invoices: int):
        org = factories.make_org("partner", "BR", currency="BRL")
        for n in range(invoices):
            factories.make_invoice(org, lines=[(f"Moderniza Completo — mês {n}", 2, 8_990)], tax_rate_bp=0,
                                   status="paid" if n % 2 else "open")
        make_card(org)
        db.session.commit()
        return login_as("partner", "admin", organisation=org)

    counts = []
    for client in (partner_with(1), partner_with(12)):
        client.get("/partner/invoices")  # caches warm, as a second visit
        with count_queries() as counter:
            assert client.get("/partner/invoices").status_code == 200
        counts.append(counter["n"])
    assert counts[0] == counts[1] and counts[1] <= 10, counts
