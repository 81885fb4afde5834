"""The catalog of the large data set: three software, their plans and add-ons, prices, quotas, taxes, series.

The catalog does not grow with the scale: a vendor sells tens of products to tens of thousands of customers.
"""

from bench.dataset import Context
from portal.models import BillingSettings, Category, InvoiceSeries, Price, Product, Quota, Software, TaxRate
from portal.text import search_text

SOFTWARE = (("erp", "Vitrine ERP"), ("dte", "Facturación Electrónica"), ("pos", "Punto de Venta"))
CATEGORIES = (("my_plan", "My plan"), ("erp", "ERP"), ("einvoicing", "E-invoicing"), ("pos", "Point of sale"),
              ("services", "Services"))
PLANS = (("start", "Start", 9_900, 100, 2, 1), ("pyme", "Pyme", 24_900, 500, 5, 1),
         ("pro", "Pro", 49_900, 2_000, 10, 3), ("corp", "Corporativo", 129_900, 10_000, 50, 10))
ADDONS = (("module", "Inventario", 6_900), ("module", "Ciclo comercial", 8_900), ("module", "Remuneraciones", 12_900),
          ("exporter", "Exportador a Excel", 0), ("additional_user", "Usuario adicional", 3_900),
          ("additional_company", "Empresa adicional", 7_900))
# Minor units per currency for a price given in CLP: BRL and MXN have cents.
RATES = {"CLP": 1.0, "BRL": 0.55, "MXN": 2.1}
SERIES_COUNTRIES = ("CL", "BR", "MX")
TAX_RATES = (("CL", "IVA", 1_900), ("MX", "IVA", 1_600), ("BR", "ISS", 500))


def _price(clp: int, currency: str) -> int:
    return int(round(clp * RATES[currency], -1 if currency == "CLP" else 0))


def generate_catalog(ctx: Context) -> None:
    """Software, categories, plans with quotas, add-ons, prices in CLP/BRL/MXN, tax rates, invoice series."""
    software = [{"id": i, "code": code, "name": name, "names": {}, "description": "",
                 "launch_url": f"https://{code}.vitrine.example/", "retired_at": None, "created_at": ctx.today}
                for i, (code, name) in enumerate(SOFTWARE, start=1)]
    categories = [{"id": i, "code": code, "name": name, "names": {}, "position": i, "retired_at": None}
                  for i, (code, name) in enumerate(CATEGORIES, start=1)]
    products, prices, quotas = [], [], []
    plans: dict[int, list[int]] = {}  # software id → plan product ids (cheapest first)
    addons: dict[int, list[tuple[int, str]]] = {}  # software id → (product id, kind)
    price_of: dict[tuple[int, str, str], int] = {}  # (product id, currency, period) → amount
    overage_of: dict[tuple[int, str], int] = {}  # (plan id, currency) → price of a document beyond the quota
    category_of = {"erp": 2, "dte": 3, "pos": 4}

    def product(sw: dict, kind: str, code: str, name: str, monthly_clp: int, category: int) -> int:
        product_id = len(products) + 1
        products.append({"id": product_id, "code": f"{sw['code']}-{code}", "software_id": sw["id"],
                         "category_id": category, "kind": kind, "name": f"{sw['name']} {name}", "names": {},
                         "description": "", "is_free": monthly_clp == 0, "pay_upfront": False,
                         "position": product_id, "retired_at": None, "created_at": ctx.today,
                         "search_name": search_text(f"{sw['name']} {name}", f"{sw['code']}-{code}")})
        for currency in RATES:
            for period, months in (("monthly", 1), ("annual", 10)):
                amount = _price(monthly_clp * months, currency)
                prices.append({"id": len(prices) + 1, "product_id": product_id, "currency": currency,
                               "period": period, "amount": amount, "setup_fee": 0})
                price_of[(product_id, currency, period)] = amount
        return product_id

    for sw in software:
        for code, name, clp, documents, users, companies in PLANS:
            plan_id = product(sw, "plan", code, name, clp, 1)
            plans.setdefault(sw["id"], []).append(plan_id)
            for currency in RATES:
                overage_of[(plan_id, currency)] = _price(50, currency)
            for metric, included, overage_clp in (("documents", documents, 50), ("users", users, 3_900),
                                                   ("companies", companies, 7_900)):
                quotas.append({"id": len(quotas) + 1, "product_id": plan_id, "metric": metric, "included": included,
                               "overage_prices": {c: _price(overage_clp, c) for c in RATES}})
        for kind, name, clp in ADDONS:
            category = 1 if kind.startswith("additional") else category_of[sw["code"]]
            addon_id = product(sw, kind, name.lower().replace(" ", "-"), name, clp, category)
            addons.setdefault(sw["id"], []).append((addon_id, kind))
    product(software[0], "service", "training", "Capacitación", 59_900, 5)

    ctx.insert(Software, software)
    ctx.insert(Category, categories)
    ctx.insert(Product, products)
    ctx.insert(Price, prices)
    ctx.insert(Quota, quotas)
    ctx.insert(TaxRate, [{"country": c, "name": n, "rate_bp": bp} for c, n, bp in TAX_RATES])
    ctx.insert(BillingSettings, [{"id": 1, "payment_terms_days": 10, "payment_instructions": {
        "CL": "Transferencia a Banco de Chile, cuenta 000-12345-67.",
        "BR": "Pix: financeiro@vitrine.example", "MX": "SPEI CLABE 012180001234567897."}}])
    series = [{"id": i, "code": f"{country}-{kind[:2].upper()}", "prefix": f"{'F' if kind == 'invoice' else 'NC'}"
               f"-{country}-", "kind": kind, "country": country, "next_number": 1}
              for i, (country, kind) in enumerate(
                  [(c, k) for c in SERIES_COUNTRIES for k in ("invoice", "credit_note")], start=1)]
    ctx.insert(InvoiceSeries, series)
    ctx.made.update(
        plans=plans, addons=addons, price_of=price_of, product_names={p["id"]: p["name"] for p in products},
        tax_bp={c: bp for c, _n, bp in TAX_RATES}, overage_of=overage_of,
        series={(s["country"], s["kind"]): s["id"] for s in series},
    )

