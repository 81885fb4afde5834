"""The pages and htmx fragments that the benchmarks measure, per role. Add yours as features land.

A `Page` is one request as a user makes it: who (`role`, a (kind, role) pair of BENCH_USERS, or None
for a visitor), what (`method`, `path`, `form`), and what a correct answer is (`status`). A fragment
is the same request as htmx sends it (`HX-Request: true`, plus `headers` such as `HX-Target`). A POST
gets the session's CSRF token added to its form.

Paths (and form values) may name objects of the generated data set with `{placeholders}`: each is looked up once per run
with the SQL in PARAMS, against the bench organisations (`:customer`, `:reseller`, `:partner`, `:vendor`).
"""

from dataclasses import dataclass, field

CUSTOMER_ADMIN = ("customer", "admin")
CUSTOMER_MEMBER = ("customer", "member")
RESELLER_MANAGER = ("reseller", "manager")
RESELLER_ACCOUNTANT = ("reseller", "accountant")
PARTNER_ADMIN = ("partner", "admin")
PARTNER_SELLER = ("partner", "seller")
VENDOR_ADMIN = ("vendor", "admin")
VENDOR_BILLING = ("vendor", "billing")
VENDOR_ADVISOR = ("vendor", "advisor")


@dataclass(frozen=True)
class Page:
    role: tuple[str, str] | None
    path: str
    kind: str = "page"  # "page" (a whole document, as a browser loads it), "fragment" (an htmx swap) or "file"
    method: str = "GET"
    form: dict | None = None
    status: int = 200
    headers: dict = field(default_factory=dict)
    name: str = ""

    @property
    def label(self) -> str:
        who = "/".join(self.role) if self.role else "visitor"
        return self.name or f"{who} {self.method} {self.path}"

    @property
    def is_main(self) -> bool:
        """A main page: a whole page a person opens and reads (what Lighthouse and axe audit)."""
        return self.kind == "page" and self.method == "GET" and self.status == 200

    def request_headers(self) -> dict:
        headers = {"HX-Request": "true"} if self.kind == "fragment" else {}
        return headers | self.headers

    def url(self, params: dict) -> str:
        return self.path.format(**params)

    def filled_form(self, params: dict) -> dict:
        """The form with the data set's values put in its `{placeholders}` (as in the path)."""
        return {name: value.format(**params) for name, value in (self.form or {}).items()}


