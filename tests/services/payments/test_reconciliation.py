"""Reconciliation: statement rows matched to the payments their references name, once each; bad files
refused with their report and nothing written."""

import threading

import pytest
from flask import current_app

from portal.extensions import db
from portal.models import Invoice, Payment
from portal.models.offline import StatementImport, StatementLine
from portal.services.errors import DomainError
from portal.services.payments import settlement
from portal.services.payments.offline import reconciliation
from portal.workflows import statements as statement_flow
from tests import factories
from tests.services.payments.helpers import NOW
from tests.services.payments.offline_helpers import brazilian_customer, issue, offer_demo_methods


@pytest.fixture
def brazil(app):
    offer_demo_methods()
    return brazilian_customer()


def _import(raw: bytes, kind: str, currency: str | None = None, filename: str = "extrato.csv") -> StatementImport:
    checked = reconciliation.check_statement(raw, kind, currency)
    assert checked.statement.ok, checked.statement.errors
    record = reconciliation.create_import(checked, filename, len(raw), None, NOW)
    reconciliation.queue_matching(record)
    db.session.commit()  # the job matches it (tests run jobs at once), in a session of its own
    db.session.expire_all()
    return db.session.get(StatementImport, record.id)


def _lines(import_id: int) -> list[StatementLine]:
    return list(db.session.scalars(db.select(StatementLine).where(StatementLine.import_id == import_id)
                                   .order_by(StatementLine.line)))


def test_a_boleto_statement_pays_the_boleto_its_line_names(brazil):
    org, invoice = brazil
    payment = issue(org.id, invoice.id, "boleto", "b-1")
    raw = f"Data;Valor;Moeda;Linha digitável\n03/12/2026;141,55;BRL;{payment.instructions['line_printed']}\n"
    record = _import(raw.encode("cp1252"), "boleto")
    assert record.state == "done" and record.matched_rows == 1 and record.processed_rows == 1
    [line] = _lines(record.id)
    assert line.state == "matched" and line.payment_id == payment.id
    assert db.session.get(Payment, payment.id).state == "succeeded"
    assert db.session.get(Invoice, invoice.id).status == "paid"


def test_a_bank_statement_pays_a_pix_by_its_txid_and_a_transfer_by_its_rf_reference(app):
    offer_demo_methods()
    org_br, invoice_br = brazilian_customer()
    pix = issue(org_br.id, invoice_br.id, "pix", "p-1")
    raw = (f"date,amount,currency,description\n2026-12-03,\"141,55\",BRL,PIX RECEBIDO {pix.payer_reference}\n"
           "2026-12-03,\"-9,90\",BRL,TARIFA\n")
    record = _import(raw.encode(), "bank", "BRL")
    assert record.matched_rows == 1 and record.skipped_rows == 1
    member = factories.make_member("customer", "admin")
    invoice_cl = factories.make_invoice(member.organisation)
    db.session.commit()
    transfer = issue(member.organisation.id, invoice_cl.id, "bank_transfer", "t-1")
    written = transfer.instructions["reference_printed"]
    amount = f"{invoice_cl.total:,}".replace(",", ".")  # as a Chilean bank writes pesos: 47.568
    raw = f"fecha;monto;moneda;glosa\n03-12-2026;{amount};CLP;TEF {written} Aromos\n"
    record = _import(raw.encode(), "bank", "CLP")
    assert [line.state for line in _lines(record.id)] == ["matched"]
    assert db.session.get(Invoice, invoice_cl.id).status == "paid"


def test_a_row_for_a_payment_already_paid_by_its_webhook_is_not_matched_again(brazil):
    org, invoice = brazil
    payment = issue(org.id, invoice.id, "pix", "p-2")
    settlement.succeed(db.session.get(Payment, payment.id), NOW)  # the webhook came first
    db.session.commit()
    raw = f"date;amount;currency;reference\n2026-12-03;141,55;BRL;{payment.payer_reference}\n"
    record = _import(raw.encode(), "bank", "BRL")
    [line] = _lines(record.id)
    assert line.state == "already_paid" and line.payment_id is None and line.named_payment_id == payment.id
    assert record.matched_rows == 0


def test_two_rows_naming_one_payment_pay_it_once(brazil):
    org, invoice = brazil
    payment = issue(org.id, invoice.id, "boleto", "b-2")
    row = f"2026-12-03;141,55;BRL;{payment.instructions['barcode']}\n"
    record = _import(("date;amount;currency;barcode\n" + row + row).encode(), "boleto")
    assert [line.state for line in _lines(record.id)] == ["matched", "already_paid"]
    assert credit_paid(invoice.id) == invoice.total


def credit_paid(invoice_id: int) -> int:
    return db.session.scalar(db.select(db.func.sum(Payment.amount)).where(Payment.invoice_id == invoice_id,
                                                                          Payment.state == "succeeded"))


def test_the_same_file_twice_is_refused(brazil):
    org, invoice = brazil
    payment = issue(org.id, invoice.id, "boleto", "b-3")
    raw = f"date;amount;currency;barcode\n2026-12-03;141,55;BRL;{payment.instructions['barcode']}\n".encode()
    _import(raw, "boleto")
    with pytest.raises(DomainError) as refused:
        reconciliation.create_import(reconciliation.check_statement(raw, "boleto", None), "again.csv", len(raw),
                                     None, NOW)
    assert refused.value.code == "already_imported"


