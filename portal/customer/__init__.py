"""The customer blueprint."""

from portal.customer.views import bp

__all__ = ["bp"]

from portal.customer import account_views, integration_views, invoice_views  # noqa: E402, F401 — they register their routes on bp
