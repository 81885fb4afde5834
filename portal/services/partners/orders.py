"""Orders of licenses: a partner's draft ("Itens do pedido"), its confirmation, and the approval or
cancellation that happens once, whoever clicks at the same moment.

Each line is priced from the partner's current price list when it is added and keeps its own amounts: a
later version of the list never changes an order. Approving credits the stock (licenses bought + bonus) and
invoices the setup fees of the order once; cancelling only marks it cancelled.
"""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import Invoice, Organisation, Product, SubscriptionEvent, User
from portal.models.partners import (
    ORDER_KINDS,
    PartnerOrder,
    PartnerOrderLine,
    PartnerStock,
    PriceList,
    PriceListItem,
    StockMovement,
)
from portal.services import audit
from portal.services.errors import DomainError
from portal.services.partners.pricing import LinePrice, price_line

MAX_QUANTITY = 10_000
DECIDED = ("finalised", "cancelled")


def check_quantity(quantity) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise DomainError(_l("The quantity must be a whole number of at least 1."), code="invalid_quantity",
                          field="quantity")
    if quantity > MAX_QUANTITY:
        raise DomainError(_l("The quantity can be at most %(max)s. For more, talk to your commercial advisor.",
                             max=f"{MAX_QUANTITY:,}"), code="quantity_too_large", field="quantity")
    return quantity


def current_price_list(partner: Organisation) -> PriceList | None:
    """The version in force of the partner's own price list, or else of the default one."""
    lists = db.session.scalars(
        db.select(PriceList).where(PriceList.superseded_at.is_(None),
                                   db.or_(PriceList.partner_id == partner.id, PriceList.partner_id.is_(None)))
        .options(db.selectinload(PriceList.items).joinedload(PriceListItem.product))).unique().all()
    return next((pl for pl in lists if pl.partner_id == partner.id), next(iter(lists), None))


def _item(price_list: PriceList, product: Product) -> PriceListItem | None:
    return next((item for item in price_list.items if item.product_id == product.id), None)


def stock_products(partner: Organisation) -> list[PartnerStock]:
    """The partner's stock rows that have ever held a license (what an Additional order can add users to)."""
    return list(db.session.scalars(
        db.select(PartnerStock).where(PartnerStock.partner_id == partner.id, PartnerStock.total > 0)
        .options(db.joinedload(PartnerStock.product)).order_by(PartnerStock.product_id)))


def additional_users_item(price_list: PriceList, product: Product) -> PriceListItem | None:
    """The price list's item for additional users of `product`'s software."""
    return next((item for item in price_list.items if item.product.kind == "additional_user"
                 and item.product.software_id == product.software_id), None)


UNREAD = object()  # a price list or draft the caller has not read (add_line reads it)


def line_price(partner: Organisation, kind: str, product: Product | None, quantity, price_list=UNREAD
               ) -> tuple[PriceList, LinePrice]:
    """What a line would cost, checked as `add_line` checks it (nothing written); `price_list` is the partner's
    current_price_list when the caller has read it already."""
    if kind not in ORDER_KINDS:
        raise DomainError(_l("Choose the order type: Purchase or Additional."), code="invalid_kind", field="kind")
    price_list = current_price_list(partner) if price_list is UNREAD else price_list
    if price_list is None:
        raise DomainError(_l("You have no price list yet. Ask your commercial advisor to assign one."),
                          code="no_price_list", status=409)
    if product is None:
        raise DomainError(_l("Choose a product."), code="invalid_product", field="product")
    quantity = check_quantity(quantity)
    if kind == "additional":
        held = {stock.product_id for stock in stock_products(partner)}
        item = additional_users_item(price_list, product)
        if product.id not in held or item is None:
            raise DomainError(_l("Additional users can only be ordered for a product you already have in stock."),
                              code="not_in_stock", field="product")
        return price_list, price_line(item, quantity, additional=True)
    item = _item(price_list, product)
    if item is None or product.kind == "additional_user":
        raise DomainError(_l("This product is not on your price list."), code="not_on_price_list", field="product")
    return price_list, price_line(item, quantity)


def draft_for(partner: Organisation, user: User) -> PartnerOrder | None:
    return db.session.scalar(
        db.select(PartnerOrder).where(PartnerOrder.partner_id == partner.id, PartnerOrder.created_by_id == user.id,
                                      PartnerOrder.status == "draft")
        .options(db.selectinload(PartnerOrder.lines).joinedload(PartnerOrderLine.product)))


