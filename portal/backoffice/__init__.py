"""The backoffice blueprint."""

from portal.backoffice.views import bp

__all__ = ["bp"]

from portal.backoffice import (  # noqa: E402, F401 — they register their routes on bp
    advisor_views,
    catalog_views,
    invoice_views,
    organisation_views,
    partner_order_views,
    payment_views,
    pricelist_views,
    product_views,
    reconciliation_views,
    settings_views,
)
