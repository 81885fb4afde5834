"""License partners' side of the large data set: a default price list, each partner's orders, stock, clients
and activations (500,000 at scale 1), with the stock movements that add up to it, and the bench partner's
invoices (each approved order's setup fee, and a monthly subscription invoice a month, the latest one open).

The busiest partner (the bench one) holds about a seventh of the activations, so its activation list and its
filters by tax id and by code run over tens of thousands of rows at scale 1.
"""

from datetime import timedelta

from sqlalchemy import func, select, update

from bench.dataset import Context, skewed_weights, spread
from bench.dataset.accounts import tax_id_for
from portal.extensions import db
from portal.models import Invoice, InvoiceLine, InvoiceSeries
from portal.models.partners import (
    LicenseActivation,
    PartnerClient,
    PartnerOrder,
    PartnerOrderLine,
    PartnerStock,
    PriceList,
    PriceListItem,
    StockMovement,
)
from portal.services.billing.money import tax_for
from portal.services.partners import codes
from portal.services.partners.stock import mask_tax_id
from portal.text import search_text

CLIENT_TRADES = ("Mercado", "Padaria", "Farmácia", "Auto Peças", "Restaurante", "Papelaria", "Ótica", "Pet Shop")
CLIENT_PLACES = ("Boa Vista", "Central", "do Sul", "Estrela", "Jardim", "São Jorge", "Aurora", "Primavera")
HORIZON_DAYS = 2 * 365
SETUP_FEE = 15_000


