"""Organisations, memberships, logins, staff, integration keys and tax ids."""
