"""Logging in and out, passwords, invitations, sign-up, the organisation and language switchers."""

from portal.auth.views import bp

__all__ = ["bp"]

from portal.auth import signup_views  # noqa: E402, F401 — it registers its routes on bp
