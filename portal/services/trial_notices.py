"""Before a trial ends (seed 003: "if at the end of the first month it is useful, we send you the payment
instructions"): the customer is told, by e-mail once and by a banner meanwhile, when it ends, what the plan
will then cost each period and how to pay it.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from portal.extensions import db
from portal.models import Membership, Organisation, Subscription, SubscriptionEvent, TaxRate
from portal.services.billing import money
from portal.services.billing.rules import PriceBook
from portal.services.billing.subscriptions.common import record_event

NOTICE_DAYS = 7


@dataclass(frozen=True)
class TrialEnding:
    subscription: Subscription
    ends_at: datetime
    currency: str
    period: str
    amount: int  # what each period costs from then on, tax included


def _cost(sub: Subscription, book: PriceBook) -> int:
    net = 0
    for product_id, quantity in [(sub.plan_id, 1), *[(item.product_id, item.quantity) for item in sub.items]]:
        amount = book.period_amount(product_id, sub.currency, sub.period) or 0
        net += money.discounted(amount, sub.discount_bp) * quantity
    payer = db.session.get(Organisation, sub.payer_id)
    rate = db.session.scalar(db.select(TaxRate.rate_bp).where(TaxRate.country == payer.country)) or 0
    return net + money.tax_for(net, rate)


def trial_ending(org: Organisation, now: datetime, book: PriceBook | None = None,
                 subscriptions: list[Subscription] | None = None) -> TrialEnding | None:
    """The organisation's trial that ends within NOTICE_DAYS, with what comes after it (None if none); picked
    from its `subscriptions` when the caller has read them all (the store has)."""
    until = now + timedelta(days=NOTICE_DAYS)
    if subscriptions is None:
        sub = db.session.scalar(
            db.select(Subscription).where(Subscription.organisation_id == org.id, Subscription.status == "trial",
                                          Subscription.trial_ends_at > now, Subscription.trial_ends_at <= until)
            .order_by(Subscription.trial_ends_at).limit(1))
    else:
        ending = [sub for sub in subscriptions if sub.organisation_id == org.id and sub.status == "trial"
                  and sub.trial_ends_at is not None and now < sub.trial_ends_at <= until]
        sub = min(ending, key=lambda found: found.trial_ends_at, default=None)
    if sub is None:
        return None
    return TrialEnding(sub, sub.trial_ends_at, sub.currency, sub.period, _cost(sub, book or PriceBook.load()))


def send_trial_notices(now: datetime) -> int:
    """E-mail the administrators of every organisation whose trial ends within NOTICE_DAYS, once per trial
    (a `trial_ending_notified` event on the subscription says it was done). Returns how many were told."""
    from portal.services.mail import composing as mail

    notified = db.select(SubscriptionEvent.subscription_id).where(
        SubscriptionEvent.action == "trial_ending_notified")
    subs = db.session.scalars(
        db.select(Subscription).where(Subscription.status == "trial", Subscription.trial_ends_at > now,
                                      Subscription.trial_ends_at <= now + timedelta(days=NOTICE_DAYS),
                                      Subscription.id.not_in(notified)).order_by(Subscription.id)).all()
    book = PriceBook.load()
    for sub in subs:
        org = db.session.get(Organisation, sub.organisation_id)
        ending = TrialEnding(sub, sub.trial_ends_at, sub.currency, sub.period, _cost(sub, book))
        admins = db.session.scalars(db.select(Membership).where(
            Membership.organisation_id == org.id, Membership.role == "admin", Membership.accepted_at.is_not(None)))
        for membership in admins:
            user = membership.user
            mail.queue_email(user.email, "trial_ending", user.locale or org.locale, user=user, organisation=org,
                             ending=ending, plan=book.products[sub.plan_id].display_name(user.locale or org.locale),
                             link=mail.external_url("customer.invoices"))
        record_event(sub, "trial_ending_notified", now, ends_at=sub.trial_ends_at.isoformat(), amount=ending.amount)
    return len(subs)
