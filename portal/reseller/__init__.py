"""The reseller blueprint."""

from portal.reseller.views import bp

__all__ = ["bp"]
