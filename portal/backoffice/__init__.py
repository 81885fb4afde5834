"""The backoffice blueprint."""

from portal.backoffice.views import bp

__all__ = ["bp"]

from portal.backoffice import catalog_views, invoice_views, payment_views, product_views, reconciliation_views  # noqa: E402, F401 — they register their routes on bp
