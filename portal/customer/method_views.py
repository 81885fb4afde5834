"""The customer's payment methods: list them with their state, add a card on the gateway's own page, choose
which one pays automatically, remove one (portal/payment_methods.py, shared with the partner's and reseller's
screens). Administrators only; the card number never comes here."""

from portal import payment_methods as shared
from portal.customer.views import bp

shared.register(bp, shared.Screen("customer", "customer/payment_methods.html"), "admin")
