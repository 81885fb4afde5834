"""Invoicing: numbers per series, fiscal snapshots, tax per line, due dates, installments, states, credit notes."""

import threading
from datetime import timedelta

import pytest

from portal.extensions import db
from portal.models import Invoice, InvoicePdf, InvoiceSeries
from portal.services.billing import credit_notes, invoicing
from portal.services.billing.rules import LineSpec
from portal.services.errors import DomainError
from tests import factories
from tests.services.billing_helpers import JAN, assert_adds_up, invoices_of

PLAN = LineSpec("recurring", "Plan Pyme", 29_990)
USERS = LineSpec("recurring", "Usuario adicional", 4_990, quantity=2)


def _refused(code, call, *args, **kwargs):
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, str(caught.value.message)
    return caught.value


def test_an_invoice_takes_tax_per_line_and_adds_up(cat):
    org = factories.make_org("customer", "CL", address="Av. Pajaritos 2150, Maipú")
    invoice = invoicing.issue_invoice(org, "CLP", [PLAN, USERS], JAN)
    assert [(line.amount, line.tax_rate_bp, line.tax_amount) for line in invoice.lines] == [
        (29_990, 1900, 5_698), (9_980, 1900, 1_896)]
    assert (invoice.subtotal, invoice.tax_total, invoice.total) == (39_970, 7_594, 47_564)
    assert (invoice.status, invoice.issued_at, invoice.due_at) == ("open", JAN, JAN + timedelta(days=10))
    assert invoice.display_number == "F000001"
    assert_adds_up(invoice)


def test_the_fiscal_data_is_a_snapshot(cat):
    org = factories.make_org("customer", "CL", tax_id="77.123.456-9", address="Av. Pajaritos 2150")
    invoice = invoicing.issue_invoice(org, "CLP", [PLAN], JAN)
    org.name, org.address = "Otro Nombre SpA", "Otra calle 1"
    db.session.flush()
    db.session.refresh(invoice)
    assert invoice.customer_snapshot["name"] != "Otro Nombre SpA"
    assert invoice.customer_snapshot["tax_id"] == "77.123.456-9"
    assert invoice.customer_snapshot["address"] == "Av. Pajaritos 2150"
    assert invoice.vendor_snapshot["country"] == "CL" and invoice.vendor_snapshot["tax_id_label"] == "RUT"


def test_numbers_follow_each_other_per_series_and_country(cat):
    db.session.add(InvoiceSeries(code="BR-F", prefix="F-BR-", kind="invoice", country="BR", next_number=41))
    db.session.flush()
    chile, brazil = factories.make_org("customer", "CL"), factories.make_org("customer", "BR")
    numbers = [invoicing.issue_invoice(org, org.currency, [PLAN], JAN).display_number
               for org in (chile, brazil, chile, brazil)]
    assert numbers == ["F000001", "F-BR-000041", "F000002", "F-BR-000042"]


def test_a_country_without_a_tax_rate_pays_no_tax(cat):
    org = factories.make_org("customer", "MX")
    db.session.execute(db.delete(invoicing.TaxRate).where(invoicing.TaxRate.country == "MX"))
    invoice = invoicing.issue_invoice(org, "MXN", [PLAN], JAN)
    assert invoice.tax_total == 0 and invoice.total == 29_990


def test_installments_split_the_total_monthly(cat):
    org = factories.make_org("customer", "CL")
    invoice = invoicing.issue_invoice(org, "CLP", [LineSpec("one_time", "Implementación", 100_001)], JAN,
                                      installments=3)
    assert [part.amount for part in invoice.installments] == [39_667, 39_667, 39_667]
    assert sum(part.amount for part in invoice.installments) == invoice.total
    assert [part.due_at.date().isoformat() for part in invoice.installments] == [
        "2026-01-20", "2026-02-20", "2026-03-20"]


