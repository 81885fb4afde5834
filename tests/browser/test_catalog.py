"""The back office's catalog in a real browser: htmx swaps only the block it changes, and every form also
works without JavaScript."""

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import Category, Price, Product
from portal.services import catalog
from portal.services.catalog import search as catalog_search
from tests import factories
from tests.browser.conftest import log_in


@pytest.fixture
def plan(app):
    product = factories.make_product("plan", code="erp-pro", name="Plan Pro",
                                     prices=[("CLP", "monthly", 39_990, 0)])
    db.session.commit()
    return product


def _admin(app, new_page, javascript=True, width=1280):
    page = new_page(javascript=javascript, width=width)
    membership = factories.make_member("vendor", "admin")
    db.session.commit()
    log_in(page, membership.user.email)
    return page


def _prices():
    db.session.commit()  # end the test's own transaction: read what the portal wrote
    return sorted((p.currency, p.period, p.amount) for p in db.session.scalars(db.select(Price)))


def test_a_price_is_refused_then_saved_with_only_the_prices_table_swapped(app, new_page, plan):
    page = _admin(app, new_page)
    page.goto(f"/backoffice/catalog/products/{plan.id}")
    page.evaluate("window.untouched = true")

    page.select_option("#currency", "CLP")
    page.select_option("#period", "annual")
    page.fill("#amount", "399,900.5")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.locator("#prices button[type=submit]", has_text="Save price").click()
    assert answer.value.status == 422
    page.wait_for_selector("#amount-error")
    assert page.locator("#amount-error").inner_text() == "Amounts in CLP have no decimals."
    assert page.locator("#amount").input_value() == "399,900.5"
    assert page.evaluate("window.untouched") is True  # the page was not reloaded

    page.fill("#amount", "399,900")
    page.locator("#prices button[type=submit]", has_text="Save price").click()
    page.wait_for_selector("#prices .flash-success")
    assert "The annual price in CLP is saved." in page.locator("#prices").inner_text()
    assert "CLP\u00a0399,900" in page.locator("#prices table").inner_text()
    assert page.evaluate("window.untouched") is True
    assert _prices() == [("CLP", "annual", 399_900), ("CLP", "monthly", 39_990)]

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove the annual price in CLP").click()
    page.wait_for_selector("#prices .flash-success >> text=The price has been removed.")
    assert _prices() == [("CLP", "monthly", 39_990)]


@pytest.mark.parametrize("width", [1280, 390])
def test_the_catalog_screens_fit_the_screen(app, new_page, plan, screenshot, width):
    """Screenshots for people to look at; the page never scrolls sideways (wide tables scroll inside)."""
    catalog.set_quota(plan, "documents", 500, {"CLP": 45, "MXN": 120})
    db.session.commit()
    page = _admin(app, new_page, width=width)
    for url, name in (("/backoffice/catalog", "list"), (f"/backoffice/catalog/products/{plan.id}", "product"),
                      ("/backoffice/catalog/products/new", "new")):
        page.goto(url)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, url
        screenshot(page, f"catalog-{name}-{width}")
    page.goto(f"/backoffice/catalog/products/{plan.id}")
    page.fill("#amount", "abc")
    page.locator("#prices button[type=submit]", has_text="Save price").click()
    page.wait_for_selector("#amount-error")
    screenshot(page, f"catalog-price-invalid-{width}")


def test_without_javascript_a_price_and_a_quota_are_saved_with_plain_forms(app, new_page, plan):
    page = _admin(app, new_page, javascript=False)
    page.goto(f"/backoffice/catalog/products/{plan.id}")
    page.select_option("#currency", "BRL")
    page.fill("#amount", "-5")
    page.locator("#prices button[type=submit]", has_text="Save price").click()
    assert page.locator("#amount-error").inner_text() == "The amount cannot be negative."
    page.fill("#amount", "119.90")
    page.locator("#prices button[type=submit]", has_text="Save price").click()
    page.wait_for_url(f"**/backoffice/catalog/products/{plan.id}#prices")
    assert "The monthly price in BRL is saved." in page.locator(".flashes").inner_text()

    page.select_option("#metric", "documents")
    page.fill("#included", "1,000")
    page.fill("#overage_CLP", "45")
    page.locator("#quotas button[type=submit]", has_text="Save quota").click()
    assert "CLP\u00a045" in page.locator("#quotas table").inner_text()
    assert _prices() == [("BRL", "monthly", 11_990), ("CLP", "monthly", 39_990)]


def test_a_product_is_edited_in_place_and_retired_after_a_confirmation(app, new_page, plan):
    page = _admin(app, new_page)
    page.goto(f"/backoffice/catalog/products/{plan.id}")
    page.locator("#product_details").get_by_role("link", name="Edit").click()
    page.wait_for_selector("#product_details form")
    page.fill("#name", "")
    page.locator("#product_details button[type=submit]").click()
    page.wait_for_selector("#name-error")
    assert page.locator("#name-error").inner_text() == "Enter a name."
    page.fill("#name", "Plan Pro 2025")
    page.locator("#product_details summary", has_text="Translations").click()
    page.fill("#name_pt_BR", "Plano Pro 2025")
    page.locator("#product_details button[type=submit]").click()
    page.wait_for_selector("h1 >> text=Plan Pro 2025")
    assert "Plan Pro 2025 has been saved." in page.locator(".flashes").inner_text()

    page.locator("#product_details").get_by_role("link", name="Retire").click()
    page.wait_for_selector("h1 >> text=Retire Plan Pro 2025?")
    assert "0 live subscriptions have it" in page.locator("main").inner_text()
    page.get_by_role("button", name="Retire").click()
    page.wait_for_selector("#product_details >> text=Offer it again")
    db.session.commit()
    product = db.session.get(Product, plan.id)
    assert product.retired_at is not None and product.names == {"pt_BR": {"name": "Plano Pro 2025"}}


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_store_categories_move_and_the_product_list_filters(app, new_page, javascript):
    for name in ("Mi plan", "ERP", "Facturación electrónica"):
        category = factories.make_category(name=name)
        factories.make_product("module", category=category, name=f"Módulo de {name}")
    db.session.commit()
    page = _admin(app, new_page, javascript=javascript)
    page.goto("/backoffice/catalog")

    page.get_by_role("button", name="Move Facturación electrónica up").click()
    expect(page.locator("#categories tbody tr").nth(1)).to_contain_text("Facturación electrónica")
    db.session.commit()
    assert [c.name for c in catalog_search.list_categories()] == ["Mi plan", "Facturación electrónica", "ERP"]

    page.select_option("#filter-category", label="ERP")
    if not javascript:
        page.get_by_role("button", name="Filter").click()
    expect(page.locator("#products tbody tr")).to_have_count(1)
    assert "Módulo de ERP" in page.locator("#products").inner_text()
    erp = db.session.scalar(db.select(Category).where(Category.name == "ERP"))
    assert f"category={erp.id}" in page.url
