"""Buying a product once (a pack of documents, an installation): invoiced at once to the subscription's payer.
"""

from datetime import datetime

from flask_babel import lazy_gettext as _l

from portal.models import Invoice, Product, Subscription
from portal.services.billing import money
from portal.services.billing.rules import LineSpec, PriceBook, describe
from portal.services.billing.subscriptions.common import (
    check_addon,
    check_for_sale,
    check_live,
    check_quantity,
    invoice_charges,
    lock,
    payer_of,
    record_event,
)
from portal.services.errors import DomainError


def one_time_price(book: PriceBook, product: Product, currency: str) -> tuple[int, int] | None:
    """(amount, setup fee) of a product sold once in `currency`; None when it is not."""
    return book.prices.get((product.id, currency, "one_time"))


def buy_once(sub: Subscription, product: Product, quantity: int, now: datetime, actor=None) -> Invoice | None:
    """Buy `quantity` units of a product sold once, for the software of `sub`: one invoice now, with its setup
    fee; the reseller's discount applies to the units as to every price of the subscription. A product free
    in this currency is recorded without an invoice."""
    quantity = check_quantity(quantity)
    book = PriceBook.load()
    lock(sub, now, book)
    check_live(sub)
    check_addon(book, sub, product)
    check_for_sale(book, product)
    price = one_time_price(book, product, sub.currency)
    if price is None and not book.products[product.id].is_free:
        raise DomainError(_l("%(product)s is not sold once in %(currency)s.", product=product.name,
                             currency=sub.currency), code="no_price", field="product")
    amount, fee = (0, 0) if book.products[product.id].is_free else price
    unit = money.discounted(amount, sub.discount_bp)
    locale = payer_of(sub).locale
    name = book.products[product.id].display_name(locale)
    lines = [spec for spec in (
        LineSpec("one_time", name[:300], unit, quantity, product.id),
        LineSpec("setup", describe("setup", locale, product=name), fee, 1, product.id),
    ) if spec.net]
    invoice = invoice_charges(sub, [], now, book, lines) if lines else None
    record_event(sub, "purchased", now, actor, invoice, product_id=product.id, quantity=quantity,
                 amount=sum(spec.net for spec in lines))
    return invoice
