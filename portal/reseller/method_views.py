"""The reseller's payment methods: its cards with their state, one added on the gateway's own page (the card
number never comes here), the one that pays its monthly consolidated invoice automatically, removing one — the
customer's screen (portal/payment_methods.py) in the reseller portal. Managers only, as the invoices they pay."""

from portal import payment_methods as shared
from portal.reseller.views import bp

shared.register(bp, shared.Screen("reseller", "reseller/payment_methods.html"), "manager")
