"""The JSON API under /api/v1, for the vendor's software and integrators."""

from portal.api.views import bp

__all__ = ["bp"]

from portal.api import fiscal_views  # noqa: E402, F401 — it registers its routes on bp
