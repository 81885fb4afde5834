"""The JSON API under /api/v1, for the vendor's software and integrators."""

from portal.api.views import bp

__all__ = ["bp"]