# name → SQL returning one value; `:customer` etc. are the ids of the bench organisations.
PARAMS = {
    "product_id": "SELECT MIN(id) FROM product",
    # A product the store offers the bench customer: in a store category, of the software it subscribes to,
    # priced in its subscription's currency.
    "store_product_id": "SELECT MIN(p.id) FROM product p JOIN subscription s ON s.organisation_id = :customer "
                        "AND s.status IN ('trial', 'active', 'past_due') JOIN product plan ON plan.id = s.plan_id "
                        "WHERE p.software_id = plan.software_id AND p.category_id IS NOT NULL "
                        "AND p.retired_at IS NULL AND EXISTS (SELECT 1 FROM price pr WHERE pr.product_id = p.id "
                        "AND pr.currency = s.currency)",
    # One the customer can hold several of (additional users first): adding it again is always an "add".
    "store_stackable_id": "SELECT MIN(p.id) FROM product p JOIN subscription s ON s.organisation_id = :customer "
                          "AND s.status IN ('trial', 'active', 'past_due') JOIN product plan ON plan.id = s.plan_id "
                          "WHERE p.software_id = plan.software_id AND p.category_id IS NOT NULL "
                          "AND p.kind IN ('additional_user', 'additional_company', 'service') "
                          "AND p.retired_at IS NULL AND EXISTS (SELECT 1 FROM price pr WHERE pr.product_id = p.id "
                          "AND pr.currency = s.currency)",
    "store_row": "SELECT code FROM category WHERE retired_at IS NULL ORDER BY position, id LIMIT 1",
    "software_id": "SELECT MIN(id) FROM software",
    "customer_invoice_id": "SELECT MAX(id) FROM invoice WHERE organisation_id = :customer AND kind = 'invoice'",
    "invoice_id": "SELECT MAX(id) FROM invoice WHERE kind = 'invoice'",
    "customer_id": "SELECT id FROM organisation WHERE id = :customer",
    "customer_member_id": "SELECT MIN(id) FROM membership WHERE organisation_id = :customer AND role = 'member'",
    # The bench reseller's latest issued invoice, for its invoice page on the Payment screen.
    "reseller_invoice_id": "SELECT MAX(id) FROM invoice WHERE organisation_id = :reseller AND kind = 'invoice' "
                           "AND status <> 'draft'",
    # A client company of the bench reseller (the first, by id), for the manage pages.
    "reseller_client_id": "SELECT MIN(id) FROM organisation WHERE reseller_id = :reseller AND kind = 'customer'",
    # The current month (in UTC), as the client page's month list offers it first.
    "current_month": "SELECT SUBSTR(CAST(CURRENT_DATE AS TEXT), 1, 7)",
    # A supplier XML of that client (bench/dataset/fiscal.py), for its download.
    "supplier_xml_id": "SELECT MIN(d.id) FROM fiscal_document d JOIN organisation o ON o.id = d.organisation_id "
                       "WHERE o.reseller_id = :reseller AND d.direction = 'received'",
    "customer_subscription_id": "SELECT MIN(id) FROM subscription WHERE organisation_id = :customer "
                                "AND status IN ('trial', 'active', 'past_due')",
    # Another plan of the same software as that subscription's, for the plan change's preview.
    "customer_other_plan_id": "SELECT MIN(p.id) FROM product p JOIN subscription s ON s.organisation_id = :customer "
                              "JOIN product current ON current.id = s.plan_id WHERE p.kind = 'plan' "
                              "AND p.software_id = current.software_id AND p.id <> s.plan_id "
                              "AND p.retired_at IS NULL AND s.status IN ('trial', 'active', 'past_due')",
    # One of the bench partner's clients and the code of its latest activation, for the activation filters.
    "license_tax_id": "SELECT c.tax_id FROM license_activation a JOIN partner_client c ON c.id = a.client_id "
                      "WHERE a.partner_id = :partner ORDER BY a.id LIMIT 1",
    "license_code": "SELECT code FROM license_activation WHERE partner_id = :partner ORDER BY id LIMIT 1",
    "license_id": "SELECT MIN(id) FROM license_activation WHERE partner_id = :partner",
    "draft_product_id": "SELECT MIN(l.product_id) FROM partner_order_line l JOIN partner_order o ON o.id = l.order_id "
                        "WHERE o.partner_id = :partner AND o.status = 'draft'",
    # The bench partner's latest invoice (open: its setup fees and monthly subscription, bench/dataset/licenses.py).
    "partner_invoice_id": "SELECT MAX(id) FROM invoice WHERE organisation_id = :partner AND kind = 'invoice'",
    "price_list_id": "SELECT MIN(id) FROM price_list WHERE superseded_at IS NULL",
    "pending_order_id": "SELECT MIN(id) FROM partner_order WHERE status = 'pending'",
}