def test_an_amount_that_differs_waits_for_a_person(brazil):
    org, invoice = brazil
    payment = issue(org.id, invoice.id, "boleto", "b-4")
    raw = f"date;amount;currency;barcode\n2026-12-03;100,00;BRL;{payment.instructions['barcode']}\n"
    record = _import(raw.encode(), "boleto")
    [line] = _lines(record.id)
    assert line.state == "unmatched" and line.named_payment_id == payment.id
    with pytest.raises(DomainError) as refused:
        reconciliation.match_line(line, payment.reference, None, NOW)
    assert refused.value.code == "amount_differs"
    assert db.session.get(Payment, payment.id).state == "pending"


def test_a_person_matches_an_unmatched_row_by_the_payments_reference(brazil):
    org, invoice = brazil
    payment = issue(org.id, invoice.id, "pix", "p-3")
    raw = "date;amount;currency;description\n2026-12-03;141,55;BRL;PIX RECEBIDO DE PADARIA\n"
    record = _import(raw.encode(), "bank", "BRL")
    [line] = _lines(record.id)
    assert line.state == "unmatched"
    staff = factories.make_member("vendor", "billing").user
    reconciliation.match_line(line, payment.reference.lower(), staff, NOW)
    db.session.commit()
    assert line.state == "matched" and line.resolved_by_id == staff.id
    assert db.session.get(Invoice, invoice.id).status == "paid"
    with pytest.raises(DomainError):
        reconciliation.match_line(line, payment.reference, staff, NOW)


def test_a_row_is_dismissed_and_no_longer_waits(brazil):
    raw = "date;amount;currency;description\n2026-12-03;50,00;BRL;DEPOSITO\n"
    record = _import(raw.encode(), "bank", "BRL")
    [line] = _lines(record.id)
    reconciliation.dismiss_line(line, None, NOW)
    db.session.commit()
    assert reconciliation.line_counts(record.id)["dismissed"] == 1
    with pytest.raises(DomainError):
        reconciliation.dismiss_line(line, None, NOW)


def test_a_bad_file_is_refused_with_its_report_and_nothing_written(brazil):
    org, invoice = brazil
    payment = issue(org.id, invoice.id, "boleto", "b-5")
    raw = (f"date;amount;currency;barcode\n2026-12-03;141,55;BRL;{payment.instructions['barcode']}\n"
           f"2026-12-03;141,55;USD;{payment.instructions['barcode']}\n").encode()
    checked = reconciliation.check_statement(raw, "boleto", None)
    assert not checked.statement.ok
    assert [(error.line, error.code) for error in checked.statement.errors] == [(3, "currency")]
    with pytest.raises(ValueError):
        reconciliation.create_import(checked, "bad.csv", len(raw), None, NOW)
    assert db.session.scalar(db.select(db.func.count()).select_from(StatementImport)) == 0
    assert db.session.get(Payment, payment.id).state == "pending"


def test_a_large_statement_is_matched_in_batches_with_its_progress_kept(brazil):
    org, invoice = brazil
    payment = issue(org.id, invoice.id, "pix", "p-4")
    rows = [f"2026-12-03;{n},00;BRL;DEPOSITO {n}\n" for n in range(1, 2500)]
    rows.insert(1200, f"2026-12-03;141,55;BRL;{payment.payer_reference}\n")
    raw = ("date;amount;currency;description\n" + "".join(rows)).encode()
    checked = reconciliation.check_statement(raw, "bank", "BRL")
    record = reconciliation.create_import(checked, "grande.csv", len(raw), None, NOW)
    db.session.commit()
    seen = []
    while reconciliation.match_batch(record.id, NOW, limit=1000):
        db.session.commit()
        seen.append(db.session.get(StatementImport, record.id).processed_rows)
    db.session.commit()
    record = db.session.get(StatementImport, record.id)
    assert seen == [1000, 2000, 2500] and record.state == "done" and record.matched_rows == 1
    assert db.session.get(Invoice, invoice.id).status == "paid"


def test_the_workflow_resumes_an_import_stopped_halfway(brazil):
    raw = ("date;amount;currency;description\n" + "2026-12-03;10,00;BRL;X\n" * 30).encode()
    checked = reconciliation.check_statement(raw, "bank", "BRL")
    record = reconciliation.create_import(checked, "x.csv", len(raw), None, NOW)
    db.session.commit()
    import_id = record.id
    reconciliation.match_batch(import_id, NOW, limit=10)
    db.session.commit()
    assert statement_flow.match_statement(import_id, batch_rows=7) == 20
    db.session.expire_all()
    assert db.session.get(StatementImport, import_id).state == "done"


def test_two_imports_naming_one_payment_at_once_pay_it_once(brazil):
    org, invoice = brazil
    payment = issue(org.id, invoice.id, "pix", "p-5")
    ids = []
    for n in range(4):
        raw = f"date;amount;currency;reference\n2026-12-0{n + 1};141,55;BRL;{payment.payer_reference}\n".encode()
        record = reconciliation.create_import(reconciliation.check_statement(raw, "bank", "BRL"), f"{n}.csv",
                                              len(raw), None, NOW)
        ids.append(record.id)
    db.session.commit()
    flask_app = current_app._get_current_object()
    errors = []

    def run(import_id):
        try:
            with flask_app.app_context():
                statement_flow.match_statement(import_id)
        except Exception as error:  # noqa: BLE001 — the test reports it
            errors.append(error)

    threads = [threading.Thread(target=run, args=(import_id,)) for import_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    db.session.expire_all()
    states = sorted(db.session.scalars(db.select(StatementLine.state)))
    assert states == ["already_paid", "already_paid", "already_paid", "matched"]
    assert credit_paid(invoice.id) == invoice.total
