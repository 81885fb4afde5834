"""Logging in and out in a real browser, with and without JavaScript."""

import pytest

from portal.extensions import db
from tests import factories
from tests.browser.conftest import log_in

LANDINGS = [
    ("customer", "admin", "/customer/"),
    ("customer", "member", "/customer/"),
    ("reseller", "manager", "/reseller/"),
    ("reseller", "accountant", "/reseller/"),
    ("partner", "admin", "/partner/"),
    ("partner", "seller", "/partner/"),
    ("vendor", "admin", "/backoffice/"),
    ("vendor", "billing", "/backoffice/"),
    ("vendor", "advisor", "/backoffice/"),
]


@pytest.mark.parametrize(("kind", "role", "landing"), LANDINGS)
def test_each_role_logs_in_and_lands_on_its_page(page, browser_login, screenshot, live_url, kind, role, landing):
    membership = browser_login(kind, role)
    assert page.url == live_url + landing
    assert page.locator(".topbar .org-title").inner_text() == membership.organisation.name
    assert page.locator("h1").count() == 1
    assert page.locator(".user-menu .menu-label").inner_text() == membership.user.name
    screenshot(page, f"landing-{kind}-{role}")


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_wrong_password_shows_the_error_and_keeps_the_email(app, new_page, javascript):
    page = new_page(javascript=javascript)
    user = factories.make_user()
    db.session.commit()
    page.goto("/login")
    page.locator("#email").fill(user.email)
    page.locator("#password").fill("not the password")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.locator("#login_form button[type=submit]").click()
    assert answer.value.status == 422
    page.wait_for_selector("#password-error")
    assert page.locator("#password-error").inner_text() == "The e-mail or the password is not correct."
    assert page.locator("#password").get_attribute("aria-invalid") == "true"
    assert page.locator("#email").input_value() == user.email
    assert page.url.endswith("/login")


def test_a_boosted_login_gives_htmx_the_new_sessions_csrf_token(page, browser_login):
    browser_login("customer", "admin")
    header_token = page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']")
    form_token = page.locator("input[name=csrf_token]").first.input_value()
    assert header_token == form_token


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_logging_out_returns_to_the_login_page_and_closes_the_session(app, new_page, live_url, javascript):
    page = new_page(javascript=javascript)
    membership = factories.make_member("partner", "admin")
    db.session.commit()
    log_in(page, membership.user.email)
    page.locator(".user-menu summary").click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(live_url + "/login")
    assert "You have logged out." in page.locator(".flashes").inner_text()
    page.goto("/partner/")
    assert page.url.startswith(live_url + "/login")
