"""The billing screens in a real browser: a customer finds, filters, reads and downloads its invoices; an
administrator shows, hides and replaces the integration key; the back office's billing staff read every
organisation's invoices; and the invoice screens fit a desktop and a phone."""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from portal.extensions import db
from portal.i18n import format_money
from portal.services.accounts import integration
from tests import factories
from tests.browser.conftest import log_in
from tests.browser.test_look import layout_problems

CUSTOMER = "Panadería Los Aromos SpA"


def make_invoices(org) -> dict:
    """Five documents of `org`, newest first: pending, installments (in English, for its PDF), credit, paid, overdue."""
    now = datetime.now(UTC).replace(microsecond=0)
    overdue = factories.make_invoice(org, issued_at=now - timedelta(days=60))
    paid = factories.make_invoice(org, status="paid", issued_at=now - timedelta(days=40))
    credit = factories.make_invoice(org, kind="credit_note", credit_for=paid, status="paid",
                                    lines=[("Devolución usuario adicional", 1, 4_990)],
                                    issued_at=now - timedelta(days=35))
    installments = factories.make_invoice(org, installments=3, locale="en", issued_at=now - timedelta(days=5),
                                          lines=[("Implementación ERP", 1, 300_000), ("Usuario adicional", 2, 4_990)])
    pending = factories.make_invoice(org, issued_at=now - timedelta(days=1))
    return {"pending": pending, "installments": installments, "credit": credit, "paid": paid, "overdue": overdue}


def _customer_admin(new_page, javascript=True, width=1280):
    org = factories.make_org("customer", name=CUSTOMER, address="Av. Pajaritos 2150, Maipú, Santiago")
    invoices = make_invoices(org)
    membership = factories.make_member("customer", "admin", organisation=org)
    db.session.commit()
    page = new_page(javascript=javascript, width=width)
    log_in(page, membership.user.email)
    return page, {name: invoice.display_number for name, invoice in invoices.items()}, invoices


def _staff(new_page, role="billing", width=1280):
    db.session.commit()  # end a read transaction older than the browser's writes: SQLite would refuse ours
    membership = factories.make_member("vendor", role)
    db.session.commit()
    page = new_page(width=width)
    log_in(page, membership.user.email)
    return page


def _listed(page):
    """The invoice numbers in the list, in order (expect() waits until they are the ones expected)."""
    return page.locator("#invoices tbody td.stack-title > a")


def _mark(page) -> None:
    """Mark the window and the heading: a reload loses the first, a swap of the whole body (hx-boost) the second."""
    page.evaluate("window.untouched = true; document.querySelector('main h1').dataset.untouched = 'yes'")


def _untouched(page) -> bool:
    return page.evaluate("window.untouched === true && document.querySelector('main h1').dataset.untouched === 'yes'")


def _filter(page, status: str, javascript: bool) -> None:
    page.select_option("#status", label=status)
    if not javascript:
        page.get_by_role("button", name="Filter").click()


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_customer_filters_its_invoices_reads_one_and_downloads_its_pdf(app, new_page, javascript):
    page, numbers, invoices = _customer_admin(new_page, javascript=javascript)
    total = format_money(invoices["installments"].total, "CLP", "en")
    page.locator(".sidebar").get_by_role("link", name="Invoices").click()
    page.wait_for_url("**/customer/invoices")
    assert page.locator(".sidebar [aria-current=page]").inner_text() == "Invoices"
    expect(_listed(page)).to_have_text([numbers[name] for name in ("pending", "installments", "credit", "paid",
                                                                   "overdue")])
    assert "5 invoices" in page.locator("#invoices").inner_text()
    if javascript:
        _mark(page)

    _filter(page, "Overdue", javascript)
    expect(_listed(page)).to_have_text([numbers["overdue"]])
    assert page.url.endswith("/customer/invoices?status=overdue")

    _filter(page, "Paid", javascript)
    expect(_listed(page)).to_have_text([numbers["credit"], numbers["paid"]])
    assert "Credit note" in page.locator("#invoices tbody tr").first.inner_text()

    _filter(page, "Pending", javascript)
    expect(_listed(page)).to_have_text([numbers["pending"], numbers["installments"]])
    assert page.url.endswith("/customer/invoices?status=open")
    if javascript:
        assert _untouched(page)  # only #invoices was swapped, never the page

    page.locator("#invoices").get_by_role("link", name=numbers["installments"], exact=True).click()
    expect(page.locator("h1")).to_have_text(f"Invoice {numbers['installments']}")
    lines = page.get_by_role("table", name="Lines").locator("tbody tr")
    expect(lines).to_have_count(2)
    assert "Implementación ERP" in lines.nth(0).inner_text() and "CLP300,000" in lines.nth(0).inner_text()
    assert "Usuario adicional" in lines.nth(1).inner_text() and "CLP9,980" in lines.nth(1).inner_text()
    totals = page.get_by_role("table", name="Totals").inner_text()
    assert "CLP309,980" in totals and "Tax 19%" in totals
    assert page.get_by_role("table", name="Totals").locator("tfoot td").inner_text() == total
    assert page.get_by_role("table", name="Installments").locator("tbody tr").count() == 3
    assert CUSTOMER in page.locator("main").inner_text()

    with page.expect_download(timeout=60_000) as download_info:
        page.get_by_role("link", name="Download PDF").click()
    download = download_info.value
    assert download.suggested_filename.endswith(f"-{numbers['installments']}.pdf")
    text = "\n".join(pdf_page.extract_text() for pdf_page in PdfReader(download.path()).pages)
    assert numbers["installments"] in text
    assert CUSTOMER in text
    assert total in text


