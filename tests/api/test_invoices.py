"""GET /api/v1/invoices and /invoices/<id>: the key's organisation's issued invoices, a page at a time."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from portal.extensions import db
from tests import factories

DAY = datetime(2026, 6, 1, tzinfo=UTC)


def _invoices(org, count: int, **fields):
    return [factories.make_invoice(org, issued_at=DAY + timedelta(days=n), **fields) for n in range(count)]


def test_the_list_shows_issued_invoices_newest_first(api_client):
    org = api_client.organisation
    db.session.rollback()
    older, newer = _invoices(org, 2)
    paid = factories.make_invoice(org, status="paid", issued_at=DAY + timedelta(days=5))
    factories.make_invoice(org, status="draft", issued_at=DAY + timedelta(days=9))
    db.session.commit()
    with time_machine.travel(datetime(2026, 7, 1, tzinfo=UTC)):
        body = api_client.get("/invoices").get_json()
    assert [i["id"] for i in body["invoices"]] == [paid.id, newer.id, older.id]
    assert (body["total"], body["pages"], body["next_page"]) == (3, 1, None)
    first = body["invoices"][1]
    assert first["number"] == newer.display_number
    assert (first["currency"], first["subtotal"], first["tax_total"], first["total"]) == (
        "CLP", newer.subtotal, newer.tax_total, newer.total)
    assert first["status"] == "open" and first["overdue"] is True
    assert first["issued_at"] == "2026-06-02T00:00:00Z" and first["due_at"] == "2026-06-12T00:00:00Z"
    assert body["invoices"][0]["paid_at"] == "2026-06-08T00:00:00Z"


def test_the_list_is_paginated(api_client):
    db.session.rollback()
    made = _invoices(api_client.organisation, 7)
    db.session.commit()
    pages = [api_client.get(f"/invoices?per_page=3&page={n}").get_json() for n in (1, 2, 3, 4)]
    assert [len(p["invoices"]) for p in pages] == [3, 3, 1, 0]
    assert [p["next_page"] for p in pages] == [2, 3, None, None]
    assert {p["pages"] for p in pages} == {3}
    seen = [i["id"] for p in pages for i in p["invoices"]]
    assert seen == [i.id for i in reversed(made)]


@pytest.mark.parametrize("query", ["page=0", "page=-1", "page=abc", "page=1.5", "per_page=101", "per_page=0",
                                   "page=" + "9" * 5000, "page=１"])
def test_bad_page_parameters_are_422(api_client, query):
    response = api_client.get(f"/invoices?{query}")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_parameter" and error["field"] == query.split("=")[0]


def test_another_organisations_invoices_are_not_listed_nor_readable(api_client, keyed_org):
    other, other_key = keyed_org()
    db.session.rollback()
    theirs = factories.make_invoice(other)
    mine = factories.make_invoice(api_client.organisation)
    db.session.commit()
    assert [i["id"] for i in api_client.get("/invoices").get_json()["invoices"]] == [mine.id]
    assert api_client.get(f"/invoices/{theirs.id}").status_code == 404
    assert api_client.get(f"/invoices/{theirs.id}", key=other_key).status_code == 200


def test_one_invoice_with_lines_and_installments(api_client):
    db.session.rollback()
    invoice = factories.make_invoice(api_client.organisation, lines=[("Plan Pyme", 1, 29_990),
                                                                     ("Usuario adicional", 2, 4_990)],
                                     installments=3, issued_at=DAY)
    db.session.commit()
    body = api_client.get(f"/invoices/{invoice.id}").get_json()
    assert [(line["description"], line["quantity"], line["amount"]) for line in body["lines"]] == [
        ("Plan Pyme", 1, 29_990), ("Usuario adicional", 2, 9_980)]
    assert sum(line["total"] for line in body["lines"]) == body["total"] == invoice.total
    assert [part["number"] for part in body["installments"]] == [1, 2, 3]
    assert sum(part["amount"] for part in body["installments"]) == invoice.total


def test_a_draft_is_not_found(api_client):
    db.session.rollback()
    draft = factories.make_invoice(api_client.organisation, status="draft")
    db.session.commit()
    assert api_client.get(f"/invoices/{draft.id}").status_code == 404
    assert api_client.get("/invoices/999999").status_code == 404


def test_listing_costs_a_constant_number_of_queries(api_client, count_queries):
    db.session.rollback()
    _invoices(api_client.organisation, 2)
    db.session.commit()
    with count_queries() as few:
        api_client.get("/invoices")
    _invoices(api_client.organisation, 30, series=factories.invoice_series("B", prefix="B-"))
    db.session.commit()
    with count_queries() as many:
        api_client.get("/invoices")
    assert many["n"] == few["n"]


@pytest.mark.parametrize("invoice_id", ["0", "2147483648", "9223372036854775808", "99999999999999999999",
                                        "1" + "0" * 5000, "１", "-1"])
def test_an_id_no_invoice_can_have_is_404(api_client, invoice_id):
    """Beyond what the id column holds (2^31 on PostgreSQL, 2^63 on SQLite) there is no invoice, not an error."""
    response = api_client.get(f"/invoices/{invoice_id}")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_the_largest_id_the_column_holds_is_found(api_client):
    db.session.rollback()
    invoice = factories.make_invoice(api_client.organisation, id=2**31 - 1)
    db.session.commit()
    assert api_client.get(f"/invoices/{2**31 - 1}").get_json()["number"] == invoice.display_number