PAGES = [
    # Visitors
    Page(None, "/login", name="login"),
    Page(None, "/password/forgot", name="forgot password"),
    Page(None, "/no-such-page", status=404, name="error page (404)"),
    Page(None, "/sandbox-bank/", name="sandbox bank"),
    # Customer
    Page(CUSTOMER_ADMIN, "/customer/", name="customer home"),
    Page(CUSTOMER_ADMIN, "/team", name="customer team"),
    Page(CUSTOMER_ADMIN, "/account/password", name="customer password"),
    Page(CUSTOMER_MEMBER, "/customer/", name="customer member home"),
    Page(CUSTOMER_ADMIN, "/customer/account", name="customer billing overview"),
    Page(CUSTOMER_ADMIN, "/customer/account/plans", name="customer active plans"),
    Page(CUSTOMER_MEMBER, "/customer/account/plans", name="customer active plans (member, read-only)"),
    Page(CUSTOMER_ADMIN, "/customer/account/plans/{customer_subscription_id}/suspend",
         name="customer suspension preview"),
    Page(CUSTOMER_ADMIN, "/customer/account/plans/{customer_subscription_id}/plan?plan={customer_other_plan_id}",
         name="customer plan change preview"),
    Page(CUSTOMER_ADMIN, "/customer/account/month", name="customer month's account"),
    Page(CUSTOMER_ADMIN, "/customer/account/history", name="customer subscription history"),
    Page(CUSTOMER_ADMIN, "/customer/account/usage", name="customer usage overview (charts)"),
    Page(CUSTOMER_ADMIN, "/customer/invoices", name="customer invoices"),
    Page(CUSTOMER_ADMIN, "/customer/invoices/{customer_invoice_id}", name="customer invoice"),
    Page(CUSTOMER_ADMIN, "/customer/integration", name="customer integration key"),
    Page(CUSTOMER_ADMIN, "/customer/organisation", name="customer organisation"),
    Page(CUSTOMER_MEMBER, "/customer/organisation", name="customer organisation (member, read-only)"),
    Page(CUSTOMER_ADMIN, "/customer/organisation/members/{customer_member_id}/admin",
         name="customer admin hand-over confirmation"),
    Page(CUSTOMER_ADMIN, "/customer/store", name="store"),
    Page(CUSTOMER_MEMBER, "/customer/store", name="store (member)"),
    Page(CUSTOMER_ADMIN, "/customer/store?q=usuario", name="store search"),
    Page(CUSTOMER_ADMIN, "/customer/store/products/{store_product_id}", name="store product"),
    Page(CUSTOMER_ADMIN, "/customer/cart", name="cart"),
    Page(CUSTOMER_ADMIN, "/customer/store/activations", name="store activations"),
    Page(CUSTOMER_ADMIN, "/customer/pay", name="customer pay online"),
    Page(CUSTOMER_ADMIN, "/customer/payments", name="customer payment history"),
    Page(CUSTOMER_ADMIN, "/customer/payment-methods", name="customer payment methods"),
    Page(CUSTOMER_ADMIN, "/customer/wallet", name="customer wallet"),
    Page(CUSTOMER_ADMIN, "/customer/account/billing-preferences", name="customer billing preferences"),
    Page(CUSTOMER_ADMIN, "/customer/no-such-page", status=404, name="customer error page (404)"),
    # Reseller
    Page(RESELLER_MANAGER, "/reseller/", name="reseller home"),
    Page(RESELLER_MANAGER, "/reseller/?q=ltda", name="reseller client search"),
    Page(RESELLER_MANAGER, "/reseller/?status=active&payer=client", name="reseller client filter"),
    Page(RESELLER_MANAGER, "/reseller/?page=2", "fragment", name="reseller clients next page (fragment)"),
    Page(RESELLER_MANAGER, "/reseller/clients.csv", "file", name="reseller clients CSV"),
    Page(RESELLER_MANAGER, "/reseller/clients/{reseller_client_id}", name="reseller manage a client"),
    # Issued XMLs: the month's ZIP, streamed (bench/fiscal_zip.py measures a month of 10,000, and a large month's
    # job, progress page and file); a month not offered is refused.
    Page(RESELLER_MANAGER, "/reseller/clients/{reseller_client_id}/fiscal/xml", "file", "POST",
         {"month": "{current_month}", "model": "55"}, name="reseller client: issued XMLs ZIP"),
    Page(RESELLER_MANAGER, "/reseller/clients/{reseller_client_id}/fiscal/reports", "file", "POST",
         {"month": "{current_month}", "model": "65"}, name="reseller client: reports and documents ZIP"),
    Page(RESELLER_MANAGER, "/reseller/clients/{reseller_client_id}/fiscal/xml", "page", "POST",
         {"month": "1999-01", "model": "55"}, status=400, name="reseller client: a month not offered"),
    Page(RESELLER_MANAGER, "/reseller/clients/{reseller_client_id}/supplier-xmls", name="reseller supplier XMLs"),
    Page(RESELLER_MANAGER, "/reseller/clients/{reseller_client_id}/supplier-xmls?state=pending&page=2", "fragment",
         headers={"HX-Target": "supplier-xmls"}, name="reseller supplier XMLs next page (fragment)"),
    Page(RESELLER_MANAGER, "/reseller/clients/{reseller_client_id}/supplier-xmls?state=recognised", "fragment",
         headers={"HX-Target": "supplier-xmls"}, name="reseller supplier XMLs recognised (fragment)"),
    Page(RESELLER_MANAGER, "/reseller/clients/{reseller_client_id}/supplier-xmls/{supplier_xml_id}.xml", "file",
         name="reseller supplier XML download"),
    Page(RESELLER_MANAGER, "/reseller/clients/new", name="reseller new client"),
    Page(RESELLER_MANAGER, "/reseller/clients/new/link", name="reseller new client: hiring link"),
    Page(RESELLER_MANAGER, "/reseller/clients/new/register", name="reseller new client: direct registration"),
    Page(RESELLER_MANAGER, "/reseller/my-data", name="reseller my data: basics"),
    Page(RESELLER_ACCOUNTANT, "/reseller/my-data", name="reseller my data: basics (accountant, read-only)"),
    Page(RESELLER_MANAGER, "/reseller/my-data/emails", name="reseller my data: e-mails"),
    Page(RESELLER_MANAGER, "/reseller/clients/{reseller_client_id}/settings/certificate",
         name="reseller client settings"),
    *[Page(RESELLER_MANAGER, f"/reseller/clients/{{reseller_client_id}}/settings/{tab}", "fragment",
           name=f"reseller client settings: {tab} (fragment)")
      for tab in ("certificate", "integration", "contract", "software")],
    Page(RESELLER_MANAGER, "/team", name="reseller team"),
    Page(RESELLER_ACCOUNTANT, "/reseller/", name="reseller accountant home"),
    Page(RESELLER_ACCOUNTANT, "/account/password", name="reseller accountant password"),
    Page(RESELLER_MANAGER, "/reseller/payment", name="reseller payment"),
    Page(RESELLER_MANAGER, "/reseller/payment-methods", name="reseller payment methods"),
    Page(RESELLER_ACCOUNTANT, "/reseller/payment", name="reseller payment (accountant, read-only)"),
    Page(RESELLER_MANAGER, "/reseller/payment/invoices/{reseller_invoice_id}", name="reseller invoice page"),
    Page(RESELLER_ACCOUNTANT, "/reseller/payment/invoices/{reseller_invoice_id}",
         name="reseller invoice page (accountant, read-only)"),
    # Partner
    Page(PARTNER_ADMIN, "/partner/", name="partner home"),
    Page(PARTNER_ADMIN, "/team", name="partner team"),
    Page(PARTNER_SELLER, "/partner/", name="partner seller home"),
    Page(PARTNER_SELLER, "/partner/orders/new", name="partner new order"),
    Page(PARTNER_ADMIN, "/partner/orders", name="partner orders"),
    Page(PARTNER_ADMIN, "/partner/stock", name="partner stock"),
    Page(PARTNER_SELLER, "/partner/licenses/activate", name="partner activate a license"),
    Page(PARTNER_ADMIN, "/partner/licenses", name="partner activations"),
    Page(PARTNER_ADMIN, "/partner/licenses?tax_id={license_tax_id}", name="partner activations by tax id"),
    Page(PARTNER_ADMIN, "/partner/licenses?code={license_code}", name="partner activations by code"),
    Page(PARTNER_ADMIN, "/partner/licenses/{license_id}", name="partner activation details"),
    Page(PARTNER_ADMIN, "/partner/clients", name="partner clients"),
    Page(PARTNER_ADMIN, "/partner/invoices", name="partner invoices"),
    Page(PARTNER_ADMIN, "/partner/invoices/{partner_invoice_id}", name="partner invoice"),
    Page(PARTNER_ADMIN, "/partner/payment-methods", name="partner payment methods"),
    # Back office
    Page(VENDOR_ADMIN, "/backoffice/", name="back office home"),
    Page(VENDOR_ADMIN, "/team", name="back office team"),
    Page(VENDOR_ADMIN, "/backoffice/catalog", name="catalog"),
    Page(VENDOR_ADMIN, "/backoffice/billing-settings", name="billing settings"),
    Page(VENDOR_ADMIN, "/backoffice/catalog/products/{product_id}", name="catalog product"),
    Page(VENDOR_ADMIN, "/backoffice/catalog/products/new", name="catalog new product"),
    Page(VENDOR_ADMIN, "/backoffice/price-lists", name="price lists"),
    Page(VENDOR_ADMIN, "/backoffice/price-lists/{price_list_id}", name="price list"),
    Page(VENDOR_ADMIN, "/backoffice/price-lists/new", name="new price list"),
    Page(VENDOR_ADMIN, "/backoffice/price-lists/{price_list_id}/edit", name="price list editor"),
    Page(VENDOR_BILLING, "/backoffice/price-lists", name="price lists (read-only, billing)"),
    Page(VENDOR_ADMIN, "/backoffice/partner-orders", name="orders to approve"),
    Page(VENDOR_ADMIN, "/backoffice/partner-orders/{pending_order_id}", name="order to approve"),
    Page(VENDOR_BILLING, "/backoffice/catalog", name="catalog (read-only, billing)"),
    Page(VENDOR_BILLING, "/backoffice/", name="back office billing home"),
    Page(VENDOR_BILLING, "/backoffice/organisations", name="organisations"),
    Page(VENDOR_BILLING, "/backoffice/organisations?q=bench&status=active", name="organisations search"),
    Page(VENDOR_BILLING, "/backoffice/organisations/{customer_id}", name="organisation account"),
    Page(VENDOR_BILLING, "/backoffice/invoices", name="back office invoices"),
    Page(VENDOR_BILLING, "/backoffice/invoices/{invoice_id}", name="back office invoice"),
    Page(CUSTOMER_ADMIN, "/customer/advisor/requests", name="customer advisor requests"),
    Page(CUSTOMER_MEMBER, "/customer/advisor/requests", name="customer advisor requests (member, read-only)"),
    Page(CUSTOMER_ADMIN, "/customer/advisor/requests/new", name="customer advisor request form (page)"),
    Page(VENDOR_ADVISOR, "/backoffice/", name="back office advisor home"),
    Page(VENDOR_ADVISOR, "/backoffice/advisor-requests", name="back office advisor requests"),
    Page(VENDOR_BILLING, "/backoffice/reconciliation", name="reconciliation"),
    Page(VENDOR_BILLING, "/backoffice/organisations/{customer_id}/payments", name="back office organisation payments"),
    Page(VENDOR_ADVISOR, "/backoffice/organisations/{customer_id}/payments",
         name="back office organisation payments (advisor, read-only)"),
    Page(VENDOR_BILLING, "/backoffice/organisations/{customer_id}/wallet", name="back office organisation wallet"),
]