def test_the_integration_key_is_shown_once_revealed_hidden_and_replaced(app, page, browser_login):
    membership = browser_login("customer", "admin")
    org_id = membership.organisation_id
    page.locator(".sidebar").get_by_role("link", name="Integration key").click()
    page.wait_for_url("**/customer/integration")
    key = page.locator("#integration-key-value")

    page.get_by_role("button", name="Generate key").click()
    page.wait_for_selector(".flash-success >> text=Your integration key was generated.")
    first = key.input_value()
    assert first.startswith(integration.KEY_PREFIX) and len(first) > 40
    db.session.rollback()  # read what the browser's request wrote
    assert integration.organisation_for_key(first).id == org_id

    page.reload()  # shown once: from now on only its first characters
    masked = key.input_value()
    assert masked.startswith(first[:integration.SHOWN_PREFIX]) and first not in masked and "•" in masked

    _mark(page)
    page.get_by_role("button", name="Show").click()
    expect(key).to_have_value(first)
    page.get_by_role("link", name="Hide").click()
    expect(key).to_have_value(masked)
    assert _untouched(page)  # Show and Hide swapped #integration_key only

    page.get_by_role("link", name="Generate new key").click()
    expect(page.locator("h2", has_text="Generate a new key?")).to_be_visible()
    warning = page.locator(".flash-warning").inner_text()
    assert "stops working at once" in warning and first[:integration.SHOWN_PREFIX] in warning
    db.session.rollback()
    assert integration.organisation_for_key(first).id == org_id  # asking changed nothing

    page.get_by_role("button", name="Generate new key").click()
    page.wait_for_selector(".flash-success >> text=the previous one no longer works")
    second = key.input_value()
    assert second.startswith(integration.KEY_PREFIX) and second != first
    db.session.rollback()
    assert integration.organisation_for_key(first) is None
    assert integration.organisation_for_key(second).id == org_id


def test_billing_staff_list_every_organisations_invoices_filter_and_open_one(app, new_page):
    aromos = factories.make_org("customer", name=CUSTOMER)
    dourado = factories.make_org("customer", "BR", name="Padaria Pão Dourado Ltda")
    horizonte = factories.make_org("reseller", "BR", name="Contabilidade Horizonte Ltda")
    open_one = factories.make_invoice(aromos).display_number
    paid = factories.make_invoice(dourado, status="paid", lines=[("Plano Empresarial", 1, 123_450)])
    paid_number, paid_id = paid.display_number, paid.id
    reseller_one = factories.make_invoice(horizonte).display_number
    page = _staff(new_page, "billing")

    page.locator(".sidebar").get_by_role("link", name="Invoices").click()
    page.wait_for_url("**/backoffice/invoices")
    listed = page.locator("#invoices tbody").inner_text()
    for text in (open_one, paid_number, reseller_one, CUSTOMER, "Padaria Pão Dourado Ltda",
                 "Contabilidade Horizonte Ltda"):
        assert text in listed

    _mark(page)
    page.select_option("#status", label="Paid")
    expect(_listed(page)).to_have_text([paid_number])
    assert "status=paid" in page.url
    assert _untouched(page)

    page.locator("#invoices").get_by_role("link", name=paid_number).click()
    page.wait_for_url(f"**/backoffice/invoices/{paid_id}")
    expect(page.locator("h1")).to_have_text(f"Invoice {paid_number}")
    assert "Padaria Pão Dourado Ltda" in page.locator(".page-head").inner_text()
    assert "Plano Empresarial" in page.get_by_role("table", name="Lines").inner_text()
    assert "Paid" in page.locator(".badge").first.inner_text()
    assert "Not rendered yet" in page.locator("main").inner_text()


@pytest.mark.parametrize("width", [1280, 390])
def test_the_billing_screens_fit_the_screen(app, new_page, screenshot, width):
    """Screenshots for people to look at; nothing sticks out and the page never scrolls sideways."""
    page, _, invoices = _customer_admin(new_page, width=width)
    installments_id = invoices["installments"].id
    problems = []
    staff = _staff(new_page, "billing", width=width)
    for tab, url, name in ((page, "/customer/invoices", "customer-invoices"),
                           (page, f"/customer/invoices/{installments_id}", "customer-invoice"),
                           (staff, "/backoffice/invoices", "backoffice-invoices"),
                           (staff, f"/backoffice/invoices/{installments_id}", "backoffice-invoice")):
        tab.goto(url)
        problems += [f"{url}: {problem}" for problem in layout_problems(tab)]
        screenshot(tab, f"{name}-{width}")
    assert not problems, "\n".join(problems)
