"""Payment methods: every other customer has a sandbox card that pays its renewals automatically (auto-pay),
so the billing sweep hands half of the invoices it issues to auto-pay (bench/sweep.py reports how many)."""

from bench.dataset import Context
from portal.models import PaymentMethod


def generate_payment_methods(ctx: Context) -> None:
    customers = ctx.made["customer_ids"]
    ctx.insert(PaymentMethod, [
        {"id": n, "organisation_id": org_id, "gateway": "sandbox", "token": f"tok_sb_succeeds_bench{org_id}",
         "kind": "card", "brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": ctx.today.year + 4,
         "state": "active", "auto_pay": True, "failure_code": None, "created_by_id": None,
         "created_at": ctx.today, "removed_at": None}
        for n, org_id in enumerate(customers[::2], start=1)])
