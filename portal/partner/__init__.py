"""The partner blueprint."""

from portal.partner.views import bp

__all__ = ["bp"]

from portal.partner import invoice_views, license_views, method_views, order_views  # noqa: E402, F401 — they register their routes on bp
