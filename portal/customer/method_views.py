"""The customer's payment methods: list them with their state, add a card on the gateway's own page, choose
which one pays automatically, remove one (portal/payment_methods.py, shared with the license partner's screen).
Administrators only; the card number never comes here."""

from portal import payment_methods as shared
from portal.customer.views import bp
from portal.tenancy import roles

SCREEN = shared.Screen("customer", "customer/payment_methods.html")


@bp.get("/payment-methods")
@roles("admin")
def payment_methods():
    """List the organisation's cards with their state and the one that pays automatically."""
    return shared.listing(SCREEN)


@bp.post("/payment-methods/new")
@roles("admin")
def payment_method_new():
    """Send the administrator to the gateway's own page to enter a card."""
    return shared.start(SCREEN)


@bp.route("/payment-methods/added", methods=["GET", "POST"])
@roles("admin")
def payment_method_added():
    """Back from the gateway's page: show the card it stored and save it here once confirmed."""
    return shared.added(SCREEN)


@bp.post("/payment-methods/<int:method_id>/auto-pay")
@roles("admin")
def payment_method_auto_pay(method_id: int):
    """Make this card the one that pays renewals automatically."""
    return shared.choose_auto_pay(SCREEN, method_id)


@bp.post("/payment-methods/auto-pay-off")
@roles("admin")
def payment_method_auto_pay_off():
    """Stop paying renewals automatically (each invoice is then paid by hand)."""
    return shared.stop_auto_pay(SCREEN)


@bp.post("/payment-methods/<int:method_id>/remove")
@roles("admin")
def payment_method_remove(method_id: int):
    """Remove a card: it is never charged again."""
    return shared.remove(SCREEN, method_id)
