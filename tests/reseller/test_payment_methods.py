"""The reseller's payment methods: its managers add a card on the gateway's own page (its number never reaches
the portal), see it with its state, pay a pending invoice with it from the Payment screen, choose the one that
pays the monthly invoice automatically and remove one; an accountant reads the Payment screen but gets 403 and
no menu entry here; a declined card says why and pays nothing."""

import re
from urllib.parse import urlsplit

import pytest

from portal.extensions import db
from portal.models import Invoice, Payment, PaymentMethod
from tests import factories
from tests.reseller.helpers import logged_in
from tests.services.payments.helpers import make_card
from tests.services.payments.offline_helpers import offer_demo_methods

PT = {"Accept-Language": "pt-BR"}
ES = {"Accept-Language": "es"}
CARD = {"number": "4242 4242 4242 4242", "expiry": "08/31", "cvc": "321", "holder": "Ana Beatriz Lima"}


@pytest.fixture
def pending(office):
    """Contabilidade Horizonte's consolidated invoice of the month, pending (BRL)."""
    offer_demo_methods()
    invoice = factories.make_invoice(db.session.merge(office), tax_rate_bp=0,
                                     lines=[("Padaria Pão Dourado Ltda — Essencial", 1, 9_990),
                                            ("Mercado Bom Preço Ltda — Essencial", 1, 9_990)])
    db.session.commit()
    return invoice


@pytest.fixture
def horizonte_manager(office, login_as):
    return logged_in(login_as, "reseller", "manager", organisation=office)


def _add_card(client, headers=PT) -> str:
    to_gateway = client.form_post("/reseller/payment-methods/new", headers=headers)
    assert to_gateway.status_code == 303
    assert urlsplit(to_gateway.headers["Location"]).path == "/sandbox-gateway/capture"
    back = client.form_post(to_gateway.headers["Location"], CARD, headers=headers)
    assert back.status_code == 303 and "4242424242424242" not in back.headers["Location"]
    assert urlsplit(back.headers["Location"]).path == "/reseller/payment-methods/added"
    confirm = client.get(back.headers["Location"], headers=headers).get_data(as_text=True)
    result = re.search(r'name="result" type="hidden" value="([^"]+)"', confirm).group(1)
    saved = client.form_post("/reseller/payment-methods/added", {"result": result}, headers=headers)
    assert saved.status_code == 303 and saved.headers["Location"].endswith("/reseller/payment-methods")
    return confirm


def test_a_manager_adds_a_card_and_pays_the_months_invoice_with_it(office, pending, horizonte_manager):
    empty = horizonte_manager.get("/reseller/payment-methods", headers=PT).get_data(as_text=True)
    assert "Formas de pagamento" in empty and "Adicionar um cartão" in empty and "tela Pagamento" in empty
    assert 'aria-current="page">Formas de pagamento</a>' in empty and "saldo" not in empty.split("<h1>")[1]
    confirm = _add_card(horizonte_manager)
    assert "Visa •••• 4242" in confirm and "4242424242424242" not in confirm
    [method] = db.session.scalars(db.select(PaymentMethod).where(PaymentMethod.organisation_id == office.id))
    assert method.auto_pay and method.last4 == "4242" and "4242424242424242" not in method.token
    screen = horizonte_manager.get("/reseller/payment", headers=PT).get_data(as_text=True)
    assert f'value="card:{method.id}"' in screen and 'href="/reseller/payment-methods"' in screen
    paid = horizonte_manager.form_post(f"/reseller/payment/invoices/{pending.id}/reference",
                                       {"method": f"card:{method.id}", "key": "c-1"}, headers=PT)
    assert paid.status_code == 303 and paid.headers["Location"].endswith("/reseller/payment")
    [payment] = db.session.scalars(db.select(Payment).where(Payment.invoice_id == pending.id))
    assert (payment.payment_method_id, payment.state, payment.amount) == (method.id, "succeeded", 19_980)
    assert db.session.get(Invoice, pending.id).status == "paid"
    after = horizonte_manager.get("/reseller/payment", headers=PT).get_data(as_text=True)
    assert "Recebemos o pagamento de" in after and f"pela fatura {pending.display_number}. Obrigado!" in after
    again = horizonte_manager.form_post(f"/reseller/payment/invoices/{pending.id}/reference",
                                        {"method": f"card:{method.id}", "key": "c-2"}, headers=PT)
    assert again.status_code == 303
    assert db.session.scalar(db.select(db.func.count(Payment.id))) == 1  # paid: nothing is charged twice