FRAGMENTS = [
    Page(CUSTOMER_ADMIN, "/team", "fragment", "POST", {"name": "", "email": "not an e-mail", "role": "member"},
         status=422, name="team invite form, invalid (422)"),
    Page(CUSTOMER_ADMIN, "/account/password", "fragment", "POST", {"current": "", "password": "short", "confirm": ""},
         status=422, name="password form, invalid (422)"),
    Page(CUSTOMER_ADMIN, "/customer/organisation/billing", "fragment", "POST",
         {"legal_name": "", "tax_id": "1", "address": "", "invoice_emails": "x"}, status=422,
         name="customer billing data refused (fragment)"),
    Page(CUSTOMER_ADMIN, "/customer/no-such-page", "fragment", status=404, name="error fragment (404)"),
    Page(CUSTOMER_ADMIN, "/customer/payments?page=1", "fragment", name="customer payment history (fragment)"),
    Page(CUSTOMER_ADMIN, "/customer/wallet?page=1", "fragment", name="customer wallet movements (fragment)"),
    Page(VENDOR_ADMIN, "/backoffice/catalog?q=plan", "fragment", headers={"HX-Target": "products"},
         name="catalog search"),
    Page(VENDOR_ADMIN, "/backoffice/catalog?page=2", "fragment", headers={"HX-Target": "products"},
         name="catalog next page"),
    Page(VENDOR_ADMIN, "/backoffice/catalog/products/{product_id}/edit", "fragment",
         headers={"HX-Target": "product_details"}, name="product edit form"),
    Page(VENDOR_ADMIN, "/backoffice/catalog?kind=plan&retired=1", "fragment", headers={"HX-Target": "products"},
         name="catalog filter"),
    Page(VENDOR_ADMIN, "/backoffice/catalog/software/{software_id}/edit", "fragment",
         headers={"HX-Target": "software_form"}, name="software edit form"),
    Page(VENDOR_ADMIN, "/backoffice/catalog/products/{product_id}/prices", "fragment", "POST",
         {"currency": "CLP", "period": "monthly", "amount": "19990,5", "setup_fee": ""}, status=422,
         headers={"HX-Target": "prices"}, name="price form, invalid (422)"),
    Page(VENDOR_ADMIN, "/backoffice/price-lists/new", "page", "POST",
         {"name": "Pauta", "currency": "BRL", "rows": "1", "product_id_0": "{product_id}", "unit_monthly_0": "-1"},
         status=422, name="new price list, negative price (422)"),
    Page(VENDOR_ADMIN, "/backoffice/catalog/products/{product_id}/quotas", "fragment", "POST",
         {"metric": "documents", "included": "-1"}, status=422, headers={"HX-Target": "quotas"},
         name="quota form, invalid (422)"),
    Page(CUSTOMER_ADMIN, "/customer/account/month?page=2", "fragment", headers={"HX-Target": "activations"},
         name="month's activations next page"),
    Page(CUSTOMER_ADMIN, "/customer/account/history?page=2", "fragment", headers={"HX-Target": "history"},
         name="subscription history next page"),
    Page(CUSTOMER_ADMIN, "/customer/store?row={store_row}&{store_row}=2", "fragment", name="store row next page"),
    Page(CUSTOMER_ADMIN, "/customer/cart", "fragment", "POST", {"product_id": "{store_product_id}", "quantity": "0"},
         status=422, name="cart add, invalid quantity (422)"),
    # Each request adds one more unit to the same cart line (at most 10,000, far more than a run sends).
    Page(CUSTOMER_ADMIN, "/customer/cart", "fragment", "POST", {"product_id": "{store_stackable_id}", "quantity": "1"},
         name="cart add (fragment: the card, the badge and the panel)"),
    Page(CUSTOMER_ADMIN, "/customer/account/usage?period=1", "fragment", headers={"HX-Target": "usage_days"},
         name="usage per day of the previous period"),
    Page(CUSTOMER_ADMIN, "/customer/invoices?status=paid", "fragment", headers={"HX-Target": "invoices"},
         name="customer invoices filter"),
    Page(VENDOR_BILLING, "/backoffice/invoices?status=open", "fragment", headers={"HX-Target": "invoices"},
         name="back office invoices filter"),
    Page(VENDOR_BILLING, "/backoffice/invoices?page=2", "fragment", headers={"HX-Target": "invoices"},
         name="back office invoices next page"),
    Page(VENDOR_BILLING, "/backoffice/reconciliation?page=2", "fragment", headers={"HX-Target": "statements"},
         name="reconciliation statements next page"),
    Page(RESELLER_MANAGER, "/reseller/payment?page=2", "fragment", headers={"HX-Target": "invoices"},
         name="reseller payment invoices next page"),
    Page(VENDOR_BILLING, "/backoffice/organisations/{customer_id}/payments?page=2", "fragment",
         headers={"HX-Target": "payments"}, name="back office organisation payments next page"),
    Page(VENDOR_BILLING, "/backoffice/organisations/{customer_id}/wallet?page=2", "fragment",
         headers={"HX-Target": "movements"}, name="back office organisation wallet next page"),
    Page(CUSTOMER_ADMIN, "/customer/wallet/settings", "fragment", "POST",
         {"recharge_threshold": "-5", "recharge_amount": "1000"}, status=422,
         name="wallet settings, negative threshold (422)"),
    Page(VENDOR_BILLING, "/backoffice/organisations/{customer_id}/wallet/adjust", "fragment", "POST",
         {"idempotency_key": "bench", "direction": "add", "amount": "0", "reason": "bench"}, status=422,
         name="wallet adjustment, zero amount (422)"),
    Page(PARTNER_SELLER, "/partner/orders/new/items", "fragment", "POST",
         {"kind": "purchase", "product_id": "{product_id}", "quantity": "0"}, status=422,
         name="partner order items add, invalid quantity (422)"),
    Page(VENDOR_BILLING, "/backoffice/organisations?kind=reseller&page=2", "fragment",
         headers={"HX-Target": "organisations"}, name="organisations next page (fragment)"),
    # The items table as "Adicionar produto" answers it, over the bench seller's draft of two products (a product
    # already there is refused: the same fragment, every time, for wrk).
    Page(PARTNER_SELLER, "/partner/orders/new/items", "fragment", "POST",
         {"kind": "purchase", "product_id": "{draft_product_id}", "quantity": "1"}, status=422,
         name="partner order items after add (fragment)"),
    Page(CUSTOMER_ADMIN, "/customer/advisor/requests/new", "fragment", headers={"HX-Target": "modal"},
         name="advisor request dialog"),
    Page(CUSTOMER_ADMIN, "/customer/advisor/requests/new", "fragment", "POST",
         {"subject": "", "message": "¿Cuánto cuesta?", "contact": "email"}, status=422,
         headers={"HX-Target": "advisor_form"}, name="advisor request, empty subject (422)"),
    Page(VENDOR_ADVISOR, "/backoffice/advisor-requests?status=open", "fragment", headers={"HX-Target": "requests"},
         name="back office advisor requests filter"),
    Page(PARTNER_ADMIN, "/partner/licenses?name=mercado", "fragment", name="partner activations by name (fragment)"),
    Page(PARTNER_ADMIN, "/partner/clients?q=mercado", "fragment", name="partner clients search (fragment)"),
]

