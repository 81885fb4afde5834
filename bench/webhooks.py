"""A webhook burst: signed sandbox events posted to the portal's webhook endpoint one after the other (events/s).

    python -m bench.webhooks [--events 2000] [--database-url postgresql+psycopg://…]

On a fresh database, `--events` card payments are left processing; each gets a `charge.succeeded` event signed
as the sandbox signs it (timestamped HMAC-SHA256), posted through the whole application (routing, signature
check, replay record, settlement of the payment and its invoice, the receipt queued). A tenth more events
carry a bad signature and are refused. Figures: accepted events per second, refused ones per second.
"""

import argparse
import json
import secrets
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import bench
from bench.databases import scratch_job_queue

QUICK_EVENTS = 200


def prepare(events: int, now: datetime) -> list[int]:
    """Open invoices, each with a card payment waiting for the gateway's answer; returns the payment ids."""
    from portal.extensions import db
    from portal.models import Invoice, Payment
    from portal.services.accounts import organisations as accounts
    from portal.services.billing import invoicing

    db.create_all()
    invoicing.install_defaults()
    accounts.create_organisation("vendor", "Vitrine Software SpA", "CL", "76.543.210-3")
    org = accounts.create_organisation("customer", "Panadería Los Aromos SpA", "CL", "77.123.456-9")
    db.session.flush()
    db.session.execute(db.insert(Invoice), [
        {"organisation_id": org.id, "kind": "invoice", "status": "open", "currency": "CLP", "locale": "es",
         "subtotal": 40_000, "tax_total": 7_600, "total": 47_600, "issued_at": now, "due_at": now + timedelta(days=10),
         "vendor_snapshot": {}, "customer_snapshot": {}, "created_at": now} for _ in range(events)])
    invoice_ids = list(db.session.scalars(db.select(Invoice.id).order_by(Invoice.id)))
    db.session.execute(db.insert(Payment), [
        {"organisation_id": org.id, "invoice_id": invoice_id, "purpose": "invoice", "amount": 47_600,
         "currency": "CLP", "method_kind": "card", "gateway": "sandbox", "state": "processing",
         "reference": f"PAY-W{n:07d}", "idempotency_key": f"bench-{n}", "gateway_payment_id": f"ch_sb_bench{n}",
         "instructions": {}, "refunded_amount": 0, "created_at": now}
        for n, invoice_id in enumerate(invoice_ids)])
    db.session.commit()
    return list(db.session.scalars(db.select(Payment.id).order_by(Payment.id)))


def _event(n: int) -> bytes:
    return json.dumps({"id": f"evt_sb_bench{n}", "type": "charge.succeeded", "created": int(time.time()),
                       "data": {"charge": f"ch_sb_bench{n}", "reference": f"PAY-W{n:07d}", "amount": 47_600,
                                "currency": "CLP", "failure_code": None}}, separators=(",", ":")).encode()


def measure(url: str, options) -> dict:
    from portal import create_app
    from portal.extensions import db
    from portal.models import Payment
    from portal.services.payments import sandbox

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secrets.token_urlsafe(32)})
    queue = Path(options.results_dir) / f"webhooks-jobs-{time.time_ns()}"
    with scratch_job_queue(queue, "vitrine-bench-webhooks"), app.app_context():
        now = datetime.now(UTC).replace(microsecond=0)
        prepare(options.events, now)
        bodies = [_event(n) for n in range(options.events)]
        client = app.test_client()
        started = time.perf_counter()
        statuses = []
        for body in bodies:
            stamp = int(time.time())
            response = client.post("/webhooks/sandbox", data=body, content_type="application/json",
                                   headers={sandbox.SIGNATURE_HEADER: sandbox.sign(body, stamp)})
            statuses.append(response.status_code)
        accepted_s = time.perf_counter() - started
        forged = max(options.events // 10, 1)
        started = time.perf_counter()
        refused = 0
        for n in range(forged):
            body = _event(options.events + n)
            response = client.post("/webhooks/sandbox", data=body, content_type="application/json",
                                   headers={sandbox.SIGNATURE_HEADER: sandbox.sign(body, int(time.time()), "x" * 32)})
            refused += response.status_code == 400
        refused_s = time.perf_counter() - started
        db.session.expire_all()
        paid = db.session.scalar(db.select(db.func.count()).select_from(Payment).where(Payment.state == "succeeded"))
        result = {"events": options.events, "accepted": statuses.count(200), "paid": paid, "forged": forged,
                  "refused": refused, "accepted_events_per_s": round(options.events / accepted_s),
                  "refused_events_per_s": round(forged / refused_s)}
        db.session.remove()
        db.engine.dispose()
    if result["paid"] != options.events or result["refused"] != forged:
        raise RuntimeError(f"the burst did not do what it should: {result}")
    return result


def run(options) -> dict:
    """The bench.run suite: 2,000 signed events (200 with --quick) and a tenth more with a bad signature."""
    from bench.databases import scratch_database

    own = argparse.Namespace(**vars(options), events=QUICK_EVENTS if options.quick else 2_000)
    with scratch_database(own, "webhooks") as url:
        result = measure(url, own)
    result["figures"] = [
        {"name": f"webhook burst of {own.events:,} signed events", "value": result["accepted_events_per_s"],
         "unit": "events/s", "bar": None, "ok": None},
        {"name": f"{result['forged']:,} events with a bad signature refused", "value": result["refused_events_per_s"],
         "unit": "events/s", "bar": None, "ok": None}]
    return result


def main(argv=None) -> int:
    from bench.databases import scratch_database

    parser = argparse.ArgumentParser(prog="python -m bench.webhooks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--results-dir", type=Path, default=bench.RESULTS_DIR)
    options = parser.parse_args(argv)
    options.results_dir = options.results_dir.resolve()
    with scratch_database(options, "webhooks") as url:
        result = measure(url, options)
    print(f"{result['events']:,} signed events: {result['accepted_events_per_s']:,} events/s "
          f"({result['paid']:,} payments settled); {result['forged']:,} forged: "
          f"{result['refused_events_per_s']:,} events/s refused")
    return 0


if __name__ == "__main__":
    sys.exit(main())
