"""The frame around every screen: language and organisation switchers, the account menu, htmx forms."""

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import Membership, User
from portal.services.accounts import organisations as accounts
from tests import factories
from tests.browser.conftest import log_in


def _choose_language(page, name: str) -> None:
    page.locator(".locale-menu summary").click()
    page.locator(".locale-menu").get_by_role("button", name=name).click()


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_the_language_switcher_changes_the_page_language_and_remembers_it(app, new_page, javascript):
    page = new_page(javascript=javascript)
    membership = factories.make_member("customer", "admin", name="Ana Souza")
    db.session.commit()
    log_in(page, membership.user.email)
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Hello, Ana Souza"

    _choose_language(page, "Español")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    assert page.locator("h1").inner_text() == "Hola, Ana Souza"
    assert page.locator(".nav [aria-current=page]").inner_text() == "Inicio"

    _choose_language(page, "Português (Brasil)")
    expect(page.locator("html")).to_have_attribute("lang", "pt-BR")
    assert page.locator("h1").inner_text() == "Olá, Ana Souza"
    page.reload()
    assert page.locator("html").get_attribute("lang") == "pt-BR"
    db.session.rollback()  # end the test's own snapshot to see what the browser's requests wrote
    assert db.session.get(User, membership.user_id).locale == "pt_BR"


def test_a_visitor_can_change_the_language_of_the_login_page(page):
    page.goto("/login")
    _choose_language(page, "Español")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    assert page.locator("#login_form button[type=submit]").inner_text() == "Iniciar sesión"
    assert page.url.endswith("/login")


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_the_organisation_switcher_acts_for_the_other_organisation(app, new_page, live_url, javascript):
    page = new_page(javascript=javascript)
    accountant = factories.make_member("reseller", "accountant")
    shop = factories.make_org("customer", name="Ferretería El Roble Ltda.")
    accounts.add_membership(accountant.user, shop, "admin")
    db.session.commit()
    log_in(page, accountant.user.email)
    assert page.url == live_url + "/reseller/"
    assert page.locator(".topbar .org-title").first.inner_text() == accountant.organisation.name

    page.locator(".org-menu summary").click()
    page.locator(".org-menu").get_by_role("button", name="Ferretería El Roble Ltda.").click()
    page.wait_for_url(live_url + "/customer/")
    assert page.locator(".org-menu summary .org-title").inner_text() == "Ferretería El Roble Ltda."
    assert page.locator(".org-menu summary .org-role").inner_text() == "Administrator"
    assert "Ferretería El Roble Ltda." in page.locator("main").inner_text()


def test_the_account_menu_opens_and_closes_with_the_keyboard(page, browser_login):
    browser_login("reseller", "manager")
    summary = page.locator(".user-menu summary")
    for _ in range(12):
        page.keyboard.press("Tab")
        if summary.evaluate("element => element === document.activeElement"):
            break
    else:
        pytest.fail("the account menu cannot be reached with Tab")
    page.keyboard.press("Enter")
    assert page.locator(".user-menu").get_attribute("open") is not None
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Team"
    page.keyboard.press("Escape")
    assert page.locator(".user-menu").get_attribute("open") is None
    assert summary.evaluate("element => element === document.activeElement")


def test_the_skip_link_is_the_first_stop_and_jumps_to_the_content(page, browser_login):
    browser_login("customer", "member")
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    assert skip.evaluate("element => element === document.activeElement")
    assert skip.is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_the_invite_form_swaps_only_its_block_and_shows_the_errors(page, browser_login):
    membership = browser_login("customer", "admin")
    page.goto("/team")
    page.evaluate("document.querySelector('h1').dataset.untouched = 'yes'")

    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.locator("#invite_form button[type=submit]").click()
    assert answer.value.status == 422
    assert answer.value.request.headers.get("hx-request") == "true"
    assert "<html" not in answer.value.text()
    page.wait_for_selector("#invite_form .error")
    assert page.locator("#name-error").inner_text() == "This field is required."
    assert page.locator("#email-error").inner_text() == "This field is required."
    assert page.evaluate("document.querySelector('h1').dataset.untouched") == "yes"
    assert page.locator("#invite_form").count() == 1

    page.locator("#name").fill("Tomás Pérez")
    page.locator("#email").fill("not-an-email")
    page.locator("#invite_form button[type=submit]").click()
    page.wait_for_selector("#email-error >> text=Invalid email address.")
    assert page.locator("#name").input_value() == "Tomás Pérez"

    page.locator("#email").fill("tomas@aromos.cl")
    page.locator("#role").select_option("member")
    page.locator("#invite_form button[type=submit]").click()
    page.wait_for_selector(".flash-success")
    assert "tomas@aromos.cl has been invited." in page.locator(".flash-success").inner_text()
    assert "tomas@aromos.cl" in page.locator("table").inner_text()
    db.session.rollback()  # end the test's own snapshot to see what the browser's requests wrote
    invited = db.session.scalar(db.select(User).where(User.email == "tomas@aromos.cl"))
    assert db.session.scalar(
        db.select(Membership.role).where(
            Membership.user_id == invited.id, Membership.organisation_id == membership.organisation_id
        )
    ) == "member"


@pytest.mark.parametrize("width", [390, 800, 1024, 1280])
def test_the_advisor_in_the_top_bar_is_named_as_such_at_every_width(app, new_page, screenshot, width):
    advisor = factories.make_member("vendor", "advisor", name="Camila Soto")
    shop = factories.make_org("customer", name="Panadería Los Aromos SpA", advisor_id=advisor.user_id)
    membership = factories.make_member("customer", "admin", organisation=shop, name="Javiera Muñoz", locale="es")
    db.session.commit()
    page = new_page(width=width, height=844, locale="es-CL")
    log_in(page, membership.user.email)
    advisor_box = page.locator(".topbar .advisor")
    label, link = advisor_box.locator(".advisor-label"), advisor_box.get_by_role("link", name="Camila Soto")
    assert label.is_visible() and label.inner_text() == "Tu asesor comercial"
    assert link.is_visible() and link.get_attribute("href") == "/customer/advisor/requests/new"
    for element in (label, link):
        box = element.bounding_box()
        assert box and box["width"] > 0 and box["x"] >= 0 and box["x"] + box["width"] <= width, box
    screenshot(page, f"advisor-es-{width}")
