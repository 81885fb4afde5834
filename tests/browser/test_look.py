"""How the foundation screens look: every landing page (and the back office's orders to approve) in every language
at phone, 1024×768 and desktop sizes (screenshots under screenshots/ for people to look at), with nothing
overflowing (the orders to approve with every column in view) and, wider than a phone, the top bar on one line;
and print."""

import shutil
import subprocess
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Error as PlaywrightError
from pypdf import PdfReader

from portal.extensions import db
from portal.services.accounts import organisations as accounts
from portal.services.partners import orders
from tests import factories
from tests.browser.conftest import SCREENSHOTS, log_in

SIZES = [(390, 844), (1024, 768), (1280, 800)]
LOCALES = {"en": "en-US", "es": "es-CL", "pt_BR": "pt-BR"}
PAGES = {
    "login": None,
    "customer": ("customer", "/customer/"),
    "reseller": ("reseller", "/reseller/"),
    "partner": ("partner", "/partner/"),
    "vendor": ("vendor", "/backoffice/"),
    "vendor-orders": ("vendor", "/backoffice/partner-orders"),
}
# The screens whose tables keep every column in view (TABLES_SCROLLING below); the others' tables may scroll.
EVERY_COLUMN_IN_VIEW = {"vendor-orders"}


def make_people() -> dict[str, str]:
    """Organisations with the long names, addresses and relations real ones have; kind → user's e-mail."""
    vendor = factories.make_org("vendor", name="Vitrine Software SpA", address="Av. Apoquindo 4501, Las Condes")
    admin = factories.make_member("vendor", "admin", organisation=vendor, name="Valentina Rojas")
    advisor = factories.make_member("vendor", "advisor", organisation=vendor, name="Camila Soto")
    shop = factories.make_org("customer", name="Panadería Los Aromos SpA", trade_name="Los Aromos",
                              address="Av. Pajaritos 2150, Maipú, Santiago", advisor_id=advisor.user_id)
    customer = factories.make_member("customer", "admin", organisation=shop, name="Javiera Muñoz")
    factories.make_member("customer", "member", organisation=shop, name="Tomás Pérez")
    office = factories.make_org("reseller", "BR", name="Contabilidade Horizonte Ltda", trade_name="Horizonte Contábil",
                                address="Av. Paulista 900, São Paulo - SP")
    manager = factories.make_member("reseller", "manager", organisation=office, name="Ana Beatriz Lima")
    for name in ("Padaria Pão Dourado Ltda", "Mercadinho Boa Vista Comércio de Alimentos Ltda", "Ótica Central ME"):
        factories.make_org("customer", "BR", name=name, reseller_id=office.id)
    moderniza = factories.make_org("partner", "BR", name="Moderniza Parceiro Sul Ltda")
    partner = factories.make_member("partner", "admin", organisation=moderniza, name="Carla Souza")
    _, products = factories.make_partner_catalog(moderniza)
    now = datetime.now(UTC)
    orders.add_line(moderniza, partner.user, "purchase", products["completo"], 10, now)  # and a bonus license
    orders.add_line(moderniza, partner.user, "purchase", products["light"], 5, now)
    orders.confirm(orders.draft_for(moderniza, partner.user), partner.user, now)  # waiting for the vendor's approval
    accounts.add_membership(customer.user, office, "accountant")
    db.session.commit()
    return {"customer": customer.user.email, "reseller": manager.user.email, "partner": partner.user.email,
            "vendor": admin.user.email}


def layout_problems(page) -> list[str]:
    """What sticks out of the page shown; waits for a page still being replaced by the next one to have loaded."""
    for _ in range(20):
        page.wait_for_load_state("load")
        try:
            problems = page.evaluate(LAYOUT_CHECK)
        except PlaywrightError as error:  # the document was replaced while the check ran
            if "context was destroyed" not in str(error):
                raise
            problems = None
        if problems is not None:
            return problems
        page.wait_for_timeout(100)
    raise AssertionError("the page never finished loading")


