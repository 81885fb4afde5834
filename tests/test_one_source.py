"""Each status set and each label has one home that every caller imports, and services never read the request."""

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from portal import labels
from portal.extensions import db
from portal.models import Invoice
from portal.models.accounts import ORG_KINDS
from portal.models.catalog import METRICS, PERIODS, PRODUCT_KINDS
from portal.models.invoices import INVOICE_KINDS, INVOICE_STATUSES
from portal.models.subscriptions import SUBSCRIPTION_STATUSES
from portal.services.billing import invoicing, rules, usage
from tests import factories

PORTAL = Path(__file__).resolve().parent.parent / "portal"

# name -> the one module that defines it
HOMES = {
    "LIVE_STATUSES": "portal/services/billing/rules.py",
    "SUBSCRIBED_STATUSES": "portal/services/billing/rules.py",
    "ISSUED_STATUSES": "portal/services/billing/invoicing.py",
    "CREDITABLE_STATUSES": "portal/services/billing/invoicing.py",
    "ORGANISATION_KIND_LABELS": "portal/labels.py",
    "PRODUCT_KIND_LABELS": "portal/labels.py",
    "INVOICE_KIND_LABELS": "portal/labels.py",
    "INVOICE_STATUS_LABELS": "portal/labels.py",
    "SUBSCRIPTION_STATUS_LABELS": "portal/labels.py",
    "PERIOD_LABELS": "portal/labels.py",
    "METRIC_LABELS": "portal/labels.py",
}


def _modules():
    for path in sorted(PORTAL.rglob("*.py")):
        yield path, ast.parse(path.read_text(), filename=str(path))


def test_subscription_status_sets_mean_what_their_names_say():
    # Billed, renewed by the sweep, changeable, metered:
    assert rules.LIVE_STATUSES == ("trial", "active", "past_due")
    # Still holding its plan and add-ons (a suspended subscription is resumed with them):
    assert rules.SUBSCRIBED_STATUSES == ("trial", "active", "past_due", "suspended")
    assert set(SUBSCRIPTION_STATUSES) - set(rules.SUBSCRIBED_STATUSES) == {"cancelled"}
    assert usage.METERED_STATUSES is rules.LIVE_STATUSES


def test_invoice_status_sets_mean_what_their_names_say():
    assert invoicing.ISSUED_STATUSES == ("open", "paid", "void", "uncollectible")
    assert set(INVOICE_STATUSES) - set(invoicing.ISSUED_STATUSES) == {"draft"}
    assert invoicing.CREDITABLE_STATUSES == ("open", "paid")


def test_every_stored_code_has_its_label():
    assert set(labels.ORGANISATION_KIND_LABELS) == set(ORG_KINDS)
    assert set(labels.PRODUCT_KIND_LABELS) == set(PRODUCT_KINDS)
    assert set(labels.INVOICE_KIND_LABELS) == set(INVOICE_KINDS)
    assert set(labels.INVOICE_STATUS_LABELS) == {*INVOICE_STATUSES, "overdue"}
    assert set(labels.SUBSCRIPTION_STATUS_LABELS) == set(SUBSCRIPTION_STATUSES)
    assert set(labels.PERIOD_LABELS) == set(PERIODS)
    assert set(labels.METRIC_LABELS) == set(METRICS)


def test_each_status_set_and_label_is_defined_once():
    defined = {}
    for path, tree in _modules():
        for node in ast.walk(tree):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
                if isinstance(node, ast.AnnAssign) else []
            for target in targets:
                if isinstance(target, ast.Name) and (target.id.endswith("_STATUSES") or target.id.endswith("_LABELS")):
                    defined.setdefault(target.id, []).append(str(path.relative_to(PORTAL.parent)))
    for name, home in HOMES.items():
        assert defined.pop(name) == [home], name
    # No second definition under another spelling of the same name ("KIND_LABELS", "STATUS_LABELS", ...):
    assert not {name for name in defined if name in {"KIND_LABELS", "STATUS_LABELS", "CUSTOMER_STATUSES"}}


@pytest.mark.parametrize("status, due, overdue", [
    ("open", -1, True), ("open", +1, False), ("open", None, False), ("paid", -1, False), ("void", -1, False),
    ("uncollectible", -1, False), ("draft", -1, False),
])
def test_overdue_is_one_rule_in_python_and_in_sql(app, status, due, overdue):
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    org = factories.make_org(kind="customer")
    invoice = Invoice(organisation_id=org.id, kind="invoice", currency="CLP", locale="es", status=status,
                      vendor_snapshot={}, customer_snapshot={}, subtotal=0, tax_total=0, total=0, created_at=now,
                      due_at=None if due is None else now + timedelta(days=due))
    db.session.add(invoice)
    db.session.flush()
    assert invoice.is_overdue(now) is overdue
    found = db.session.scalars(db.select(Invoice.id).where(Invoice.id == invoice.id, Invoice.is_overdue(now)))
    assert (list(found) == [invoice.id]) is overdue
    not_overdue = db.session.scalars(db.select(Invoice.id).where(Invoice.id == invoice.id, ~Invoice.is_overdue(now)))
    assert (list(not_overdue) == [invoice.id]) is not overdue


def _reads_the_request(tree) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "flask" and any(a.name == "request" for a in node.names):
            lines.append(node.lineno)
        if isinstance(node, ast.Attribute) and node.attr == "request" and isinstance(node.value, ast.Name) \
                and node.value.id == "flask":
            lines.append(node.lineno)
    return lines


def test_services_and_models_never_read_the_request():
    found = {str(path): lines for path, tree in _modules() for lines in [_reads_the_request(tree)]
             if lines and ("/services/" in str(path) or "/models/" in str(path) or "/workflows/" in str(path))}
    assert found == {}


def test_the_request_finder_finds_both_spellings():
    assert _reads_the_request(ast.parse("from flask import g, request as r\n")) == [1]
    assert _reads_the_request(ast.parse("import flask\nflask.request.args\n")) == [2]
    assert _reads_the_request(ast.parse("from flask import current_app\n")) == []