@pytest.mark.parametrize(("lines", "kwargs", "code"), [
    ([], {}, "no_lines"),
    ([LineSpec("recurring", "x", 100, quantity=0)], {}, "invalid_quantity"),
    ([LineSpec("recurring", "x", 100, quantity=10_001)], {}, "invalid_quantity"),
    ([LineSpec("recurring", "x", -100)], {}, "negative_amount"),
    ([LineSpec("recurring", "  ", 100)], {}, "no_description"),
    ([LineSpec("recurring", "x", 10**13)], {}, "amount_too_large"),
    ([LineSpec("recurring", "x", 100), LineSpec("credit", "y", -200)], {}, "negative_total"),
    ([PLAN], {"installments": 0}, "invalid_installments"),
    ([PLAN], {"installments": 13}, "invalid_installments"),
    ([PLAN], {"currency": "EUR"}, "invalid_currency"),
])
def test_bad_invoices_are_refused_without_using_a_number(cat, lines, kwargs, code):
    org = factories.make_org("customer", "CL")
    currency = kwargs.pop("currency", "CLP")
    _refused(code, invoicing.issue_invoice, org, currency, lines, JAN, **kwargs)
    assert invoices_of(org) == []
    assert invoicing.issue_invoice(org, "CLP", [PLAN], JAN).number == 1


def test_a_period_is_invoiced_once_and_a_refused_second_uses_no_number(cat):
    org = factories.make_org("customer", "CL")
    first = invoicing.issue_invoice(org, "CLP", [PLAN], JAN, period_key="sub:1:2026-01-10T09:00:00")
    _refused("already_invoiced", invoicing.issue_invoice, org, "CLP", [PLAN], JAN,
             period_key="sub:1:2026-01-10T09:00:00")
    assert [invoice.id for invoice in invoices_of(org)] == [first.id]
    assert invoicing.issue_invoice(org, "CLP", [PLAN], JAN).number == 2


def test_a_draft_gets_its_number_when_issued(cat):
    org = factories.make_org("customer", "CL")
    draft = invoicing.issue_invoice(org, "CLP", [PLAN], JAN, draft=True)
    assert (draft.status, draft.number) == ("draft", None)
    invoicing.issue_invoice(org, "CLP", [PLAN], JAN)
    invoicing.finalize_invoice(draft, JAN + timedelta(days=1))
    assert (draft.status, draft.number, draft.due_at) == ("open", 2, JAN + timedelta(days=11))


# States


def test_only_an_open_invoice_is_paid_and_a_paid_one_is_never_voided(cat):
    org = factories.make_org("customer", "CL")
    invoice = invoicing.issue_invoice(org, "CLP", [PLAN], JAN)
    invoicing.mark_paid(invoice, JAN + timedelta(days=2))
    assert (invoice.status, invoice.paid_at) == ("paid", JAN + timedelta(days=2))
    _refused("not_open", invoicing.mark_paid, invoice, JAN)
    error = _refused("paid_cannot_be_voided", invoicing.void_invoice, invoice, JAN)
    assert "credit note" in str(error.message)
    _refused("not_open", invoicing.mark_uncollectible, invoice, JAN)


def test_void_and_uncollectible_come_from_open(cat):
    org = factories.make_org("customer", "CL")
    mistaken = invoicing.issue_invoice(org, "CLP", [PLAN], JAN)
    invoicing.void_invoice(mistaken, JAN, reason="Emitida dos veces")
    assert (mistaken.status, mistaken.voided_at, mistaken.number) == ("void", JAN, 1)
    lost = invoicing.issue_invoice(org, "CLP", [PLAN], JAN)
    invoicing.mark_uncollectible(lost, JAN + timedelta(days=90))
    assert lost.status == "uncollectible"
    _refused("not_open", invoicing.mark_paid, lost, JAN)


def test_an_invoice_of_zero_is_paid_when_issued(cat):
    org = factories.make_org("customer", "CL")
    invoice = invoicing.issue_invoice(org, "CLP", [LineSpec("recurring", "Plan gratuito", 0)], JAN)
    assert (invoice.status, invoice.paid_at, invoice.total) == ("paid", JAN, 0)


# Credit notes


def test_a_credit_note_for_a_paid_invoice_is_a_refund_in_its_own_series(cat):
    org = factories.make_org("customer", "CL")
    invoice = invoicing.issue_invoice(org, "CLP", [PLAN], JAN)
    invoicing.mark_paid(invoice, JAN)
    note = credit_notes.issue_credit_note(invoice, JAN + timedelta(days=3), amount=11_900, reason="Cobro duplicado")
    assert (note.kind, note.display_number, note.credit_for_id, note.status) == ("credit_note", "NC000001",
                                                                                 invoice.id, "open")
    assert (note.subtotal, note.tax_total, note.total) == (10_000, 1_900, 11_900)
    assert "Cobro duplicado" in note.lines[0].description and "F000001" in note.lines[0].description
    assert_adds_up(note)


