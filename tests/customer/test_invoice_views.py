"""The customer's invoice screens: list, filter, pages, CSV, detail, PDF download; only the organisation's own."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader

from portal.extensions import db
from portal.models import InvoicePdf
from portal.services.billing import pdf as invoice_pdf
from portal.workflows import invoice_pdfs
from tests import factories


def logged_in(login_as, *args, **kwargs):
    """login_as, then end the test's read transaction that began before the login request wrote: SQLite
    refuses a write from a transaction whose snapshot is older than another connection's commit."""
    client = login_as(*args, **kwargs)
    db.session.commit()
    return client


@pytest.fixture
def customer(login_as):
    return logged_in(login_as, "customer", "admin")


def text_of(response) -> str:
    return response.get_data(as_text=True)


def test_list_shows_the_organisations_invoices_newest_first(customer):
    org = customer.organisation
    older = factories.make_invoice(org, issued_at=datetime(2025, 1, 5, 15, tzinfo=UTC))
    newer = factories.make_invoice(org, issued_at=datetime(2025, 2, 5, 15, tzinfo=UTC), status="paid")
    other = factories.make_invoice(factories.make_org("customer"))
    draft = factories.make_invoice(org, status="draft")
    db.session.commit()

    response = customer.get("/customer/invoices")
    page = text_of(response)
    assert response.status_code == 200
    assert page.index(newer.display_number) < page.index(older.display_number)
    assert other.display_number not in page
    assert f"/customer/invoices/{draft.id}\"" not in page
    assert "2 invoices" in page
    assert "badge ok" in page  # the paid one


def test_filter_by_status_and_overdue(customer):
    org = customer.organisation
    long_ago = datetime.now(UTC) - timedelta(days=60)
    overdue = factories.make_invoice(org, issued_at=long_ago)
    pending = factories.make_invoice(org)
    paid = factories.make_invoice(org, status="paid")
    db.session.commit()

    page = text_of(customer.get("/customer/invoices?status=overdue"))
    assert overdue.display_number in page and pending.display_number not in page and paid.display_number not in page

    page = text_of(customer.get("/customer/invoices?status=open"))
    assert pending.display_number in page and overdue.display_number not in page

    page = text_of(customer.get("/customer/invoices?status=paid"))
    assert paid.display_number in page and pending.display_number not in page


def test_invalid_filter_is_left_out_with_a_message(customer):
    invoice = factories.make_invoice(customer.organisation)
    db.session.commit()
    response = customer.get("/customer/invoices?status=<script>&page=abc")
    assert response.status_code == 422
    page = text_of(response)
    assert "This status filter is not valid" in page
    assert invoice.display_number in page
    assert "<script>" not in page


def test_htmx_filter_returns_only_the_table_block(customer):
    factories.make_invoice(customer.organisation)
    db.session.commit()
    response = customer.get("/customer/invoices?status=open", headers={"HX-Request": "true"})
    page = text_of(response)
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="invoices">')
    assert "<html" not in page


def test_pages_of_twenty_five(customer):
    org = customer.organisation
    start = datetime(2024, 1, 1, 15, tzinfo=UTC)
    invoices = [factories.make_invoice(org, issued_at=start + timedelta(days=n)) for n in range(27)]
    db.session.commit()

    first = text_of(customer.get("/customer/invoices"))
    assert "27 invoices" in first and "Page 1 of 2" in first and "page=2" in first
    assert invoices[-1].display_number in first and invoices[0].display_number not in first

    second = text_of(customer.get("/customer/invoices?page=2"))
    assert invoices[0].display_number in second and invoices[1].display_number in second
    assert invoices[2].display_number not in second

    beyond = customer.get("/customer/invoices?page=99")
    assert beyond.status_code == 200 and "There are no more invoices" in text_of(beyond)


def test_csv_export_has_the_filtered_rows_and_plain_amounts(customer):
    org = customer.organisation
    paid = factories.make_invoice(org, status="paid", lines=[("Plan", 1, 29_990)],
                                  issued_at=datetime(2025, 3, 1, 2, tzinfo=UTC))  # 28 Feb in Santiago
    factories.make_invoice(org)
    factories.make_invoice(factories.make_org("customer"), status="paid")
    db.session.commit()

    response = customer.get("/customer/invoices.csv?status=paid", buffered=True)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment; filename=" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(text_of(response).lstrip("\ufeff"))))
    assert rows[0] == ["Number", "Document", "Status", "Issue date", "Due date", "Paid on", "Currency", "Net", "Tax",
                       "Total"]
    assert len(rows) == 2
    assert rows[1][:4] == [paid.display_number, "Invoice", "Paid", "2025-02-28"]
    assert rows[1][6:] == ["CLP", "29990", "5698", "35688"]


def test_csv_amounts_keep_the_currencys_decimals(login_as):
    brazil = logged_in(login_as, "customer", "admin", organisation=factories.make_org("customer", "BR"))
    factories.make_invoice(brazil.organisation, lines=[("Plano", 1, 123_450)])
    db.session.commit()
    rows = list(csv.reader(io.StringIO(text_of(brazil.get("/customer/invoices.csv", buffered=True)).lstrip("\ufeff"))))
    assert rows[1][6:] == ["BRL", "1234.50", "0.00", "1234.50"]