def add_line(partner: Organisation, user: User, kind: str, product: Product | None, quantity, now: datetime,
             price_list=UNREAD, draft=UNREAD) -> PartnerOrderLine:
    """Add a priced line to the user's draft order (made on the first line); one type per order. `price_list`
    and `draft` are the partner's current_price_list and the user's draft_for when the caller has read them
    (to show them after)."""
    price_list, price = line_price(partner, kind, product, quantity, price_list)
    draft = draft_for(partner, user) if draft is UNREAD else draft
    if draft is not None and draft.lines and draft.kind != kind:
        raise DomainError(_l("This order already has items of the other type. Confirm it or remove its items "
                             "first."), code="other_kind", field="kind")
    if draft is not None and draft.lines and draft.price_list_id != price_list.id:
        raise DomainError(_l("Your price list changed since this order was started. Remove its items and add "
                             "them again."), code="price_list_changed", status=409)
    if draft is not None and any(line.product_id == product.id for line in draft.lines):
        raise DomainError(_l("This product is already in the order. Remove it to change its quantity."),
                          code="already_in_order", field="product")
    if draft is None:
        draft = PartnerOrder(partner_id=partner.id, price_list_id=price_list.id, kind=kind, status="draft",
                             currency=price_list.currency, created_by_id=user.id, created_at=now)
        db.session.add(draft)
    draft.kind, draft.price_list_id, draft.currency = kind, price_list.id, price_list.currency
    line = PartnerOrderLine(product_id=product.id, quantity=price.quantity, bonus=price.bonus, users=price.users,
                            unit_monthly=price.unit_monthly, setup_fee=price.setup_fee,
                            monthly_total=price.monthly_total, setup_total=price.setup_total)
    draft.lines.append(line)
    db.session.flush()
    return line


def remove_line(draft: PartnerOrder, line_id: int) -> None:
    line = next((line for line in draft.lines if line.id == line_id), None)
    if line is None:
        raise DomainError(_l("This item is no longer in the order."), code="no_line", status=404)
    draft.lines.remove(line)
    db.session.flush()


def confirm(draft: PartnerOrder | None, user: User, now: datetime, address: str | None = None) -> PartnerOrder:
    """Send the draft for approval ("Confirmação pendente")."""
    if draft is None or not draft.lines:
        raise DomainError(_l("Add at least one product before confirming the order."), code="empty_order",
                          status=409)
    draft.status, draft.confirmed_at = "pending", now
    db.session.flush()
    audit.record("partner_order_confirmed", actor=user, organisation=draft.partner, obj=draft, address=address,
                 details={"kind": draft.kind, "lines": len(draft.lines), "total": draft.total_with_setup})
    return draft


def _lock(order: PartnerOrder) -> PartnerOrder:
    """Lock the order's row (PostgreSQL: SELECT … FOR UPDATE; SQLite: one writer at a time) and read it anew."""
    db.session.flush()
    db.session.refresh(order, with_for_update=True)
    return order


def _check_pending(order: PartnerOrder) -> None:
    if order.status == "finalised":
        raise DomainError(_l("Order %(number)s was already approved: nothing was changed.", number=order.id),
                          code="order_finalised", status=409)
    if order.status == "cancelled":
        raise DomainError(_l("Order %(number)s was already cancelled: nothing was changed.", number=order.id),
                          code="order_cancelled", status=409)
    if order.status != "pending":
        raise DomainError(_l("This order was not confirmed yet."), code="order_draft", status=409)


