"""Usage events of the large data set: 90 days of documents, API calls, users and companies reported, and their sums
per hour (usage_hour), as recording them would have left them."""

from datetime import timedelta

from bench.dataset import Context, skewed_weights, spread
from portal.extensions import db
from portal.models import UsageEvent, UsageHour
from portal.services.billing import usage

METRICS = (("documents", 85), ("api_calls", 10), ("users", 3), ("companies", 2))
HORIZON = 90 * 86_400


def generate_usage(ctx: Context) -> None:
    """Events spread over customers (the bench customer reports the most), each with its own event id."""
    rng = ctx.rng("usage")
    customers = ctx.made["customer_ids"]
    per_customer = spread(rng, ctx.count("usage_events"), len(customers), cum_weights=skewed_weights(len(customers)))
    names, weights = zip(*METRICS, strict=True)
    start = ctx.today - timedelta(seconds=HORIZON)

    def rows():
        event_id = 0
        for org_id, n in zip(customers, per_customer, strict=True):
            metrics = rng.choices(names, weights=weights, k=n)
            for i, metric in enumerate(metrics):
                event_id += 1
                occurred = start + timedelta(seconds=rng.randrange(HORIZON))
                yield {"id": event_id, "organisation_id": org_id, "event_id": f"evt-{i:07d}", "metric": metric,
                       "quantity": rng.randrange(1, 50) if metric == "api_calls" else 1, "occurred_at": occurred,
                       "received_at": occurred + timedelta(seconds=rng.randrange(1, 300))}

    ctx.insert(UsageEvent, rows())
    usage.rebuild_hours()  # one INSERT … SELECT grouped by hour, what each batch's upsert adds up to
    ctx.rows[UsageHour.__tablename__] = db.session.scalar(db.select(db.func.count()).select_from(UsageHour))
