"""The reseller blueprint."""

from portal.reseller.views import bp

__all__ = ["bp"]

from portal.reseller import (  # noqa: E402, F401 — they register their routes on bp
    account_views,
    client_views,
    fiscal_views,
    method_views,
    new_client_views,
    payment_views,
    report_views,
)
