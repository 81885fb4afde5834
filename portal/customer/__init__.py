"""The customer blueprint."""

from portal.customer.views import bp

__all__ = ["bp"]

from portal.customer import (  # noqa: E402, F401 — they register their routes on bp
    account_views,
    advisor_views,
    cart_views,
    integration_views,
    invoice_views,
    method_views,
    offline_views,
    organisation_views,
    payment_views,
    plan_views,
    preference_views,
    store_views,
    wallet_views,
)
