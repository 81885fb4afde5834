"""The partner's payment methods: its cards with their state, one added on the gateway's own page (the card
number never comes here), the one that pays the monthly invoices automatically, removing one — the customer's
screen (portal/payment_methods.py) in the partner portal. Administrators only, as the invoices they pay."""

from portal import payment_methods as shared
from portal.partner.views import bp

shared.register(bp, shared.Screen("partner", "partner/payment_methods.html"), "admin")
