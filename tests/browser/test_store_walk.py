"""The whole way a new customer buys, in one go: sign up, open the e-mailed link, fill the cart from the store
(two additional users and a module), activate, and find the new items on the plan page and on the next bill;
in Spanish and in Portuguese, on a phone and on a desktop (and its top bar on one line at 1024 px), and without
JavaScript."""

from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import Subscription, SubscriptionItem
from tests.browser.test_look import fits_here_and_at_1024
from tests.browser.test_signup import confirmation_link
from tests.services.store_helpers import make_shelves


@dataclass(frozen=True)
class Walk:
    locale: str
    country: str
    tax_id: str
    words: dict  # the labels the walk clicks and reads, in its language
    users: str  # two additional users a month
    bill: list  # the next bill's lines (description, amount), at the end of the free month
    totals: list  # its subtotal, taxes and total (label, amount)


ES = Walk("es-CL", "CL", "76.086.428-5", {
    "sign_up": "Crear una cuenta", "sent": "Revisa tu correo", "confirm": "Crear mi cuenta",
    "welcome": "primer mes es gratis", "store": "Tienda", "added": "se agregó a tu carrito", "cart": "Tu carrito",
    "trial": "Gratis hasta que termine tu prueba", "activate": "Activar", "activated": "Activado",
    "account": "Mi cuenta", "plans": "Tus planes activos", "overview": "Resumen de facturación",
    "next": "Próxima factura"}, users="$6.000",
    bill=["Plan Básico", "$10.000", "Usuario adicional × 2", "$6.000", "Inventario", "$6.000",
          "Cargo de activación: Inventario", "$20.000"],  # the module's setup fee, in Chile only
    totals=["Subtotal", "$42.000", "Impuestos", "$7.980", "Total estimado", "$49.980"])
PT = Walk("pt-BR", "BR", "11.222.333/0001-81", {
    "sign_up": "Criar uma conta", "sent": "Confira seu e-mail", "confirm": "Criar minha conta",
    "welcome": "primeiro mês é grátis", "store": "Loja", "added": "foi adicionado ao seu carrinho",
    "cart": "Seu carrinho", "trial": "Grátis até o fim do seu teste", "activate": "Ativar", "activated": "Ativado",
    "account": "Minha conta", "plans": "Seus planos ativos", "overview": "Resumo de faturamento",
    "next": "Próxima fatura"}, users="R$\u00a029,80",
    bill=["Plan Básico", "R$\u00a059,90", "Usuario adicional × 2", "R$\u00a029,80", "Inventario", "R$\u00a029,90"],
    totals=["Subtotal", "R$\u00a0119,60", "Impostos", "R$\u00a05,99", "Total estimado", "R$\u00a0125,59"])


@pytest.fixture
def shelves(app):
    """The vendor's catalog in store rows, with no customer yet: the one who signs up is the first."""
    with app.test_request_context():
        made = make_shelves()
        db.session.commit()
        yield made


@pytest.mark.parametrize(("walk", "width", "javascript"), [
    (ES, 390, True), (ES, 1280, True), (PT, 390, True), (PT, 1280, True), (ES, 1280, False), (PT, 390, False),
], ids=["es-390", "es-1280", "pt_BR-390", "pt_BR-1280", "es-no-js", "pt_BR-no-js"])
def test_sign_up_buy_activate_and_see_it_on_the_plan_and_the_next_bill(new_page, shelves, walk, width, javascript):
    words, cat = walk.words, shelves.cat
    page = new_page(width=width, locale=walk.locale, javascript=javascript)
    email = f"compras-{walk.country.lower()}@example.com"
    # Sign up from the login page, and open the link the e-mail brings.
    page.goto("/login")
    page.get_by_role("link", name=words["sign_up"]).click()
    expect(page.locator("h1")).to_have_text(words["sign_up"])
    page.locator("#email").fill(email)
    page.locator("#name").fill("Lucía Souza")
    page.locator("#password").fill("una clave bien larga")
    page.locator("#organisation").fill("Ferretería y Materiales Aurora")
    page.locator("#country").select_option(walk.country)
    page.locator("#tax_id").fill(walk.tax_id)
    page.get_by_role("button", name=words["confirm"]).click()
    expect(page.locator("h1")).to_have_text(words["sent"])
    page.goto(confirmation_link(email))
    page.get_by_role("button", name=words["confirm"]).click()
    expect(page.locator(".flash-success")).to_contain_text(words["welcome"])
    # The store: two additional users and the inventory module into the cart.
    page.get_by_role("link", name=words["store"], exact=True).click()
    expect(page.locator("h1")).to_have_text(words["store"])
    for product in (cat.user, cat.module):
        page.locator(f"#add-{product.id}").click()
        if javascript:
            expect(page.locator("#cart-panel")).to_contain_text(product.name)
        else:
            expect(page.locator(".flash-success")).to_contain_text(words["added"])
    expect(page.locator("#cart-badge .count")).to_have_text("2")
    page.locator("#cart-badge").click()
    expect(page.locator("h1")).to_have_text(words["cart"])
    users = page.get_by_role("row").filter(has_text=cat.user.name)
    users.locator("input[name^=quantity-]").fill("2")
    users.get_by_role("button").first.click()
    expect(users).to_contain_text(walk.users)  # the re-priced line: two users a period
    expect(users).to_contain_text(words["trial"])  # nothing to pay during the free month
    page.get_by_role("button", name=words["activate"], exact=True).click()
    expect(page.locator("h1")).to_have_text(words["activated"])
    expect(page.locator("main table")).to_contain_text(cat.module.name)
    db.session.rollback()
    sub = db.session.scalar(db.select(Subscription))
    assert (sub.status, sub.currency) == ("trial", "BRL" if walk.country == "BR" else "CLP")
    held = db.session.execute(db.select(SubscriptionItem.product_id, SubscriptionItem.quantity)
                              .where(SubscriptionItem.subscription_id == sub.id))
    assert dict(held.all()) == {cat.user.id: 2, cat.module.id: 1}
    # The plan page holds the new add-ons with their quantities.
    page.get_by_role("link", name=words["account"], exact=True).click()
    page.get_by_role("link", name=words["plans"], exact=True).click()
    expect(page.locator("h1")).to_have_text(words["account"])
    plan = page.locator(f"#plan-{sub.id}").locator("xpath=..")
    expect(plan.get_by_role("rowheader")).to_have_text([cat.user.name, cat.module.name])
    expect(plan.locator(f"#qty-{sub.id}-{cat.user.id}")).to_have_value("2")
    expect(plan.locator(f"#qty-{sub.id}-{cat.module.id}")).to_have_value("1")
    if width > 1024:  # from a desktop at 1024 px too: organisation, advisor, cart, language and user on one line
        problems: list[str] = []
        fits_here_and_at_1024(page, problems, "plans")
        assert not problems, "\n".join(problems)
    # The next bill, at the end of the free month: the plan and both add-ons at their monthly prices.
    page.get_by_role("link", name=words["overview"], exact=True).click()
    bill = page.locator(f"#cycle-{sub.id}").locator("xpath=..").locator("table")
    expect(bill.locator("caption")).to_contain_text(words["next"])
    expect(bill.locator("tbody").locator("th, td")).to_have_text(walk.bill)
    expect(bill.locator("tfoot").locator("th, td")).to_have_text(walk.totals)
