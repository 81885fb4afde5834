"""The endpoint the payment gateways send their webhooks to (no login, no CSRF token: a signature instead)."""

from portal.webhooks.views import bp

__all__ = ["bp"]
