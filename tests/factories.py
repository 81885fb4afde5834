"""Factories for tests: believable organisations, users and memberships in one call."""

import itertools
from datetime import UTC, datetime, timedelta

from stdnum.br import cnpj
from stdnum.cl import rut

from portal.extensions import db
from portal.models import ROLES, Membership, Organisation, User
from portal.models.invoices import Installment, Invoice, InvoiceLine, InvoiceSeries
from portal.services.accounts import organisations as accounts
from portal.services.accounts.taxid import format_tax_id
from portal.services.billing.money import split_installments, tax_for

PASSWORD = "correct horse battery"
_sequence = itertools.count(1)


def _valid_tax_id(country: str, n: int) -> str:
    if country == "CL":
        body = str(70_000_000 + n)
        return body + rut.calc_check_digit(body)
    if country == "BR":
        body = f"{10_000_000 + n:08d}0001"
        return body + cnpj.calc_check_digits(body)
    return f"ABC{(n % 28) + 1:02d}0101{n % 10}A{n % 10}"[:12] if country == "MX" else ""


def make_org(kind: str = "customer", country: str = "CL", name: str | None = None, **fields) -> Organisation:
    n = next(_sequence)
    tax_id = fields.pop("tax_id", None) or _valid_tax_id(country, n) or None
    return accounts.create_organisation(kind, name or f"{kind.title()} {n} Ltda.", country, tax_id, **fields)


def make_user(email: str | None = None, name: str | None = None, password: str | None = PASSWORD, **fields) -> User:
    n = next(_sequence)
    return accounts.create_user(email or f"user{n}@example.test", name or f"User {n}", password, **fields)


def make_member(kind: str = "customer", role: str | None = None, organisation: Organisation | None = None,
                **user_fields) -> Membership:
    organisation = organisation or make_org(kind)
    role = role or ROLES[organisation.kind][0]
    membership = accounts.add_membership(make_user(**user_fields), organisation, role)
    db.session.flush()
    return membership


INVOICE_VENDOR = {
    "name": "Vitrine Software SpA",
    "tax_id": "76.543.210-3",
    "address": "Av. Providencia 1208, of. 504, Providencia, Santiago",
    "country": "CL",
    "email": "facturacion@vitrine.test",
}
TAX_RATES_BP = {"CL": 1900, "MX": 1600}


def invoice_series(code: str = "F", prefix: str | None = None, kind: str = "invoice") -> InvoiceSeries:
    series = db.session.scalar(db.select(InvoiceSeries).filter_by(code=code))
    if series is None:
        series = InvoiceSeries(code=code, prefix=prefix or code, kind=kind, next_number=1)
        db.session.add(series)
        db.session.flush()
    return series


def make_invoice(org: Organisation, lines=None, status: str = "open", installments: int = 1,
                 kind: str = "invoice", credit_for: Invoice | None = None, issued_at: datetime | None = None,
                 due_days: int = 10, tax_rate_bp: int | None = None, **fields) -> Invoice:
    """An issued invoice built directly with the models: numbered in its series, lines with tax each, totals
    the sums of the lines, fiscal snapshots, optional installments. `lines` are (description, quantity,
    unit_amount) or (description, quantity, unit_amount, tax_rate_bp) tuples."""
    rate = TAX_RATES_BP.get(org.country, 0) if tax_rate_bp is None else tax_rate_bp
    lines = lines or [("Plan Pyme mensual", 1, 29_990), ("Usuario adicional", 2, 4_990)]
    series = fields.pop("series", None) or (
        invoice_series("NC", kind="credit_note") if kind == "credit_note" else invoice_series("F")
    )
    issued_at = issued_at or datetime.now(UTC).replace(microsecond=0)
    invoice = Invoice(
        organisation_id=org.id, kind=kind, credit_for=credit_for, series=series,
        number=fields.pop("number", None if status == "draft" else series.next_number),
        status=status, currency=fields.pop("currency", org.currency), locale=fields.pop("locale", org.locale),
        issued_at=issued_at, due_at=issued_at + timedelta(days=due_days),
        vendor_snapshot=fields.pop("vendor_snapshot", dict(INVOICE_VENDOR)),
        customer_snapshot=fields.pop("customer_snapshot", {
            "name": org.name, "trade_name": org.trade_name, "tax_id": format_tax_id(org.country, org.tax_id),
            "address": org.address or "Calle Falsa 123, Santiago", "country": org.country,
        }),
        **fields,
    )
    if invoice.number == series.next_number:
        series.next_number += 1
    for position, spec in enumerate(lines):
        description, quantity, unit_amount, line_rate = (*spec, rate) if len(spec) == 3 else spec
        amount = quantity * unit_amount
        tax = tax_for(amount, line_rate)
        invoice.lines.append(InvoiceLine(
            position=position, kind="credit" if kind == "credit_note" else "recurring", description=description,
            quantity=quantity, unit_amount=unit_amount, amount=amount, tax_rate_bp=line_rate, tax_amount=tax,
            total=amount + tax,
        ))
    invoice.subtotal = sum(line.amount for line in invoice.lines)
    invoice.tax_total = sum(line.tax_amount for line in invoice.lines)
    invoice.total = invoice.subtotal + invoice.tax_total
    if status == "paid":
        invoice.paid_at = issued_at + timedelta(days=2)
    elif status == "void":
        invoice.voided_at = issued_at + timedelta(days=1)
    if installments > 1:
        for number, part in enumerate(split_installments(invoice.total, installments), start=1):
            invoice.installments.append(Installment(
                number=number, amount=part, due_at=issued_at + timedelta(days=due_days + 30 * (number - 1)),
                paid_at=invoice.paid_at,
            ))
    db.session.add(invoice)
    db.session.flush()
    return invoice