# Files: measured for speed (P3; the stored invoice PDF of P4), not weighed or audited as pages.
DOWNLOADS = [
    Page(CUSTOMER_ADMIN, "/customer/invoices/{customer_invoice_id}/pdf", "file", name="customer invoice PDF (stored)"),
    Page(CUSTOMER_ADMIN, "/customer/payments.csv", "file", name="customer payment history CSV"),
    Page(CUSTOMER_ADMIN, "/customer/account/month/services.csv", "file", name="customer month's services CSV"),
    Page(CUSTOMER_ADMIN, "/customer/account/month/overconsumption.csv", "file",
         name="customer month's overconsumption CSV"),
    Page(CUSTOMER_MEMBER, "/customer/account/plans.csv", "file", name="customer active plans CSV (member)"),
    Page(RESELLER_MANAGER, "/reseller/payment/invoices.csv", "file", name="reseller invoices CSV"),
    Page(VENDOR_BILLING, "/backoffice/organisations/{customer_id}/payments.csv", "file",
         name="back office organisation payments CSV"),
    Page(VENDOR_BILLING, "/backoffice/organisations/{customer_id}/wallet.csv", "file",
         name="back office organisation wallet CSV"),
    Page(VENDOR_BILLING, "/backoffice/organisations.csv?status=blocked", "file", name="blocked organisations CSV"),
]

ALL = PAGES + FRAGMENTS + DOWNLOADS


def roles() -> list[tuple[str, str]]:
    """Every role some page is measured for, in the order of the registry."""
    return list(dict.fromkeys(page.role for page in ALL if page.role is not None))
