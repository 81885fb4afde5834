"""The sandbox card gateway's hosted page: the provider's own site, standing in for Stripe's or Mercado Pago's.

It is the only place a card number is typed. It keeps nothing but what the token says and hands the portal
a signed result (token, brand, last four digits, expiry); the portal's own blueprints never see the number.
"""

from portal.sandbox.views import bp

__all__ = ["bp"]
