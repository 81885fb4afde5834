"""Subscriptions: start, change quantities, add-ons and plans, suspend, resume and cancel, at a given `now`.

Every verb takes models and `now`, checks everything before writing anything (a DomainError with a translated
message and a stable code otherwise), flushes, records a SubscriptionEvent and returns the subscription.

Mid-period charges are prorated by day for the rest of the period (money.prorate) and kept as pending
SubscriptionCharges, which the next renewal invoice collects as lines ("charged prorated on the account's
monthly bill"): more units or a new add-on → a charge; fewer or a removed add-on → a credit; an upgrade → the
price difference. A product paid up front (`pay_upfront`, or `invoice_now=True`) is invoiced at once instead.
A trial is free: changes during it cost nothing until its first invoice, which charges the whole period.

Plans: an upgrade (same or higher price) applies now with the prorated difference; a downgrade waits for the
end of the period (`pending_plan_id`). Suspension: a monthly subscription stops at the end of its period and is
not charged again; an annual one stops now and its whole unused months are refunded by credit note
(`preview_suspension` shows the amount first). Cancellation happens at the end of the period by default.

Before changing a subscription, its row is locked (PostgreSQL: SELECT ... FOR UPDATE, the sweep skips it) and
any period that ended before `now` is closed first, so a change never lands on a period already over.

The verbs live in lifecycle (start, resume, cancel), changes (quantities, add-ons, plan, payer), purchases
(a product bought once, invoiced at once) and suspension;
common holds what they share; refunds by credit note are in `portal.services.billing.refunds`.
"""

from portal.services.billing.refunds import refund_credits
from portal.services.billing.subscriptions.changes import (
    PlanChangePreview,
    add_addon,
    change_payer,
    change_plan,
    change_quantity,
    preview_plan_change,
    remove_addon,
)
from portal.services.billing.subscriptions.common import MAX_QUANTITY
from portal.services.billing.subscriptions.lifecycle import (
    MAX_TRIAL_DAYS,
    cancel,
    pending_charges,
    resume,
    start_subscription,
)
from portal.services.billing.subscriptions.purchases import buy_once, one_time_price
from portal.services.billing.subscriptions.suspension import SuspensionPreview, preview_suspension, suspend

__all__ = [
    "MAX_QUANTITY", "MAX_TRIAL_DAYS", "PlanChangePreview", "SuspensionPreview", "add_addon", "buy_once", "cancel",
    "change_payer", "change_plan", "change_quantity", "one_time_price", "pending_charges", "preview_plan_change",
    "preview_suspension", "refund_credits", "remove_addon", "resume", "start_subscription", "suspend",
]
