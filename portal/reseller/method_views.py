"""The reseller's payment methods: its cards with their state, one added on the gateway's own page (the card
number never comes here), the one that pays its monthly consolidated invoice automatically, removing one — the
customer's screen (portal/payment_methods.py) in the reseller portal. Managers only, as the invoices they pay."""

from portal import payment_methods as shared
from portal.reseller.views import bp
from portal.tenancy import roles

SCREEN = shared.Screen("reseller", "reseller/payment_methods.html")


@bp.get("/payment-methods")
@roles("manager")
def payment_methods():
    """List the reseller's cards with their state and the one that pays automatically."""
    return shared.listing(SCREEN)


@bp.post("/payment-methods/new")
@roles("manager")
def payment_method_new():
    """Send the manager to the gateway's own page to enter a card."""
    return shared.start(SCREEN)


@bp.route("/payment-methods/added", methods=["GET", "POST"])
@roles("manager")
def payment_method_added():
    """Back from the gateway's page: show the card it stored and save it here once confirmed."""
    return shared.added(SCREEN)


@bp.post("/payment-methods/<int:method_id>/auto-pay")
@roles("manager")
def payment_method_auto_pay(method_id: int):
    """Make this card the one that pays the reseller's invoices automatically."""
    return shared.choose_auto_pay(SCREEN, method_id)


@bp.post("/payment-methods/auto-pay-off")
@roles("manager")
def payment_method_auto_pay_off():
    """Stop paying invoices automatically (each one is then paid by hand)."""
    return shared.stop_auto_pay(SCREEN)


@bp.post("/payment-methods/<int:method_id>/remove")
@roles("manager")
def payment_method_remove(method_id: int):
    """Remove a card: it is never charged again."""
    return shared.remove(SCREEN, method_id)
