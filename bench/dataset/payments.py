"""Automatic payments: half of the customers pay their renewals by themselves — every fourth one with a sandbox
card that pays automatically (auto-pay), and the one two places further with wallet funds it chose to pay
renewals from — so the billing sweep hands half of the invoices it issues to auto-pay (bench/sweep.py runs
those charges and reports accounts per second)."""

from bench.dataset import Context
from portal.models import PaymentMethod, WalletEntry, WalletSettings

# Enough for every renewal of the bench's months in any currency of the data set (minor units).
WALLET_FUNDS = 2_000_000_000


def generate_payment_methods(ctx: Context) -> None:
    customers = ctx.made["customer_ids"]
    organisations = ctx.made["organisations"]
    ctx.insert(PaymentMethod, [
        {"id": n, "organisation_id": org_id, "gateway": "sandbox", "token": f"tok_sb_succeeds_bench{org_id}",
         "kind": "card", "brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": ctx.today.year + 4,
         "state": "active", "auto_pay": True, "failure_code": None, "created_by_id": None,
         "created_at": ctx.today, "removed_at": None}
        for n, org_id in enumerate(customers[::4], start=1)])
    funded = customers[2::4]
    ctx.insert(WalletEntry, [
        {"id": n, "organisation_id": org_id, "currency": organisations[org_id][2], "sequence": 1, "kind": "top_up",
         "amount": WALLET_FUNDS, "balance_after": WALLET_FUNDS, "payment_id": None, "invoice_id": None,
         "reason": None, "idempotency_key": None, "created_by_id": None, "created_at": ctx.today}
        for n, org_id in enumerate(funded, start=1)])
    ctx.insert(WalletSettings, [
        {"organisation_id": org_id, "pay_from_wallet": True, "auto_recharge": False, "recharge_threshold": 0,
         "recharge_amount": 0, "recharged_for_entry_id": None, "updated_at": ctx.today}
        for org_id in funded])
