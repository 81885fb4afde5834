"""The back office's invoice screens: every organisation's invoices, filters, pages, CSV, detail and PDF."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from portal.extensions import db
from portal.models import InvoicePdf
from portal.services.billing import pdf as invoice_pdf
from portal.workflows import invoice_pdfs
from tests import factories


@pytest.fixture
def staff(login_as):
    def log_in(role="billing"):
        client = login_as("vendor", role)
        db.session.commit()  # end the read transaction begun before the login request wrote
        return client

    return log_in


def text_of(response) -> str:
    return response.get_data(as_text=True)


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text_of(response).lstrip("\ufeff"))))


def test_every_staff_role_sees_every_organisations_invoices(staff):
    chile = factories.make_org("customer", "CL", name="Panadería Los Aromos SpA")
    brazil = factories.make_org("customer", "BR", name="Padaria Pão Dourado Ltda")
    reseller = factories.make_org("reseller", "BR", name="Contabilidade Horizonte Ltda")
    invoices = [factories.make_invoice(org) for org in (chile, brazil, reseller)]
    db.session.commit()
    for role in ("admin", "billing", "advisor"):
        page = text_of(staff(role).get("/backoffice/invoices"))
        for invoice in invoices:
            assert invoice.display_number in page, role
        assert "Panadería Los Aromos SpA" in page and "Padaria Pão Dourado Ltda" in page


def test_filters_by_status_currency_organisation_and_dates(staff):
    client = staff()
    aromos = factories.make_org("customer", "CL", name="Panadería Los Aromos SpA")
    dourado = factories.make_org("customer", "BR", name="Padaria Pão Dourado Ltda")
    march = factories.make_invoice(aromos, status="paid", issued_at=datetime(2025, 3, 10, 15, tzinfo=UTC))
    april = factories.make_invoice(aromos, issued_at=datetime(2025, 4, 10, 15, tzinfo=UTC))
    brl = factories.make_invoice(dourado, issued_at=datetime(2025, 3, 12, 15, tzinfo=UTC))
    draft = factories.make_invoice(dourado, status="draft")
    db.session.commit()

    def numbers(query):
        page = text_of(client.get("/backoffice/invoices?" + query))
        return {i.display_number for i in (march, april, brl) if i.display_number in page}

    assert numbers("status=paid") == {march.display_number}
    assert numbers("currency=BRL") == {brl.display_number}
    assert numbers("organisation=aromos") == {march.display_number, april.display_number}
    assert numbers("organisation=" + aromos.tax_id[:6]) == {march.display_number, april.display_number}
    assert numbers("issued_from=2025-03-01&issued_to=2025-03-31") == {march.display_number, brl.display_number}
    assert numbers("issued_from=2025-04-01") == {april.display_number}
    assert numbers("organisation=aromos&status=overdue") == {april.display_number}  # due 20 April 2025
    assert f"Draft #{draft.id}" in text_of(client.get("/backoffice/invoices?status=draft"))


@pytest.mark.parametrize("typed", ["Pao Dourado", "pão dourado", "PÃO DOURADO", "PAO", "dourado ltda",
                                   "Horizonte Contabil"])
def test_a_name_search_ignores_accents_and_case(staff, typed):
    client = staff()
    dourado = factories.make_org("customer", "BR", name="Padaria Pão Dourado Ltda", trade_name="Horizonte Contábil")
    roble = factories.make_org("customer", name="Ferretería El Roble Ltda.")
    found, other = factories.make_invoice(dourado), factories.make_invoice(roble)
    db.session.commit()
    page = text_of(client.get("/backoffice/invoices", query_string={"organisation": typed}))
    assert found.display_number in page and other.display_number not in page, typed


def test_a_renamed_organisation_is_found_by_its_new_name(staff):
    from portal.services.billing import invoice_search

    org = factories.make_org("customer", name="Panadería Los Aromos SpA")
    invoice = factories.make_invoice(org)
    org.name, org.trade_name = "Pastelería Ñandú SpA", "Ñandú"
    db.session.commit()

    def found(typed):
        query = invoice_search.staff_invoices(invoice_search.InvoiceFilters(organisation=typed), "UTC")
        return [row.id for row in db.session.scalars(query).unique()]

    assert found("pasteleria nandu") == [invoice.id] and found("NANDU") == [invoice.id] and found("aromos") == []


def test_search_text_is_not_a_pattern(staff):
    client = staff()
    factories.make_invoice(factories.make_org("customer", name="Ferretería El Roble Ltda."))
    db.session.commit()
    page = text_of(client.get("/backoffice/invoices?organisation=%25"))
    assert "No invoice matches these filters" in page
    for typed in ("_", "Ferreter_a", "El%Roble", "Roble\\"):
        page = text_of(client.get("/backoffice/invoices", query_string={"organisation": typed}))
        assert "No invoice matches these filters" in page, typed


@pytest.mark.parametrize("query, field", [
    ("status=lost", "Status"),
    ("currency=XXX", "Currency"),
    ("issued_from=2025-13-45", "Issued from"),
    ("issued_from=2025-04-01&issued_to=2025-03-01", "Issued until"),
    ("organisation=" + "x" * 101, "Organisation or tax ID"),
])
def test_invalid_filters_are_left_out_with_a_message(staff, query, field):
    client = staff()
    invoice = factories.make_invoice(factories.make_org("customer"))
    db.session.commit()
    response = client.get("/backoffice/invoices?" + query + "&page=x")
    assert response.status_code == 422
    page = text_of(response)
    assert "Some filters are not valid" in page and f"<li>{field}:" in page
    assert invoice.display_number in page

    assert client.get("/backoffice/invoices.csv?" + query, buffered=True).status_code == 422


def test_pages_go_forward_and_back_without_counting_everything(staff):
    client = staff()
    org = factories.make_org("customer")
    invoices = [factories.make_invoice(org) for _ in range(30)]
    db.session.commit()
    first = text_of(client.get("/backoffice/invoices"))
    assert invoices[-1].display_number in first and invoices[4].display_number not in first
    assert "page=2" in first and "Page 1" in first
    second = text_of(client.get("/backoffice/invoices?page=2"))
    assert invoices[4].display_number in second and invoices[0].display_number in second
    assert "page=1" in second and "page=3" not in second
    assert "no more invoices" in text_of(client.get("/backoffice/invoices?page=5"))


def test_csv_export_has_every_matching_row_with_plain_amounts(staff):
    client = staff()
    org = factories.make_org("customer", "BR", name="=HYPERLINK(\"http://evil\")")
    factories.make_invoice(org, lines=[("Plano", 2, 61_725)])
    factories.make_invoice(factories.make_org("customer", "CL"))
    db.session.commit()

    response = client.get("/backoffice/invoices.csv?currency=BRL", buffered=True)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = csv_rows(response)
    assert rows[0][:4] == ["Number", "Organisation", "Tax ID", "Document"]
    assert len(rows) == 2
    assert rows[1][1].startswith("'=HYPERLINK")  # a spreadsheet shows it, never runs it
    assert rows[1][-4:] == ["BRL", "1234.50", "0.00", "1234.50"]


def test_csv_export_streams_more_than_one_chunk(staff):
    client = staff()
    org = factories.make_org("customer")
    for _ in range(3):
        factories.make_invoice(org)
    db.session.commit()
    from portal.services.billing import invoice_search

    with client.application.test_request_context():
        chunks = list(invoice_search.csv_lines(invoice_search.staff_invoices(invoice_search.InvoiceFilters(), "UTC"),
                                               staff=True, chunk=2))
    assert len(chunks) == 3  # the header, then two chunks of rows
    assert sum(chunk.count("\n") for chunk in chunks) == 4


def test_detail_shows_the_invoice_its_pdf_state_and_downloads_it(staff):
    client = staff("advisor")
    invoice = factories.make_invoice(factories.make_org("customer"), installments=2, locale="en")
    db.session.commit()

    page = text_of(client.get(f"/backoffice/invoices/{invoice.id}"))
    assert f"Invoice {invoice.display_number}" in page
    assert "Not rendered yet" in page and "Vitrine Software SpA" in page

    response = client.get(f"/backoffice/invoices/{invoice.id}/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    db.session.rollback()
    kept = db.session.get(InvoicePdf, invoice.id)
    assert kept.content == response.get_data()
    assert "Kept since" in text_of(client.get(f"/backoffice/invoices/{invoice.id}"))
    assert kept.sha256[:16] in text_of(client.get(f"/backoffice/invoices/{invoice.id}"))


def test_a_draft_has_a_page_but_no_pdf(staff):
    client = staff()
    draft = factories.make_invoice(factories.make_org("customer"), status="draft")
    db.session.commit()
    assert client.get(f"/backoffice/invoices/{draft.id}").status_code == 200
    response = client.get(f"/backoffice/invoices/{draft.id}/pdf")
    assert response.status_code == 404 and "A draft has no PDF yet" in text_of(response)
    assert client.get("/backoffice/invoices/999999").status_code == 404


def test_stored_pdf_is_served_as_kept(staff, monkeypatch):
    client = staff()
    invoice = factories.make_invoice(factories.make_org("customer"))
    db.session.commit()
    stored = invoice_pdfs.render_and_store(invoice.id)
    monkeypatch.setattr(invoice_pdf, "render_invoice_pdf", lambda *a: pytest.fail("rendered again"))
    response = client.get(f"/backoffice/invoices/{invoice.id}/pdf")
    assert response.get_data() == stored.content


def test_customers_cannot_reach_the_back_office_invoices(login_as):
    customer = login_as("customer", "admin")
    db.session.commit()
    invoice = factories.make_invoice(customer.organisation)
    db.session.commit()
    for url in ("/backoffice/invoices", "/backoffice/invoices.csv", f"/backoffice/invoices/{invoice.id}",
                f"/backoffice/invoices/{invoice.id}/pdf"):
        assert customer.get(url).status_code == 403, url


def test_list_and_detail_run_few_queries(staff, count_queries):
    client = staff()
    orgs = [factories.make_org("customer") for _ in range(5)]
    invoices = [factories.make_invoice(org, installments=2) for org in orgs for _ in range(4)]
    factories.make_invoice(orgs[0], kind="credit_note", credit_for=invoices[0])
    db.session.commit()
    detail_url = f"/backoffice/invoices/{invoices[0].id}"
    with count_queries() as listing:
        client.get("/backoffice/invoices?issued_from=" + (datetime.now(UTC) - timedelta(days=1)).date().isoformat())
    with count_queries() as detail:
        client.get(detail_url)
    assert listing["n"] <= 10 and detail["n"] <= 10, (listing, detail)
