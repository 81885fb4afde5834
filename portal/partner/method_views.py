"""The partner's payment methods: its cards with their state, one added on the gateway's own page (the card
number never comes here), the one that pays the monthly invoices automatically, removing one — the customer's
screen (portal/payment_methods.py) in the partner portal. Administrators only, as the invoices they pay."""

from portal import payment_methods as shared
from portal.partner.views import bp
from portal.tenancy import roles

SCREEN = shared.Screen("partner", "partner/payment_methods.html")


@bp.get("/payment-methods")
@roles("admin")
def payment_methods():
    """List the partner's cards with their state and the one that pays automatically."""
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
    """Make this card the one that pays the partner's invoices automatically."""
    return shared.choose_auto_pay(SCREEN, method_id)


@bp.post("/payment-methods/auto-pay-off")
@roles("admin")
def payment_method_auto_pay_off():
    """Stop paying invoices automatically (each one is then paid by hand)."""
    return shared.stop_auto_pay(SCREEN)


@bp.post("/payment-methods/<int:method_id>/remove")
@roles("admin")
def payment_method_remove(method_id: int):
    """Remove a card: it is never charged again."""
    return shared.remove(SCREEN, method_id)
