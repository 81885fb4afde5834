"""The partner blueprint."""

from portal.partner.views import bp

__all__ = ["bp"]
