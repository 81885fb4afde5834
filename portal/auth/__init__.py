"""Logging in and out, passwords, invitations, the organisation and language switchers."""

from portal.auth.views import bp

__all__ = ["bp"]
