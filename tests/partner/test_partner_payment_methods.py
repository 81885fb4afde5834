"""The partner's payment methods: its admins add a card on the gateway's own page (its number never reaches the
portal), see it with its state, pay a pending invoice with it from the invoices, choose the one that pays
automatically and remove one; another partner's card is 404, a seller gets 403 and no menu entry; the invoices
say where to add a card; a blocked partner still adds one to pay what it owes."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from portal.extensions import db
from portal.models import Invoice, Organisation, Payment, PaymentMethod
from tests import factories
from tests.services.payments.helpers import make_card
from tests.services.payments.offline_helpers import offer_demo_methods

PT = {"Accept-Language": "pt-BR"}
ES = {"Accept-Language": "es"}
CARD = {"number": "5555 5555 5555 4444", "expiry": "08/31", "cvc": "321", "holder": "Ana Souza"}


@pytest.fixture
def partner(app):
    """A Brazilian license partner with one pending invoice (BRL) and no card yet."""
    offer_demo_methods()
    org = factories.make_org("partner", "BR", currency="BRL", name="Moderniza Parceiro Teste Ltda")
    pending = factories.make_invoice(org, lines=[("Moderniza Completo — adesão", 10, 15_000)], tax_rate_bp=0)
    db.session.commit()
    return org, pending


@pytest.fixture
def admin(partner, login_as):
    return login_as("partner", "admin", organisation=partner[0])


def _add_card(client, headers=PT) -> str:
    """Add CARD on the gateway's page and confirm it; returns the confirmation page."""
    to_gateway = client.form_post("/partner/payment-methods/new", headers=headers)
    assert to_gateway.status_code == 303
    assert urlsplit(to_gateway.headers["Location"]).path == "/sandbox-gateway/capture"
    back = client.form_post(to_gateway.headers["Location"], CARD, headers=headers)
    assert back.status_code == 303
    assert urlsplit(back.headers["Location"]).path == "/partner/payment-methods/added"
    assert "5555555555554444" not in back.headers["Location"]
    confirm = client.get(back.headers["Location"], headers=headers).get_data(as_text=True)
    result = re.search(r'name="result" type="hidden" value="([^"]+)"', confirm).group(1)
    saved = client.form_post("/partner/payment-methods/added", {"result": result}, headers=headers)
    assert saved.status_code == 303 and saved.headers["Location"].endswith("/partner/payment-methods")
    return confirm


def test_an_admin_adds_a_card_on_the_gateways_page_and_pays_an_invoice_with_it(partner, admin):
    org, pending = partner
    empty = admin.get("/partner/payment-methods", headers=PT).get_data(as_text=True)
    assert "Formas de pagamento" in empty and "Adicionar um cartão" in empty and "Ainda não há cartões" in empty
    assert 'aria-current="page">Formas de pagamento</a>' in empty and "billetera" not in empty.lower()
    assert "saldo" not in empty.split("<h1>")[1]  # a partner has no wallet: nothing is said of one
    confirm = _add_card(admin)
    assert "Mastercard •••• 4444" in confirm and "5555555555554444" not in confirm
    assert 'aria-current="page">Formas de pagamento</a>' in confirm
    listing = admin.get("/partner/payment-methods", headers=PT).get_data(as_text=True)
    assert "Mastercard •••• 4444" in listing and "08/2031" in listing and "Ativo" in listing
    [method] = db.session.scalars(db.select(PaymentMethod).where(PaymentMethod.organisation_id == org.id))
    assert method.auto_pay and method.last4 == "4444" and "5555555555554444" not in method.token
    invoice_page = admin.get(f"/partner/invoices/{pending.id}", headers=PT).get_data(as_text=True)
    assert f'value="card:{method.id}"' in invoice_page and "Nenhum cartão cadastrado" not in invoice_page
    paid = admin.form_post(f"/partner/invoices/{pending.id}/pay", {"method": f"card:{method.id}", "key": "c-1"},
                           headers=PT)
    assert paid.status_code == 303
    [payment] = db.session.scalars(db.select(Payment).where(Payment.invoice_id == pending.id))
    assert payment.payment_method_id == method.id and payment.state == "succeeded" and payment.amount == 150_000
    assert db.session.get(Invoice, pending.id).status == "paid"


def test_the_invoices_say_where_to_add_a_card(partner, admin):
    _org, pending = partner
    listing = admin.get("/partner/invoices", headers=PT).get_data(as_text=True)
    assert 'href="/partner/payment-methods"' in listing and "Adicionar ou gerenciar cartões" in listing
    page = admin.get(f"/partner/invoices/{pending.id}", headers=PT).get_data(as_text=True)
    assert "Nenhum cartão cadastrado." in page and "Adicione um cartão para pagar com ele" in page


def test_the_confirmation_sent_again_saves_one_card_and_a_cancelled_capture_none(partner, admin):
    org, _pending = partner
    to_gateway = admin.form_post("/partner/payment-methods/new")
    back = admin.form_post(to_gateway.headers["Location"], CARD)
    page = admin.get(back.headers["Location"]).get_data(as_text=True)
    result = re.search(r'name="result" type="hidden" value="([^"]+)"', page).group(1)
    for _ in range(2):
        admin.form_post("/partner/payment-methods/added", {"result": result})
    cancelled = admin.get("/partner/payment-methods/added?cancelled=1", headers=ES)
    assert cancelled.status_code == 303
    assert "No se agregó ninguna tarjeta." in admin.get("/partner/payment-methods", headers=ES).get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(PaymentMethod.id))
                             .where(PaymentMethod.organisation_id == org.id)) == 1