def approve(order: PartnerOrder, user: User, now: datetime, address: str | None = None) -> PartnerOrder:
    """Finalise a pending order: each line's licenses (bought + bonus) credited to stock, or its users to the
    licenses in stock, and the order's setup fees invoiced to the partner once."""
    _check_pending(_lock(order))
    for line in order.lines:
        stock = stock_row(order.partner_id, line.product_id)
        if order.kind == "additional":
            stock.additional_users += line.quantity
            continue
        stock.available += line.total_quantity
        stock.total += line.total_quantity
        stock.users_per_license = max(1, line.users // line.total_quantity)
        db.session.add(StockMovement(partner_id=order.partner_id, product_id=line.product_id, kind="order",
                                     quantity=line.total_quantity, order_id=order.id, user_id=user.id, at=now))
    order.status, order.decided_by_id, order.decided_at = "finalised", user.id, now
    db.session.flush()
    _grow_subscription(order, user, now)
    if order.setup_total:
        order.setup_invoice_id = _invoice_setup(order, now).id
    audit.record("partner_order_approved", actor=user, organisation=order.partner, obj=order, address=address,
                 details={"total": order.total_with_setup, "setup_invoice_id": order.setup_invoice_id})
    return order


def billed_product(order: PartnerOrder, line: PartnerOrderLine) -> Product:
    """What a line adds to the partner's monthly bill: the licenses of its product, or for an Additional order
    the additional users of its software (the price list item it was priced with)."""
    if order.kind == "additional":
        return additional_users_item(order.price_list, line.product).product
    return line.product


def _grow_subscription(order: PartnerOrder, user: User, now: datetime) -> None:
    """The partner's subscription grows by each line's paid licenses (or users) at the line's monthly fee: the
    bonus licenses are free, as the order's monthly total (licenses bought × fee) says."""
    from portal.services.billing.subscriptions import licenses

    lines = [line for line in order.lines if line.unit_monthly]
    held = [licenses.Held(billed_product(order, line), line.unit_monthly, line.quantity) for line in lines]
    if not held:
        return
    events = licenses.hold(order.partner, order.currency, held, now, actor=user, order_id=order.id)
    for line, event in zip(lines, events, strict=True):
        line.subscription_event_id = event.id
    db.session.flush()


def _invoice_setup(order: PartnerOrder, now: datetime):
    from portal.services.billing import invoicing
    from portal.services.billing.rules import LineSpec, describe

    locale = order.partner.locale
    lines = [LineSpec(kind="setup", description=describe("setup", locale, product=line.product.display_name(locale)),
                      unit_amount=line.setup_fee, quantity=line.quantity, product_id=line.product_id)
             for line in order.lines if line.setup_total]
    return invoicing.issue_invoice(order.partner, order.currency, lines, now)


def cancel(order: PartnerOrder, user: User, now: datetime, address: str | None = None) -> PartnerOrder:
    """Cancel a pending order (nothing is credited or invoiced)."""
    _check_pending(_lock(order))
    order.status, order.decided_by_id, order.decided_at = "cancelled", user.id, now
    db.session.flush()
    audit.record("partner_order_cancelled", actor=user, organisation=order.partner, obj=order, address=address)
    return order


def stock_row(partner_id: int, product_id: int) -> PartnerStock:
    stock = db.session.scalar(db.select(PartnerStock).where(PartnerStock.partner_id == partner_id,
                                                            PartnerStock.product_id == product_id))
    if stock is None:
        stock = PartnerStock(partner_id=partner_id, product_id=product_id, available=0, total=0)
        db.session.add(stock)
        db.session.flush()
    return stock


def list_orders(partner: Organisation, limit: int = 100) -> list[PartnerOrder]:
    """The partner's confirmed orders, newest first, with their lines."""
    return list(db.session.scalars(
        db.select(PartnerOrder).where(PartnerOrder.partner_id == partner.id, PartnerOrder.status != "draft")
        .options(db.selectinload(PartnerOrder.lines).joinedload(PartnerOrderLine.product),
                 db.joinedload(PartnerOrder.created_by))
        .order_by(PartnerOrder.id.desc()).limit(limit)).unique())


def partner_order(partner: Organisation, order_id: int) -> PartnerOrder | None:
    return db.session.scalar(
        db.select(PartnerOrder).where(PartnerOrder.id == order_id, PartnerOrder.partner_id == partner.id,
                                      PartnerOrder.status != "draft")
        .options(db.selectinload(PartnerOrder.lines).joinedload(PartnerOrderLine.product)))


def pending_orders(limit: int = 200) -> list[PartnerOrder]:
    """Every partner's orders waiting for approval, oldest first (the staff's queue)."""
    return list(db.session.scalars(
        db.select(PartnerOrder).where(PartnerOrder.status == "pending")
        .options(db.selectinload(PartnerOrder.lines).joinedload(PartnerOrderLine.product),
                 db.joinedload(PartnerOrder.partner), db.joinedload(PartnerOrder.created_by))
        .order_by(PartnerOrder.id).limit(limit)).unique())


def pending_order(order_id: int) -> PartnerOrder | None:
    return db.session.scalar(db.select(PartnerOrder).where(PartnerOrder.id == order_id,
                                                           PartnerOrder.status != "draft"))


@dataclass(frozen=True)
class LineBilling:
    """What approving one line adds to the partner's subscription: `quantity` of `product` at `unit_amount` a
    month (from `before` to `after`), and either the first month on `invoice` (`first_month`: invoiced when the
    order is approved, the subscription starting with it) or `prorated` on the next one."""

    product: Product
    quantity: int
    unit_amount: int
    before: int
    after: int
    invoice: Invoice | None
    prorated: int
    next_invoice_at: datetime
    first_month: bool = False


@dataclass(frozen=True)
class OrderBilling:
    """What an order invoiced and added to the monthly subscription (`pending`: what approving it will)."""

    setup_invoice: Invoice | None
    lines: list[LineBilling]
    setup_total: int = 0
    pending: bool = False


def billing_of(order: PartnerOrder, now: datetime | None = None) -> OrderBilling | None:
    """What an approved order invoiced (the setup fees) and added to the partner's monthly subscription; for a
    pending one, what approving it at `now` would (nothing written). None for a cancelled order."""
    if order.status == "pending":
        return _billing_preview(order, now)
    if order.status != "finalised":
        return None
    events = {event.id: event for event in db.session.scalars(
        db.select(SubscriptionEvent).where(SubscriptionEvent.id.in_(
            [line.subscription_event_id for line in order.lines if line.subscription_event_id]))
        .options(db.joinedload(SubscriptionEvent.subscription)))}
    invoice_ids = {order.setup_invoice_id, *(event.invoice_id for event in events.values())} - {None}
    invoices = {invoice.id: invoice for invoice in db.session.scalars(
        db.select(Invoice).where(Invoice.id.in_(invoice_ids)).options(db.joinedload(Invoice.series)))}
    lines = []
    for line in order.lines:
        event = events.get(line.subscription_event_id)
        if event is None:
            continue
        details = event.details
        invoice = invoices.get(event.invoice_id)
        lines.append(LineBilling(billed_product(order, line), details["quantity"], details["unit_amount"],
                                 details["before"], details["after"], invoice,
                                 0 if invoice is not None else details.get("amount", 0),
                                 event.subscription.current_period_end, first_month=invoice is not None))
    setup = invoices.get(order.setup_invoice_id)
    return OrderBilling(setup, lines, setup.total if setup is not None else 0)


def _billing_preview(order: PartnerOrder, now: datetime | None) -> OrderBilling:
    """What `approve` would add (licenses.hold's arithmetic, nothing written): the first month of a subscription
    that starts with this order, or the rest of the current month prorated on the next invoice."""
    from portal.orm import utcnow
    from portal.services.billing import money
    from portal.services.billing.rules import first_period
    from portal.services.billing.subscriptions import licenses

    now = now or utcnow()
    sub = licenses.subscription_of(order.partner, order.currency)
    held: dict[tuple[int, int], int] = {}
    if sub is not None:
        for item in sub.items:
            held[(item.product_id, item.unit_amount)] = item.quantity
    period = current_period(sub, now) if sub is not None else first_period(now, "monthly")
    lines = []
    for line in order.lines:
        if not line.unit_monthly:
            continue
        product = billed_product(order, line)
        before = held.get((product.id, line.unit_monthly), 0)
        held[(product.id, line.unit_monthly)] = before + line.quantity
        prorated = (money.prorate(line.unit_monthly * line.quantity, now, period[1], *period)
                    if sub is not None and sub.status != "trial" else 0)
        lines.append(LineBilling(product, line.quantity, line.unit_monthly, before, before + line.quantity, None,
                                 prorated, period[1], first_month=sub is None))
    return OrderBilling(None, lines, order.setup_total, pending=True)


def current_period(sub, now: datetime) -> tuple[datetime, datetime]:
    """The period of `sub` that holds `now`: its current one, or when that ended before the sweep renewed it, the
    one approving would prorate in (approval closes the ended periods first, sweep.bring_up_to_date)."""
    from portal.services.billing.rules import next_period

    start, end = sub.current_period_start, sub.current_period_end
    while end <= now:
        start, end = next_period(start, end, sub.period)
    return start, end
