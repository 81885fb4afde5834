"""axe-core finds no WCAG 2.1 A/AA violation on the foundation and billing screens, on a desktop and on a phone.

axe-core 4.14.1 is vendored, unchanged and with its licence, under tests/browser/vendor/axe-core/ (see the
README there); AXE_CORE_JS=/path/to/axe.min.js checks with another build.
"""

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from portal.extensions import db
from portal.services.accounts import integration
from portal.services.accounts import organisations as accounts
from portal.services.payments import checkout, settlement
from tests import factories
from tests.browser.conftest import log_in
from tests.services.payments.helpers import make_card

AXE = Path(os.environ.get("AXE_CORE_JS") or Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js")
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
# "{invoice}" is an invoice (with installments, a credit note and payments: one received, one declined by the card's
# bank) that the test makes for the screen.
SCREENS = {
    None: ["/login", "/password/forgot", "/nothing-here"],
    "customer": ["/customer/", "/team", "/account/password", "/customer/invoices", "/customer/invoices/{invoice}",
                 "/customer/integration", "/customer/integration/generate", "/nothing-here"],
    "reseller": ["/reseller/", "/reseller/payment", "/reseller/payment/invoices/{invoice}",
                 "/reseller/payment-methods"],
    "partner": ["/partner/", "/partner/invoices", "/partner/invoices/{invoice}", "/partner/payment-methods"],
    "vendor": ["/backoffice/", "/backoffice/invoices", "/backoffice/invoices/{invoice}", "/backoffice/catalog"],
}


def make_screens_data(kind: str):
    """A member of a new organisation of `kind`, with what its screens show; and the values of SCREENS' paths."""
    membership = factories.make_member(kind, "admin" if kind != "reseller" else "manager")
    values = {}
    if kind == "customer":
        other = factories.make_org("reseller", name="Contadores Asociados del Sur Ltda.")
        accounts.add_membership(membership.user, other, "accountant")
        advisor = factories.make_member("vendor", "advisor")
        membership.organisation.advisor_id = advisor.user_id
        integration.generate_key(membership.organisation, membership.user)
    billed = membership.organisation if kind in ("customer", "partner", "reseller") else factories.make_org("customer")
    invoice = factories.make_invoice(billed, installments=3)
    factories.make_invoice(billed, kind="credit_note", credit_for=invoice, lines=[("Devolución", 1, 4_990)])
    factories.make_invoice(billed, status="paid")
    _make_payments(billed, invoice)
    values["invoice"] = invoice.id
    db.session.commit()
    return membership, values


def _make_payments(org, invoice) -> None:
    """A part of `invoice` received by transfer, and a card payment its bank declined: the payments panel."""
    now = datetime.now(UTC)
    make_card(org, last4="4444", auto_pay=False)  # a card on file, besides the declined one
    checkout.record_received(org, invoice, 5_000, "bank_transfer", "axe-transfer", now, payer_reference="TRF 0042")
    declined = checkout.claim_invoice_payment(org, invoice, 4_990, "card", "axe-card", now,
                                              payment_method=make_card(org, behaviour="declined")).payment
    settlement.end(declined, "failed", now, failure_code="card_declined")


def axe_violations(page) -> list[str]:
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", RULES
    )
    problems = []
    for violation in result["violations"]:
        where = ", ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
        problems.append(f"{page.url}: {violation['id']} ({violation['impact']}) {violation['help']} — {where}")
    return problems


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("kind", list(SCREENS))
def test_axe_finds_no_violation(app, new_page, kind, width):
    # Playwright injects axe as an inline script, which the portal's CSP rightly refuses; CSP is tested elsewhere.
    page = new_page(width=width, bypass_csp=True)
    values = {}
    if kind is not None:
        membership, values = make_screens_data(kind)
        log_in(page, membership.user.email)
    problems = []
    for path in SCREENS[kind]:
        response = page.goto(path.format(**values))
        assert response.ok or path == "/nothing-here", f"{path} answered {response.status}: axe would check an error"
        if "{invoice}" in path and kind != "vendor":  # the payer's invoice page: axe checks its payments too
            assert page.locator("#invoice-payments-title + .table-wrap tbody tr").count() == 2, path
        problems += axe_violations(page)
        for menu in page.locator("details[data-menu]").all():
            menu.locator("summary").click()
            problems += [f"with {menu.get_attribute('class')} open: {p}" for p in axe_violations(page)]
            menu.locator("summary").click()
    assert not problems, "\n".join(problems)