LAYOUT_CHECK = """() => {
        if (!document.documentElement || !document.body || document.readyState !== 'complete') { return null; }
        const problems = [];
        const width = document.documentElement.clientWidth;
        if (document.documentElement.scrollWidth > width) {
            problems.push(`the page scrolls sideways: ${document.documentElement.scrollWidth}px in ${width}px`);
        }
        document.querySelectorAll('.topbar > *, main h1, main .panel, .sidebar').forEach(element => {
            const box = element.getBoundingClientRect();
            if (box.width && (box.right > width + 0.5 || box.left < -0.5)) {
                problems.push(`${element.className || element.tagName} sticks out: ${box.left}..${box.right}`);
            }
        });
        // Beside the sidebar (wider than a phone) the top bar is one line: nothing in it starts below another's bottom.
        const bar = document.querySelector('.topbar');
        const boxes = bar && width > 720
            ? [...bar.children].map(child => child.getBoundingClientRect()).filter(box => box.width && box.height) : [];
        const firstBottom = Math.min(...boxes.map(box => box.bottom));
        if (boxes.some(box => box.top >= firstBottom)) { problems.push('the top bar takes two lines'); }
        const headings = document.querySelectorAll('h1').length;
        if (headings !== 1) { problems.push(`${headings} h1 headings`); }
        return problems;
    }"""


# A table of its own may scroll sideways inside its panel; a list of invoices and an invoice's lines must not: every
# column (its buttons too) is read without scrolling.
TABLES_SCROLLING = """() => [...document.querySelectorAll('main .table-wrap')]
    .filter(wrap => wrap.scrollWidth > wrap.clientWidth + 1)
    .map(wrap => `a table scrolls sideways: ${wrap.scrollWidth}px in ${wrap.clientWidth}px`)"""


def fits_here_and_at_1024(page, problems: list[str], where: str) -> None:
    """What sticks out at this size and, from a desktop, at 1024 px too (the sidebar beside a narrower main)."""
    width = page.viewport_size["width"]
    for size in [width, 1024] if width > 1024 else [width]:
        page.set_viewport_size({"width": size, "height": page.viewport_size["height"]})
        found = layout_problems(page) + page.evaluate(TABLES_SCROLLING)
        problems += [f"{where} at {size}px: {problem}" for problem in found]
    page.set_viewport_size({"width": width, "height": page.viewport_size["height"]})


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("screen", PAGES)
def test_landing_pages_fit_every_screen_in_every_language(app, new_page, screenshot, screen, locale):
    people = make_people()
    page = new_page(locale=LOCALES[locale])
    if PAGES[screen] is not None:
        kind, path = PAGES[screen]
        log_in(page, people[kind])
        page.goto(path)
    else:
        page.goto("/login")
    assert page.locator("html").get_attribute("lang") == locale.replace("_", "-")
    problems = []
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        found = layout_problems(page) + (page.evaluate(TABLES_SCROLLING) if screen in EVERY_COLUMN_IN_VIEW else [])
        problems += [f"{width}px: {problem}" for problem in found]
        screenshot(page, f"{screen}-{locale}-{width}")
    assert not problems, "\n".join(problems)


def test_a_printed_page_shows_the_content_without_the_portal_around_it(app, page, browser_login):
    membership = browser_login("customer", "admin", name="Javiera Muñoz")
    page.goto("/customer/")
    SCREENSHOTS.mkdir(exist_ok=True)
    pdf_path = SCREENSHOTS / "print-customer-home.pdf"
    page.pdf(path=str(pdf_path), format="A4", print_background=True)
    text = "\n".join(p.extract_text() for p in PdfReader(pdf_path).pages)
    assert "Hello, Javiera Muñoz" in text
    assert membership.organisation.name in text
    for chrome in ("Skip to content", "Log out", "Invite people", "English"):
        assert chrome not in text
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf_path),
                        str(SCREENSHOTS / "print-customer-home")], check=True)