def test_detail_shows_lines_taxes_totals_and_installments(customer):
    org = customer.organisation
    invoice = factories.make_invoice(org, lines=[("Plan Pyme mensual", 1, 29_990), ("Usuario adicional", 2, 4_990)],
                                     installments=3, issued_at=datetime.now(UTC) - timedelta(days=20), locale="en")
    invoice.installments[0].paid_at = datetime.now(UTC)
    db.session.commit()

    response = customer.get(f"/customer/invoices/{invoice.id}")
    page = text_of(response)
    assert response.status_code == 200
    assert f"Invoice {invoice.display_number}" in page
    assert "Plan Pyme mensual" in page and "Usuario adicional" in page
    assert "19%" in page
    assert "Installments" in page and "1/3" in page and "3/3" in page
    assert page.count("badge ok") >= 1 and "Pending" in page
    assert f"/customer/invoices/{invoice.id}/pdf" in page
    assert "data-print" in page


def test_credit_note_links_to_the_invoice_it_corrects(customer):
    org = customer.organisation
    invoice = factories.make_invoice(org)
    credit = factories.make_invoice(org, kind="credit_note", credit_for=invoice)
    db.session.commit()

    page = text_of(customer.get(f"/customer/invoices/{credit.id}"))
    assert f"Credit note {credit.display_number}" in page and f"/customer/invoices/{invoice.id}\"" in page
    page = text_of(customer.get(f"/customer/invoices/{invoice.id}"))
    assert f"/customer/invoices/{credit.id}\"" in page


def test_another_customers_invoice_is_not_found(customer):
    other = factories.make_invoice(factories.make_org("customer"))
    draft = factories.make_invoice(customer.organisation, status="draft")
    db.session.commit()
    for url in (f"/customer/invoices/{other.id}", f"/customer/invoices/{other.id}/pdf",
                f"/customer/invoices/{draft.id}", f"/customer/invoices/{draft.id}/pdf", "/customer/invoices/999999"):
        assert customer.get(url).status_code == 404, url
    assert db.session.scalar(db.select(db.func.count()).select_from(InvoicePdf)) == 0


def test_download_serves_the_stored_pdf(customer):
    invoice = factories.make_invoice(customer.organisation)
    db.session.commit()
    stored = invoice_pdfs.render_and_store(invoice.id)

    response = customer.get(f"/customer/invoices/{invoice.id}/pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.get_data() == stored.content
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and f"-{invoice.display_number}.pdf" in disposition
    assert response.headers["ETag"].strip('"') == stored.sha256

    inline = customer.get(f"/customer/invoices/{invoice.id}/pdf?inline=1")
    assert inline.headers["Content-Disposition"].startswith("inline;")

    again = customer.get(f"/customer/invoices/{invoice.id}/pdf", headers={"If-None-Match": f'"{stored.sha256}"'})
    assert again.status_code == 304


def test_an_invoice_pdf_is_never_stored_by_the_browser_or_a_proxy(customer):
    """no-cache would still keep the customer's invoice on a shared computer's disk after logout."""
    invoice = factories.make_invoice(customer.organisation)
    db.session.commit()
    for url in (f"/customer/invoices/{invoice.id}/pdf", f"/customer/invoices/{invoice.id}/pdf?inline=1"):
        response = customer.get(url)
        assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store", url


def test_missing_pdf_is_rendered_once_at_first_download(customer, monkeypatch):
    invoice = factories.make_invoice(customer.organisation)
    db.session.commit()
    renders = []
    real_render = invoice_pdf.render_invoice_pdf
    monkeypatch.setattr(invoice_pdf, "render_invoice_pdf", lambda *a: renders.append(1) or real_render(*a))

    first = customer.get(f"/customer/invoices/{invoice.id}/pdf")
    second = customer.get(f"/customer/invoices/{invoice.id}/pdf")

    assert first.status_code == second.status_code == 200
    assert len(renders) == 1
    assert first.get_data() == second.get_data()
    assert invoice.display_number in PdfReader(io.BytesIO(first.get_data())).pages[0].extract_text()
    db.session.rollback()  # stored by the request: read again
    kept = db.session.get(InvoicePdf, invoice.id)
    assert kept is not None and kept.content == first.get_data()


def test_members_read_invoices_too(login_as):
    member = logged_in(login_as, "customer", "member")
    invoice = factories.make_invoice(member.organisation)
    db.session.commit()
    assert member.get("/customer/invoices").status_code == 200
    assert member.get(f"/customer/invoices/{invoice.id}").status_code == 200


def test_nav_has_invoices(customer):
    page = text_of(customer.get("/customer/invoices"))
    assert 'href="/customer/invoices" aria-current="page"' in page


def test_list_and_detail_run_few_queries(customer, count_queries):
    org = customer.organisation
    invoices = [factories.make_invoice(org, installments=2) for _ in range(12)]
    factories.make_invoice(org, kind="credit_note", credit_for=invoices[0])
    db.session.commit()
    detail_url = f"/customer/invoices/{invoices[0].id}"
    with count_queries() as listing:
        customer.get("/customer/invoices")
    with count_queries() as detail:
        customer.get(detail_url)
    assert listing["n"] <= 10 and detail["n"] <= 10, (listing, detail)