@pytest.mark.parametrize("behaviour", ["succeeds", "confirms_later"])
def test_the_same_payment_form_sent_twice_answers_with_its_one_payment(office, pending, horizonte_manager,
                                                                       behaviour):
    """A double click or a retried request (the same key): the first payment, charged once, whether it went
    through or is still being confirmed — not "nothing left to pay" nor a refusal of its amount."""
    card = make_card(db.session.merge(office), behaviour)
    db.session.commit()
    form = {"method": f"card:{card.id}", "key": "twice-1"}
    first = horizonte_manager.form_post(f"/reseller/payment/invoices/{pending.id}/reference", form, headers=ES)
    again = horizonte_manager.form_post(f"/reseller/payment/invoices/{pending.id}/reference", form, headers=ES)
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    said = horizonte_manager.get(again.headers["Location"], headers=ES).get_data(as_text=True)
    assert f"por la factura {pending.display_number}" in said
    assert ("¡Gracias!" if behaviour == "succeeds" else "está confirmando el pago") in said
    [payment] = db.session.scalars(db.select(Payment).where(Payment.invoice_id == pending.id))
    assert payment.state == ("succeeded" if behaviour == "succeeds" else "processing")


def test_a_declined_card_says_why_and_the_invoice_stays_pending(office, pending, horizonte_manager):
    card = make_card(db.session.merge(office), "declined", last4="0002")
    db.session.commit()
    response = horizonte_manager.form_post(f"/reseller/payment/invoices/{pending.id}/reference",
                                           {"method": f"card:{card.id}", "key": "d-1"}, headers=ES)
    assert response.status_code == 303
    page = horizonte_manager.get("/reseller/payment", headers=ES).get_data(as_text=True)
    assert "no se realizó" in page and "rechazada" in page
    assert db.session.get(Invoice, pending.id).status == "open"


def test_another_resellers_card_pays_nothing(office, pending, horizonte_manager):
    other = make_card(factories.make_org("reseller", "BR"))
    db.session.commit()
    response = horizonte_manager.form_post(f"/reseller/payment/invoices/{pending.id}/reference",
                                           {"method": f"card:{other.id}", "key": "o-1"}, headers=PT)
    assert response.status_code == 303
    assert db.session.scalar(db.select(db.func.count(Payment.id))) == 0
    assert horizonte_manager.form_post(f"/reseller/payment-methods/{other.id}/remove").status_code == 404


def test_an_accountant_reads_the_payment_screen_but_not_the_cards(office, pending, login_as):
    card = make_card(db.session.merge(office))
    db.session.commit()
    accountant = logged_in(login_as, "reseller", "accountant", organisation=office)
    screen = accountant.get("/reseller/payment", headers=PT).get_data(as_text=True)
    assert "/reseller/payment-methods" not in screen and f'value="card:{card.id}"' not in screen
    assert accountant.get("/reseller/payment-methods").status_code == 403
    for path in ("/reseller/payment-methods/new", f"/reseller/payment-methods/{card.id}/remove"):
        assert accountant.form_post(path).status_code == 403, path
    db.session.expire_all()
    assert db.session.get(PaymentMethod, card.id).state == "active"


def test_the_page_in_every_language(horizonte_manager):
    for headers, words in ((PT, "Cartões"), (ES, "Tarjetas"), ({"Accept-Language": "en"}, "Cards")):
        page = horizonte_manager.get("/reseller/payment-methods", headers=headers)
        assert page.status_code == 200 and words in page.get_data(as_text=True)


def test_the_menu_marks_payment_methods_alone_on_their_page(horizonte_manager):
    page = horizonte_manager.get("/reseller/payment-methods", headers=PT).get_data(as_text=True)
    nav = page.split('<nav', 1)[1].split("</nav>", 1)[0]
    assert nav.count('aria-current="page"') == 1 and 'aria-current="page">Formas de pagamento</a>' in nav