def make_software(code: str | None = None, name: str | None = None, **fields):
    from portal.services import catalog

    n = next(_sequence)
    return catalog.create_software(code or f"software-{n}", name or f"Software {n}",
                                   fields.pop("launch_url", f"https://app{n}.example.test/login"), **fields)


def make_category(code: str | None = None, name: str | None = None, **fields):
    from portal.services import catalog

    n = next(_sequence)
    return catalog.create_category(code or f"category-{n}", name or f"Category {n}", **fields)


def make_product(kind: str = "plan", software=None, category=None, code: str | None = None, name: str | None = None,
                 prices=(("CLP", "monthly", 19_990, 0),), **fields):
    """A product of the catalog with its prices: (currency, period, amount, setup fee) in minor units."""
    from portal.services import catalog

    n = next(_sequence)
    product = catalog.create_product(code or f"product-{n}", kind, software or make_software(), name or f"Plan {n}",
                                     category, **fields)
    for currency, period, amount, setup_fee in prices if not product.is_free else ():
        catalog.set_price(product, currency, period, amount, setup_fee)
    return product


def make_subscription(org: Organisation, plan=None, items=(), status: str = "active", period: str = "monthly",
                      start: datetime | None = None, quotas: dict | None = None, **fields):
    """A subscription of `org` to `plan` (a new plan with `quotas` {metric: included} when none is given), with
    add-ons `items` as (product, quantity) pairs; its current period starts at `start` (today, midnight UTC)."""
    from portal.models import Subscription, SubscriptionItem
    from portal.services import catalog
    from portal.services.billing.rules import MONTHS, add_months

    if plan is None:
        plan = make_product("plan", prices=((org.currency, period, 19_990, 0),))
        for metric, included in (quotas or {}).items():
            catalog.set_quota(plan, metric, included)
    start = start or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    subscription = Subscription(
        organisation_id=org.id, payer_id=fields.pop("payer_id", org.id), plan=plan, currency=org.currency,
        period=period, status=status, current_period_start=start,
        current_period_end=add_months(start, MONTHS[period]), **fields,
    )
    for product, quantity in items:
        subscription.items.append(SubscriptionItem(product=product, quantity=quantity))
    db.session.add(subscription)
    db.session.flush()
    return subscription


def make_partner_catalog(partner: Organisation | None = None, currency: str | None = None):
    """A license software with two licenses and additional users, and a price list of them (the partner's own
    when given, in its currency, else the default one, in BRL): Completo R$ 89,90 a month + R$ 150,00 setup,
    1 free license from 10 and 3 from 25; Light R$ 49,90; additional users R$ 15,00. Returns (price list,
    {code: product})."""
    from portal.services.partners import pricelists

    currency = currency or (partner.currency if partner is not None else "BRL")

    software = make_software()
    products = {
        "completo": make_product("module", software, name="Moderniza Completo", prices=()),
        "light": make_product("module", software, name="Moderniza Light", prices=()),
        "usuario": make_product("additional_user", software, name="Usuário adicional", prices=()),
    }
    items = [pricelists.ItemSpec(products["completo"], 8990, 15000, 2, ((10, 1), (25, 3))),
             pricelists.ItemSpec(products["light"], 4990, 0, 1),
             pricelists.ItemSpec(products["usuario"], 1500)]
    price_list = pricelists.create_price_list("Pauta Parceiros 2026", currency, items, datetime.now(UTC),
                                              partner=partner)
    return price_list, products


def make_partner_stock(partner: Organisation, product, quantity: int, users_per_license: int = 1):
    """`quantity` licenses of `product` in the partner's stock, as an approved order would leave them."""
    from portal.models.partners import StockMovement
    from portal.services.partners.orders import stock_row

    stock = stock_row(partner.id, product.id)
    stock.available += quantity
    stock.total += quantity
    stock.users_per_license = users_per_license
    db.session.add(StockMovement(partner_id=partner.id, product_id=product.id, kind="order", quantity=quantity))
    db.session.flush()
    return stock


def make_license(partner: Organisation, product=None, client_name: str = "Mercado Boa Vista Ltda",
                 tax_id: str | None = None):
    """An active license of the partner (a product with one license in stock made when none is given)."""
    from portal.services.partners import stock

    if product is None:
        product = make_product("module", name=f"Licença {next(_sequence)}", prices=())
    make_partner_stock(partner, product, 1)
    user = make_member("partner", "admin", organisation=partner).user
    tax_id = tax_id or _valid_tax_id(partner.country, next(_sequence))
    return stock.activate(partner, user, product, client_name, tax_id, "", datetime.now(UTC))


def make_advisor_request(organisation: Organisation | None = None, subject: str = "Activar facturación electrónica",
                         contact: str = "email", **fields):
    """A request of one of the organisation's administrators to its commercial advisor, sent through the
    service (stored, audited and e-mailed)."""
    from portal.services.accounts import advisor_requests

    organisation = organisation or make_org("customer")
    user = fields.pop("user", None) or make_member("customer", "admin", organisation=organisation).user
    data = advisor_requests.RequestData(subject, fields.pop("message", "¿Qué incluye el módulo y cuánto cuesta?"),
                                        contact, fields.pop("phone", ""), fields.pop("preferred_time", ""))
    return advisor_requests.send_request(organisation, user, data)