def test_credit_notes_never_exceed_the_invoice(cat):
    org = factories.make_org("customer", "CL")
    invoice = invoicing.issue_invoice(org, "CLP", [PLAN], JAN)  # 35,688 with tax
    credit_notes.issue_credit_note(invoice, JAN, amount=30_000)
    error = _refused("credit_exceeds_invoice", credit_notes.issue_credit_note, invoice, JAN, amount=5_689)
    assert "5.688" in str(error.message) or "5,688" in str(error.message)
    credit_notes.issue_credit_note(invoice, JAN, amount=5_688)
    assert credit_notes.credited_total(invoice) == invoice.total


def test_crediting_an_open_invoice_lowers_what_is_due_and_settles_it_when_whole(cat):
    org = factories.make_org("customer", "CL")
    invoice = invoicing.issue_invoice(org, "CLP", [PLAN], JAN)
    note = credit_notes.issue_credit_note(invoice, JAN, amount=10_000)
    assert note.status == "paid" and credit_notes.amount_due(invoice) == invoice.total - 10_000
    credit_notes.issue_credit_note(invoice, JAN, amount=invoice.total - 10_000)
    assert invoice.status == "paid" and credit_notes.amount_due(invoice) == 0


def test_void_or_draft_invoices_cannot_be_credited(cat):
    org = factories.make_org("customer", "CL")
    invoice = invoicing.issue_invoice(org, "CLP", [PLAN], JAN)
    invoicing.void_invoice(invoice, JAN)
    _refused("not_creditable", credit_notes.issue_credit_note, invoice, JAN, amount=100)
    draft = invoicing.issue_invoice(org, "CLP", [PLAN], JAN, draft=True)
    _refused("not_creditable", credit_notes.issue_credit_note, draft, JAN, amount=100)


@pytest.mark.parametrize("amount", [0, -5, None, "100", True])
def test_a_credit_note_needs_a_positive_amount(cat, amount):
    org = factories.make_org("customer", "CL")
    invoice = invoicing.issue_invoice(org, "CLP", [PLAN], JAN)
    _refused("invalid_amount", credit_notes.issue_credit_note, invoice, JAN, amount=amount)
    assert invoices_of(org, "credit_note") == []


# After commit


def test_the_pdf_is_rendered_once_the_invoice_is_committed(cat):
    org = factories.make_org("customer", "CL", address="Calle Prat 455, Temuco")
    invoice = invoicing.issue_invoice(org, "CLP", [PLAN, USERS], JAN)
    assert db.session.get(InvoicePdf, invoice.id) is None
    db.session.commit()  # jobs run at once in the tests
    assert db.session.get(InvoicePdf, invoice.id) is not None


def test_nothing_is_rendered_for_a_rolled_back_invoice(cat):
    org = factories.make_org("customer", "CL")
    db.session.commit()
    invoicing.issue_invoice(org, "CLP", [PLAN], JAN)
    db.session.rollback()
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count()).select_from(InvoicePdf)) == 0


# Concurrency


def test_invoices_issued_at_the_same_time_get_distinct_numbers_without_gaps(app, cat, monkeypatch):
    from portal.database import writing

    monkeypatch.setattr(invoicing, "queue_pdf", lambda ids: None)
    org_ids = [factories.make_org("customer", "CL").id for _ in range(4)]
    db.session.commit()
    errors = []

    def issue(org_id):
        try:
            with app.app_context(), writing():
                for _ in range(10):
                    org = db.session.get(invoicing.Organisation, org_id)
                    invoicing.issue_invoice(org, "CLP", [PLAN], JAN)
                    db.session.commit()
        except Exception as error:  # noqa: BLE001 — reported below
            errors.append(error)

    threads = [threading.Thread(target=issue, args=(org_id,)) for org_id in org_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    numbers = sorted(db.session.scalars(db.select(Invoice.number)))
    assert numbers == list(range(1, 41))
