"""Reconciliation screens: import a statement, see it matched, match or dismiss what is left, export it."""

import csv
import io

import pytest

from portal.extensions import db
from portal.models import Invoice, Payment
from portal.models.offline import StatementImport, StatementLine
from portal.services.payments.offline import statement
from tests import factories
from tests.services.payments.offline_helpers import brazilian_customer, issue, offer_demo_methods


@pytest.fixture
def staff(login_as):
    def log_in(role="billing"):
        client = login_as("vendor", role)
        db.session.commit()
        return client

    return log_in


def _upload(client, raw: bytes, kind: str = "boleto", currency: str = "BRL", name: str = "extrato.csv"):
    return client.form_post("/backoffice/reconciliation", {"kind": kind, "currency": currency,
                                                           "file": (io.BytesIO(raw), name)},
                            content_type="multipart/form-data")


def test_importing_a_boleto_statement_pays_its_boleto_and_lists_the_rest(app, staff):
    offer_demo_methods()
    org, invoice = brazilian_customer()
    payment = issue(org.id, invoice.id, "boleto", "b-1")
    raw = (f"Data;Valor;Moeda;Linha digitável\n03/12/2026;141,55;BRL;{payment.instructions['line_printed']}\n"
           "03/12/2026;99,00;BRL;00190500954014481606906809350314337370000000100\n").encode("cp1252")
    client = staff()
    response = _upload(client, raw)
    assert response.status_code == 303
    record = db.session.scalar(db.select(StatementImport))
    assert response.headers["Location"].endswith(f"/backoffice/reconciliation/{record.id}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "extrato.csv" in page and "reference-" in page  # the unmatched row has its match form
    assert db.session.get(Invoice, invoice.id).status == "paid"
    lines = client.get(f"/backoffice/reconciliation/{record.id}.csv")
    rows = list(csv.reader(io.StringIO(lines.get_data(as_text=True))))
    assert len(rows) == 3 and rows[1][-1] == payment.reference


def test_a_bad_file_gets_a_report_of_its_rows_and_nothing_is_written(app, staff):
    client = staff()
    raw = b"date;amount;currency;barcode\nyesterday;1,00;BRL;1\n2026-12-02;1,00;USD;1\n"
    response = _upload(client, raw)
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Row 2" in text and "Row 3" in text and "USD" in text
    assert db.session.scalar(db.select(db.func.count()).select_from(StatementImport)) == 0


def test_a_file_in_neither_encoding_is_refused_in_the_readers_language(app, staff):
    client = staff()
    response = client.form_post("/backoffice/reconciliation", {"kind": "oxxo", "currency": "MXN",
                                                               "file": (io.BytesIO(b"date;\x81\x8d"), "x.csv")},
                                content_type="multipart/form-data", headers={"Accept-Language": "es"})
    assert response.status_code == 422 and "UTF-8" in response.get_data(as_text=True)


def test_a_file_over_the_limit_is_refused_with_nothing_written(app, staff, monkeypatch):
    monkeypatch.setattr(statement, "MAX_BYTES", 100)
    client = staff()
    response = _upload(client, b"date;amount;currency;reference\n" + b"2026-12-02;10,00;MXN;1\n" * 10, "oxxo", "MXN")
    assert response.status_code == 422 and "50 MB" in response.get_data(as_text=True)
    far_too_large = _upload(client, b"x" * (100 + 64 * 1024 + 1), "oxxo", "MXN")
    assert far_too_large.status_code == 413
    assert db.session.scalar(db.select(db.func.count()).select_from(StatementImport)) == 0


def test_a_statement_larger_than_other_uploads_is_accepted(app, staff):
    app.config["MAX_CONTENT_LENGTH"] = 1024  # other forms take 1 KB at most
    rows = b"".join(b"2026-12-02;%d,00;BRL;DEPOSITO\n" % n for n in range(1, 200))
    response = _upload(staff(), b"date;amount;currency;description\n" + rows, kind="bank")
    assert response.status_code == 303


def test_staff_match_an_unmatched_row_by_hand_and_dismiss_another(app, staff):
    offer_demo_methods()
    org, invoice = brazilian_customer()
    payment = issue(org.id, invoice.id, "pix", "p-1")
    raw = b"date;amount;currency;description\n2026-12-03;141,55;BRL;PIX DE PADARIA\n2026-12-03;5,00;BRL;OUTRO\n"
    client = staff()
    _upload(client, raw, kind="bank")
    first, second = db.session.scalars(db.select(StatementLine).order_by(StatementLine.line)).all()
    base = f"/backoffice/reconciliation/{first.import_id}/lines"
    assert client.form_post(f"{base}/{first.id}/match", {"reference": "PAY-0000-0000"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(StatementLine, first.id).state == "unmatched"  # no such payment: nothing changed
    assert client.form_post(f"{base}/{first.id}/match", {"reference": payment.reference}).status_code == 303
    assert client.form_post(f"{base}/{second.id}/dismiss").status_code == 303
    db.session.expire_all()
    assert db.session.get(StatementLine, first.id).state == "matched"
    assert db.session.get(StatementLine, second.id).state == "dismissed"
    assert db.session.get(Payment, payment.id).state == "succeeded"


def test_advisors_cannot_reconcile(app, staff):
    assert staff("advisor").get("/backoffice/reconciliation").status_code == 403


def test_the_import_page_shows_progress_while_rows_are_matched(app, staff):
    record = StatementImport(kind="bank", currency="CLP", filename="cartola.csv", sha256="1" * 64, size=1,
                             state="processing", total_rows=100_000, processed_rows=25_000, errors=[])
    db.session.add(record)
    db.session.commit()
    client = staff()
    page = client.get(f"/backoffice/reconciliation/{record.id}").get_data(as_text=True)
    assert '<progress max="100000" value="25000"' in page and "every 1s" in page
    fragment = client.get(f"/backoffice/reconciliation/{record.id}?progress=1", headers={"HX-Request": "true"})
    assert fragment.get_data(as_text=True).lstrip().startswith("<section")


def test_another_staff_member_sees_the_same_statements(app, staff):
    factories.make_org("customer")
    assert staff("admin").get("/backoffice/reconciliation").status_code == 200
