"""The store in a real browser: browse the rows with the arrows (mouse and keyboard), fill the cart, activate it,
and see the new items on the plan; the same walk without JavaScript; no layout shift and no axe violation."""

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.orm import utcnow
from tests import factories
from tests.browser.conftest import log_in
from tests.browser.test_accessibility import axe_violations
from tests.browser.test_look import layout_problems
from tests.services.store_helpers import make_store

# Chromium reports layout shifts that no input caused; the store's cards and arrows have fixed sizes.
CLS = """() => new Promise(resolve => {
  let total = 0;
  new PerformanceObserver(list => { for (const e of list.getEntries()) { if (!e.hadRecentInput) total += e.value; } })
    .observe({type: 'layout-shift', buffered: true});
  setTimeout(() => resolve(total), 300);
})"""


@pytest.fixture
def store(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        made = make_store(utcnow())
        for n in range(4):
            factories.make_product("module", made.cat.basic.software, code=f"mod-{n}", name=f"Módulo {n}",
                                   category=made.erp, prices=(("CLP", "monthly", 1_000, 0),))
        db.session.commit()
        yield made


@pytest.mark.parametrize(("locale", "width", "words"), [
    ("es-CL", 1280, ("Tienda", "Tu carrito", "Activar", "Activado")),
    ("pt-BR", 390, ("Loja", "Seu carrinho", "Ativar", "Ativado")),
])
def test_browse_fill_the_cart_and_activate_with_the_keyboard(new_page, store, locale, width, words):
    shop, cart_word, activate, activated = words
    page = new_page(width=width, locale=locale)
    log_in(page, store.admin.email)
    page.get_by_role("link", name=shop, exact=True).click()
    expect(page.locator("h1")).to_have_text(shop)
    # CLS 0 as Lighthouse reports it (to three decimals): a shift under a thousandth is no visible move.
    assert round(page.evaluate(CLS), 3) == 0
    assert layout_problems(page) == []
    # The top bar reads brand first, on the left, then the cart (on a phone too), and the keyboard goes the same way:
    # the brand, the organisation and the advisor, then the cart, then the language.
    brand, cart = page.locator(".topbar .brand").bounding_box(), page.locator("#cart-badge").bounding_box()
    assert brand["x"] + brand["width"] <= cart["x"]
    page.locator(".topbar .brand").focus()
    stops = []
    for _ in range(6):
        page.keyboard.press("Tab")
        stops.append(page.evaluate("document.activeElement.closest('.topbar > *')?.className ?? ''"))
    assert stops.index("cart-badge") < next(i for i, stop in enumerate(stops) if "locale" in stop), stops
    # The ERP row's next arrow, by keyboard: the row changes in place and the arrow keeps the focus.
    erp = page.locator("#row-erp")
    first_before = erp.locator("article h3").first.inner_text()
    page.locator("#row-erp-next").focus()
    page.keyboard.press("Enter")
    expect(erp.locator(".row-page")).to_have_text("2 de 2")
    assert erp.locator("article h3").first.inner_text() != first_before
    assert page.evaluate("document.activeElement.id") == "row-erp-next"
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")  # the previous arrow
    expect(erp.locator("article h3").first).to_have_text(first_before)
    # Add two products: the badge and the panel follow, focus stays on the button.
    page.locator(f"#add-{store.cat.user.id}").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#cart-badge .count")).to_have_text("1")
    assert page.evaluate("document.activeElement.id") == f"add-{store.cat.user.id}"
    page.locator(f"#add-{store.cat.module.id}").click()
    expect(page.locator("#cart-badge .count")).to_have_text("2")
    expect(page.locator("#cart-panel")).to_contain_text("Inventario")
    page.locator("#cart-badge").click()
    expect(page.locator("h1")).to_contain_text(cart_word)
    quantity = page.locator("input[name^=quantity-]")
    fingerprint = page.locator("input[name=fingerprint]")
    priced_for_one = fingerprint.input_value()
    quantity.fill("2")
    quantity.press("Enter")
    # The new cart is in place once its fingerprint is: activating before that sends the old one, which is refused.
    expect(fingerprint).not_to_have_value(priced_for_one)
    expect(page.locator("input[name^=quantity-]")).to_have_value("2")
    page.get_by_role("button", name=activate, exact=True).focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/store/activations/*")
    expect(page.locator("h1")).to_have_text(activated)
    expect(page.locator("main table")).to_contain_text("Inventario")
    db.session.rollback()
    db.session.refresh(store.sub)
    assert {item.product_id: item.quantity for item in store.sub.items} == {store.cat.user.id: 2,
                                                                          store.cat.module.id: 1}
    page.get_by_role("link", name=shop, exact=True).click()
    expect(page.locator(f"#card-{store.cat.module.id} .badge.ok")).to_be_visible()


def test_the_same_walk_without_javascript(new_page, store):
    page = new_page(javascript=False, locale="es-CL")
    log_in(page, store.admin.email)
    page.goto("/customer/store")
    page.locator("#row-erp-next").click()
    expect(page.locator("#row-erp .row-page")).to_contain_text("2 de 2")
    page.locator(f"#add-{store.cat.user.id}").click()
    expect(page.locator(".flash-success")).to_contain_text("se agregó a tu carrito")
    expect(page.locator("#row-erp .row-page")).to_contain_text("2 de 2")  # back where it was
    page.locator("#cart-badge").click()
    page.get_by_role("button", name="Activar", exact=True).click()
    expect(page.locator("h1")).to_have_text("Activado")


def test_the_store_screens_have_no_axe_violation(new_page, store):
    page = new_page(bypass_csp=True)
    log_in(page, store.admin.email)
    page.goto("/customer/store")
    page.locator(f"#add-{store.cat.user.id}").click()
    expect(page.locator("#cart-badge .count")).to_have_text("1")
    problems = axe_violations(page)
    for path in (f"/customer/store/products/{store.cat.module.id}", "/customer/cart", "/customer/store?q=modulo"):
        page.goto(path)
        problems += axe_violations(page)
    page.goto("/customer/cart")
    page.get_by_role("button", name="Activate", exact=True).click()
    page.wait_for_url("**/store/activations/*")
    problems += axe_violations(page)
    assert not problems, "\n".join(problems)