def generate_licenses(ctx: Context) -> None:
    """A default price list of the point-of-sale modules; per partner, clients of one to three licenses each,
    the licenses activated (a tenth of them cancelled since) and a tenth more left in stock."""
    rng = ctx.rng("licenses")
    partners = ctx.made["partner_ids"]
    organisations, members_of = ctx.made["organisations"], ctx.made["members_of"]
    products = [product_id for product_id, kind in ctx.made["addons"][3] if kind == "module"]
    ctx.insert(PriceList, [{"id": 1, "lineage": 1, "version": 1, "name": "Pauta Parceiros", "currency": "BRL",
                            "partner_id": None, "created_at": ctx.today - timedelta(days=HORIZON_DAYS),
                            "superseded_at": None}])
    unit = {product_id: 4_990 * i for i, product_id in enumerate(products, start=1)}
    ctx.insert(PriceListItem, [{"id": i, "price_list_id": 1, "product_id": product_id, "unit_monthly": unit[product_id],
                                "setup_fee": SETUP_FEE, "users_per_license": 1, "bonus_tiers": []}
                               for i, product_id in enumerate(products, start=1)])
    orders, lines = [], []

    def order(partner_id: int, user_id: int, status: str, quantities: dict[int, int], at) -> int:
        order_id = len(orders) + 1
        decided = status in ("finalised", "cancelled")
        orders.append({"id": order_id, "partner_id": partner_id, "price_list_id": 1, "kind": "purchase",
                       "status": status, "currency": "BRL", "created_by_id": user_id, "created_at": at,
                       "confirmed_at": None if status == "draft" else at, "decided_by_id": user_id if decided else None,
                       "decided_at": at + timedelta(hours=2) if decided else None, "setup_invoice_id": None})
        for product_id, quantity in quantities.items():
            lines.append({"id": len(lines) + 1, "order_id": order_id, "product_id": product_id, "quantity": quantity,
                          "bonus": 0, "users": quantity, "unit_monthly": unit[product_id], "setup_fee": SETUP_FEE,
                          "monthly_total": unit[product_id] * quantity, "setup_total": SETUP_FEE * quantity})
        return order_id

    per_partner = spread(rng, ctx.count("licenses"), len(partners), cum_weights=skewed_weights(len(partners), 1.0))
    stock, movements, clients, activations = [], [], [], []
    start = ctx.today - timedelta(days=HORIZON_DAYS)
    for partner_id, count in zip(partners, per_partner, strict=True):
        country = organisations[partner_id][1]
        people = members_of[partner_id]
        taken = dict.fromkeys(products, 0)
        active = dict.fromkeys(products, 0)
        while count > 0:
            client_id = len(clients) + 1
            tax_id = tax_id_for(country, 1_000_000 + client_id)
            name = f"{rng.choice(CLIENT_TRADES)} {rng.choice(CLIENT_PLACES)} {client_id}"
            created = start + timedelta(seconds=rng.randrange(HORIZON_DAYS * 86_400))
            clients.append({"id": client_id, "partner_id": partner_id, "name": name, "search_name": search_text(name),
                            "tax_id": tax_id, "tax_id_masked": mask_tax_id(country, tax_id), "created_at": created,
                            "cancelled_at": None})
            for _ in range(min(count, rng.choice((1, 1, 2, 3)))):
                count -= 1
                product_id = rng.choice(products)
                at = created + timedelta(minutes=rng.randrange(1, 60 * 24 * 30))
                cancelled = rng.random() < 0.1
                user_id = rng.choice(people)
                activation_id = len(activations) + 1
                activations.append({
                    "id": activation_id, "partner_id": partner_id, "client_id": client_id, "product_id": product_id,
                    "code": codes.new_code(rng.choice), "users": 1, "note": "", "status": "cancelled" if cancelled
                    else "active", "activated_by_id": user_id, "activated_at": at,
                    "cancelled_by_id": user_id if cancelled else None,
                    "cancelled_at": at + timedelta(days=7) if cancelled else None, "details": {}})
                movements.append({"id": len(movements) + 1, "partner_id": partner_id, "product_id": product_id,
                                  "kind": "activation", "quantity": -1, "order_id": None,
                                  "activation_id": activation_id, "user_id": user_id, "at": at})
                if cancelled:
                    movements.append({"id": len(movements) + 1, "partner_id": partner_id, "product_id": product_id,
                                      "kind": "cancellation", "quantity": 1, "order_id": None,
                                      "activation_id": activation_id, "user_id": user_id, "at": at + timedelta(days=7)})
                taken[product_id] += 1
                active[product_id] += not cancelled
        for product_id in products:
            if not taken[product_id]:
                continue
            total = taken[product_id] + max(1, taken[product_id] // 10)
            bought = order(partner_id, people[0], "finalised", {product_id: total}, start)
            movements.append({"id": len(movements) + 1, "partner_id": partner_id, "product_id": product_id,
                              "kind": "order", "quantity": total, "order_id": bought, "activation_id": None,
                              "user_id": people[0], "at": start})
            stock.append({"id": len(stock) + 1, "partner_id": partner_id, "product_id": product_id,
                          "available": total - active[product_id], "total": total, "users_per_license": 1,
                          "additional_users": 0})
        # A pending order and a cancelled one each; a seller's draft of two products on the bench partner.
        seller = people[-1]
        order(partner_id, seller, "pending", {products[0]: 10}, ctx.today - timedelta(days=1))
        order(partner_id, seller, "cancelled", {products[-1]: 3}, ctx.today - timedelta(days=9))
        if partner_id == partners[0]:
            order(partner_id, people[1], "draft", {products[0]: 5, products[1]: 2}, ctx.today)
    _bench_partner_invoices(ctx, partners[0], orders, lines)  # before the orders: they name their setup invoice
    ctx.insert(PartnerOrder, orders)
    ctx.insert(PartnerOrderLine, lines)
    ctx.insert(PartnerStock, stock)
    ctx.insert(PartnerClient, clients)
    ctx.insert(LicenseActivation, activations)
    ctx.insert(StockMovement, movements)


def _bench_partner_invoices(ctx: Context, partner_id: int, orders: list[dict], lines: list[dict]) -> None:
    """The bench partner's invoices, after the customers' (numbered on in its country's series): the setup fee
    of each finalised order (paid), and a subscription invoice for each of the last months (the latest open)."""
    _kind, country, _currency, locale, _reseller, name, tax_id = ctx.made["organisations"][partner_id]
    currency = orders[0]["currency"]  # the price list's, as its orders'
    _vk, vendor_country, _vc, _vl, _vr, vendor_name, vendor_tax = ctx.made["organisations"][ctx.made["vendor_id"]]
    rate, series_id = ctx.made["tax_bp"][country], ctx.made["series"][(country, "invoice")]
    next_id = (db.session.scalar(select(func.max(Invoice.id))) or 0) + 1
    next_line = (db.session.scalar(select(func.max(InvoiceLine.id))) or 0) + 1
    number = db.session.scalar(select(InvoiceSeries.next_number).where(InvoiceSeries.id == series_id)) or 1
    ordered = [order for order in orders if order["partner_id"] == partner_id and order["status"] == "finalised"]
    of_order = {order["id"]: [line for line in lines if line["order_id"] == order["id"]] for order in ordered}
    monthly = [(line["product_id"], line["quantity"], line["unit_monthly"]) for order in ordered
               for line in of_order[order["id"]]]
    bills = [(order["decided_at"], "setup", [(line["product_id"], line["quantity"], line["setup_fee"])
                                             for line in of_order[order["id"]]], order) for order in ordered]
    bills += [(ctx.today - timedelta(days=30 * months), "recurring", monthly, None) for months in range(6, 0, -1)]
    invoices, invoice_lines = [], []
    for position_of_bill, (issued, kind, charges, order) in enumerate(sorted(bills, key=lambda bill: bill[0])):
        last = position_of_bill == len(bills) - 1
        subtotal = tax_total = 0
        for position, (product_id, quantity, unit) in enumerate(charges):
            amount = unit * quantity
            tax = tax_for(amount, rate)
            subtotal, tax_total = subtotal + amount, tax_total + tax
            invoice_lines.append({"id": next_line, "invoice_id": next_id, "position": position, "kind": kind,
                                  "product_id": product_id, "description": ctx.made["product_names"][product_id],
                                  "quantity": quantity, "unit_amount": unit, "amount": amount, "tax_rate_bp": rate,
                                  "tax_amount": tax, "total": amount + tax, "period_start": issued,
                                  "period_end": issued + timedelta(days=30)})
            next_line += 1
        due = issued + timedelta(days=10)
        invoices.append({
            "id": next_id, "organisation_id": partner_id, "subscription_id": None,
            "period_key": f"bench-partner:{next_id}", "kind": "invoice", "credit_for_id": None,
            "series_id": series_id, "number": number, "status": "open" if last else "paid", "currency": currency,
            "locale": locale, "subtotal": subtotal, "tax_total": tax_total, "total": subtotal + tax_total,
            "period_start": issued, "period_end": issued + timedelta(days=30), "issued_at": issued, "due_at": due,
            "paid_at": None if last else due - timedelta(days=2), "voided_at": None,
            "vendor_snapshot": {"name": vendor_name, "tax_id": vendor_tax, "country": vendor_country},
            "customer_snapshot": {"name": name, "tax_id": tax_id, "country": country}, "created_at": issued,
        })
        if order is not None:
            order["setup_invoice_id"] = next_id
        next_id, number = next_id + 1, number + 1
    ctx.insert(Invoice, invoices)
    ctx.insert(InvoiceLine, invoice_lines)
    db.session.execute(update(InvoiceSeries).where(InvoiceSeries.id == series_id).values(next_number=number))
