"""The reseller blueprint."""

from portal.reseller.views import bp

__all__ = ["bp"]

from portal.reseller import payment_views  # noqa: E402, F401 — it registers its routes on bp