def test_a_forged_result_is_gone_and_writes_nothing(admin):
    assert admin.get("/partner/payment-methods/added?result=forged").status_code == 410
    assert admin.form_post("/partner/payment-methods/added", {"result": "forged"}).status_code == 410
    assert db.session.scalar(db.select(db.func.count(PaymentMethod.id))) == 0


def test_choosing_the_auto_pay_card_stopping_it_and_removing_one(partner, admin):
    org, _pending = partner
    first = make_card(db.session.merge(org))
    second = make_card(db.session.merge(org), last4="1881", auto_pay=False)
    db.session.commit()
    admin.form_post(f"/partner/payment-methods/{second.id}/auto-pay")
    db.session.expire_all()
    assert db.session.get(PaymentMethod, second.id).auto_pay and not db.session.get(PaymentMethod, first.id).auto_pay
    page = admin.get("/partner/payment-methods", headers=PT).get_data(as_text=True)
    assert "Visa •••• 1881" in page.split('id="auto-pay-title"')[1]
    admin.form_post("/partner/payment-methods/auto-pay-off")
    db.session.expire_all()
    assert not db.session.get(PaymentMethod, second.id).auto_pay
    admin.form_post(f"/partner/payment-methods/{second.id}/remove")
    db.session.expire_all()
    assert db.session.get(PaymentMethod, second.id).state == "removed"
    page = admin.get("/partner/payment-methods").get_data(as_text=True)
    assert "•••• 1881" not in page.split("<h1>")[1] and "•••• 4242" in page


def test_an_expired_card_cannot_pay_automatically_and_nothing_changes(partner, admin):
    org, _pending = partner
    expired = make_card(db.session.merge(org), last4="0069", auto_pay=False, state="expired")
    db.session.commit()
    admin.form_post(f"/partner/payment-methods/{expired.id}/auto-pay", headers=ES)
    page = admin.get("/partner/payment-methods", headers=ES).get_data(as_text=True)
    assert "Solo una tarjeta activa puede pagar automáticamente." in page
    db.session.expire_all()
    assert not db.session.get(PaymentMethod, expired.id).auto_pay


def test_another_partners_card_is_not_found(partner, admin):
    card = make_card(factories.make_org("partner", "BR", currency="BRL"))
    db.session.commit()
    for action in ("auto-pay", "remove"):
        assert admin.form_post(f"/partner/payment-methods/{card.id}/{action}").status_code == 404, action
    db.session.expire_all()
    found = db.session.get(PaymentMethod, card.id)
    assert found.state == "active" and found.auto_pay


def test_a_card_captured_for_another_partner_is_refused(partner, admin, login_as):
    other = login_as("partner", "admin")
    to_gateway = other.form_post("/partner/payment-methods/new")
    back = other.form_post(to_gateway.headers["Location"], CARD)
    assert admin.get(back.headers["Location"]).status_code == 404
    result = parse_qs(urlsplit(back.headers["Location"]).query)["result"][0]
    assert admin.form_post("/partner/payment-methods/added", {"result": result}).status_code == 404
    assert db.session.scalar(db.select(db.func.count(PaymentMethod.id))) == 0


def test_a_seller_gets_403_and_no_menu_entry(partner, login_as):
    org, _pending = partner
    card = make_card(db.session.merge(org))
    db.session.commit()
    seller = login_as("partner", "seller", organisation=org)
    home = seller.get("/partner/", headers=PT).get_data(as_text=True)
    assert "/partner/payment-methods" not in home and "Formas de pagamento" not in home
    assert seller.get("/partner/payment-methods").status_code == 403
    assert seller.get("/partner/payment-methods/added?result=x").status_code == 403
    for path in ("/partner/payment-methods/new", "/partner/payment-methods/auto-pay-off",
                 f"/partner/payment-methods/{card.id}/auto-pay", f"/partner/payment-methods/{card.id}/remove"):
        assert seller.form_post(path).status_code == 403, path
    db.session.expire_all()
    assert db.session.get(PaymentMethod, card.id).state == "active"


def test_an_admins_menu_names_the_payment_methods(partner, admin):
    home = admin.get("/partner/", headers=PT).get_data(as_text=True)
    assert 'href="/partner/payment-methods"' in home and "Formas de pagamento" in home


def test_a_blocked_partner_still_adds_a_card(partner, admin):
    org, _pending = partner
    found = db.session.get(Organisation, org.id)
    found.status, found.blocked_reason, found.blocked_at = "blocked", "unpaid", found.created_at
    db.session.commit()
    assert admin.get("/partner/payment-methods").status_code == 200
    _add_card(admin)
    assert db.session.scalar(db.select(db.func.count(PaymentMethod.id))) == 1


def test_the_page_in_every_language(partner, admin):
    for headers, words in ((PT, "Cartões"), (ES, "Tarjetas"), ({"Accept-Language": "en"}, "Cards")):
        page = admin.get("/partner/payment-methods", headers=headers)
        assert page.status_code == 200 and words in page.get_data(as_text=True)
