"""Reconciliation: a boleto statement of 100,000 rows read, checked and matched to payments (rows/s).

    python -m bench.reconciliation [--rows 100000] [--matched 2000] [--database-url postgresql+psycopg://…]

On a fresh database (SQLite, or one on the PostgreSQL server of --database-url), `--matched` Brazilian
invoices each get a boleto awaiting payment; the statement names each of them once, and fills the rest of
its rows with valid boletos nobody issued here (they are left for a person). The file is read and checked
whole (`check_statement`, what the import's request does before it writes), kept (`create_import`), then
matched in batches of 1,000 by the workflow the job runs (`portal.workflows.statements`): each figure is
rows per second of that step, and the total.
"""

import argparse
import secrets
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import bench
from bench.databases import scratch_job_queue
from bench.generate import GenerateError


def prepare(matched: int, now: datetime) -> list[str]:
    """The invoices and their boletos awaiting payment; returns their barcodes."""
    from portal.extensions import db
    from portal.models import Invoice, Payment
    from portal.services.accounts import organisations as accounts
    from portal.services.billing import invoicing
    from portal.services.payments.offline import boleto, setup

    db.create_all()
    invoicing.install_defaults()
    setup.configure_demo()
    accounts.create_organisation("vendor", "Vitrine Software SpA", "CL", "76.543.210-3")
    org = accounts.create_organisation("customer", "Padaria Pão Dourado Ltda", "BR", "11.222.333/0001-81")
    db.session.flush()
    db.session.execute(db.insert(Invoice), [
        {"organisation_id": org.id, "kind": "invoice", "status": "open", "currency": "BRL", "locale": "pt_BR",
         "subtotal": 14_155, "tax_total": 0, "total": 14_155, "issued_at": now, "due_at": now + timedelta(days=10),
         "vendor_snapshot": {}, "customer_snapshot": {}, "created_at": now} for _ in range(matched)])
    invoice_ids = list(db.session.scalars(db.select(Invoice.id).order_by(Invoice.id)))
    due = (now + timedelta(days=10)).date()
    codes = [boleto.barcode("001", 14_155, due, f"0000001234567{n:010d}17") for n in range(1, matched + 1)]
    db.session.execute(db.insert(Payment), [
        {"organisation_id": org.id, "invoice_id": invoice_id, "purpose": "invoice", "amount": 14_155,
         "currency": "BRL", "method_kind": "boleto", "gateway": "boleto", "state": "pending",
         "reference": f"PAY-B{n:07d}", "idempotency_key": f"bench-{n}", "payer_reference": code,
         "instructions": {"kind": "boleto", "barcode": code}, "refunded_amount": 0, "created_at": now}
        for n, (invoice_id, code) in enumerate(zip(invoice_ids, codes, strict=True))])
    db.session.commit()
    return codes


def statement(codes: list[str], rows: int) -> bytes:
    from portal.services.payments.offline import boleto

    due = date(2026, 12, 12)
    lines = ["Data;Valor;Moeda;Linha digitável"]
    for n in range(rows):
        # The first rows pay the boletos awaiting payment; the rest are other payers' boletos.
        code = codes[n] if n < len(codes) else boleto.barcode("237", 10_000 + n % 90_000, due, f"{n:025d}")
        amount = boleto.amount_cents(code)
        line = boleto.format_line(boleto.typeable_line(code))
        lines.append(f"03/12/2026;{amount // 100},{amount % 100:02d};BRL;{line}")
    return ("\n".join(lines) + "\n").encode("cp1252")


def measure(url: str, options) -> dict:
    from portal import create_app
    from portal.extensions import db
    from portal.models.offline import StatementImport
    from portal.services.payments.offline import reconciliation
    from portal.workflows import statements

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secrets.token_urlsafe(32)})
    queue = Path(options.results_dir) / f"reconciliation-jobs-{time.time_ns()}"
    with scratch_job_queue(queue, "vitrine-bench-reconciliation"), app.app_context():
        now = datetime.now(UTC).replace(microsecond=0)
        codes = prepare(options.matched, now)
        raw = statement(codes, options.rows)
        started = time.perf_counter()
        checked = reconciliation.check_statement(raw, "boleto", None)
        read_s = time.perf_counter() - started
        assert checked.statement.ok, checked.statement.errors[:3]
        started = time.perf_counter()
        import_id = reconciliation.create_import(checked, "bench.csv", len(raw), None, now).id
        db.session.commit()  # (the id is read before: a read after the commit would keep SQLite's old snapshot)
        kept_s = time.perf_counter() - started
        started = time.perf_counter()
        statements.match_statement(import_id)
        matched_s = time.perf_counter() - started
        db.session.expire_all()
        record = db.session.get(StatementImport, import_id)
        result = {"rows": options.rows, "bytes": len(raw), "matched": record.matched_rows,
                  "read_rows_per_s": round(options.rows / read_s), "keep_rows_per_s": round(options.rows / kept_s),
                  "match_rows_per_s": round(options.rows / matched_s),
                  "total_rows_per_s": round(options.rows / (read_s + kept_s + matched_s))}
        db.session.remove()
        db.engine.dispose()
    return result


QUICK_ROWS, QUICK_MATCHED = 5_000, 200


def run(options) -> dict:
    """The bench.run suite: a statement of 100,000 rows (5,000 with --quick), each step's rows per second."""
    from argparse import Namespace

    from bench.databases import scratch_database

    rows, matched = (QUICK_ROWS, QUICK_MATCHED) if options.quick else (100_000, 2_000)
    own = Namespace(**vars(options), rows=rows, matched=matched)
    with scratch_database(own, "reconciliation") as url:
        result = measure(url, own)
    result["figures"] = [
        {"name": f"statement of {rows:,} rows: {step}", "value": result[f"{step}_rows_per_s"], "unit": "rows/s",
         "bar": None, "ok": None} for step in ("read", "keep", "match", "total")]
    return result


def main(argv=None) -> int:
    from bench.databases import scratch_database

    parser = argparse.ArgumentParser(prog="python -m bench.reconciliation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--matched", type=int, default=2_000, help="rows that pay a boleto awaiting payment")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--results-dir", type=Path, default=bench.RESULTS_DIR)
    options = parser.parse_args(argv)
    options.results_dir = options.results_dir.resolve()
    try:
        with scratch_database(options, "reconciliation") as url:
            result = measure(url, options)
    except GenerateError as error:
        print(f"bench.reconciliation: {error}", file=sys.stderr)
        return 2
    print(f"statement of {result['rows']:,} rows ({result['bytes'] / 1e6:.1f} MB), {result['matched']:,} matched")
    for step in ("read", "keep", "match", "total"):
        print(f"  {step:6} {result[f'{step}_rows_per_s']:>9,} rows/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
