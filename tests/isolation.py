"""The tenant-isolation matrix: one entry per endpoint of the URL map saying who may reach it.

Every feature adds its endpoints here; tests/test_isolation.py fails for an endpoint without an entry.

- public():                  anyone, logged in or not (login, password reset, the OpenAPI document).
- authenticated():           any logged-in user, whatever the organisation (language, password, switcher).
- kind(K, roles=None):       members of a K organisation ("customer", "reseller", "partner", "vendor"),
                             optionally only some roles; everyone else gets 401/403 (or a login redirect).
- owned(K, make, roles=None): like kind(), and the URL names an object of one organisation. `make(org)`
                             creates such an object for `org` (flushing, not committing) and returns the
                             URL's values, e.g. {"invoice_id": 7}. A member of another organisation of the
                             same kind, and every other kind, must get 403 or 404 for it.
- api(make=None):            the JSON API: 401 without a key; with `make`, an object of one organisation is
                             asked for with another organisation's key and must be 403 or 404.

`methods` says which methods to try (default: the endpoint's own, without HEAD/OPTIONS); `data` is the form
sent with non-GET methods.
"""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Access:
    who: str  # public | authenticated | kind | owned | api
    kind: str | None = None
    roles: tuple[str, ...] | None = None
    make: Callable | None = None
    data: dict = field(default_factory=dict)


def public() -> Access:
    return Access("public")


def authenticated(**data) -> Access:
    return Access("authenticated", data=data)


def kind(k: str, roles: tuple[str, ...] | None = None, **data) -> Access:
    return Access("kind", kind=k, roles=roles, data=data)


def owned(k: str, make: Callable, roles: tuple[str, ...] | None = None, **data) -> Access:
    return Access("owned", kind=k, roles=roles, make=make, data=data)


def api(make: Callable | None = None) -> Access:
    return Access("api", make=make)


TEAM_ADMINS = {"vendor": ("admin",), "customer": ("admin",), "reseller": ("manager",), "partner": ("admin",)}

def _invoice(org) -> dict:
    from tests import factories

    return {"invoice_id": factories.make_invoice(org).id}


def _offline_payment(org) -> dict:
    """A transfer reference waiting to be paid, issued for one of the organisation's invoices."""
    import secrets

    from portal.extensions import db
    from portal.models import Payment
    from tests import factories

    invoice = factories.make_invoice(org)
    payment = Payment(organisation_id=org.id, invoice_id=invoice.id, amount=invoice.total, currency=invoice.currency,
                      method_kind="bank_transfer", gateway="bank_transfer", state="pending",
                      reference=f"PAY-{secrets.token_hex(4).upper()}", idempotency_key=secrets.token_hex(8),
                      instructions={"kind": "bank_transfer", "reference": "RF18539007547034",
                                    "reference_printed": "RF18 5390 0754 7034", "amount": invoice.total})
    db.session.add(payment)
    db.session.flush()
    return {"payment_id": payment.id}


def _payment(org) -> dict:
    from tests.services.payments.helpers import make_payment

    return {"payment_id": make_payment(org).id}


def _card(org) -> dict:
    from tests.services.payments.helpers import make_card

    return {"method_id": make_card(org).id}


def _api_invoice(org) -> dict:
    from tests import factories

    return {"invoice_id": factories.make_invoice(org).id}


def _subscription(org) -> dict:
    from tests import factories

    return {"subscription_id": factories.make_subscription(org).id}


def _membership(org) -> dict:
    from tests import factories

    return {"membership_id": factories.make_member("customer", "member", organisation=org).id}


def _partner_order(org) -> dict:
    """A pending order of licenses of the partner."""
    from datetime import UTC, datetime

    from portal.services.partners import orders
    from tests import factories

    user = factories.make_member("partner", "admin", organisation=org).user
    _list, products = factories.make_partner_catalog(org)
    orders.add_line(org, user, "purchase", products["light"], 2, datetime.now(UTC))
    return {"order_id": orders.confirm(orders.draft_for(org, user), user, datetime.now(UTC)).id}


def _partner_order_line(org) -> dict:
    from datetime import UTC, datetime

    from portal.services.partners import orders
    from tests import factories

    user = factories.make_member("partner", "admin", organisation=org).user
    _list, products = factories.make_partner_catalog(org)
    return {"line_id": orders.add_line(org, user, "purchase", products["light"], 2, datetime.now(UTC)).id}


def _partner_license(org) -> dict:
    from tests import factories

    return {"activation_id": factories.make_license(org).id}


def _partner_client(org) -> dict:
    from tests import factories

    return {"client_id": factories.make_license(org).client_id}


def _cart_line(org) -> dict:
    from portal.extensions import db
    from portal.models import CartLine
    from tests import factories

    member = factories.make_member("customer", "admin", organisation=org)
    product = factories.make_product("module", category=factories.make_category())
    line = CartLine(organisation_id=org.id, user_id=member.user.id, product_id=product.id, quantity=1,
                    currency=org.currency, unit_amount=19_990)
    db.session.add(line)
    db.session.flush()
    return {"line_id": line.id}


def _activation(org) -> dict:
    from portal.extensions import db
    from portal.models import Activation
    from tests import factories

    member = factories.make_member("customer", "admin", organisation=org)
    found = Activation(organisation_id=org.id, user_id=member.user.id, key=f"key-of-{org.id:016d}",
                       fingerprint="0" * 64, currency=org.currency)
    db.session.add(found)
    db.session.flush()
    return {"activation_id": found.id}


def _reseller_client(org) -> dict:
    """A client company of the reseller `org`, with a subscription."""
    from tests.reseller.helpers import make_client

    return {"client_id": make_client(org, f"Cliente de {org.id} Ltda", country=org.country).id}


def _reseller_email(org) -> dict:
    from portal.services.accounts import accountants

    return {"email_id": accountants.link_email(org, f"contato{org.id}@escritorio.com.br", None).id}


def _advisor_request(org) -> dict:
    from tests import factories

    return {"request_id": factories.make_advisor_request(org).id}


def _supplier_document(org) -> dict:
    """A supplier's NF-e received by a client company of the reseller `org`."""
    from stdnum.br import cnpj

    from portal.orm import utcnow
    from portal.services.fiscal import documents
    from portal.services.fiscal.specimens import make_nfe
    from tests.reseller.helpers import make_client

    body = f"{50_000_000 + org.id:08d}0001"
    tax_id = body + cnpj.calc_check_digits(body)
    client = make_client(org, f"Cliente de {org.id} Ltda", tax_id=tax_id)
    kept = documents.keep_document(client, make_nfe(recipient=tax_id, number=org.id), utcnow())
    return {"client_id": client.id, "document_id": kept.document.id}


def _reseller_client_tab(org) -> dict:
    return _reseller_client(org) | {"tab": "contract"}


def _reseller_client_zip(org) -> dict:
    return _reseller_client(org) | {"kind": "xml"}


def _prepared_fiscal_zip(org) -> dict:
    """A large month's ZIP being prepared for a manager of `org`, for one of its clients."""
    from portal.orm import utcnow
    from portal.services.fiscal import prepared
    from tests import factories

    values = _reseller_client(org)
    manager = factories.make_member("reseller", "manager", organisation=org)
    job = prepared.create(org.id, values["client_id"], manager.user.id, "xml", "2026-11", "55", "pt_BR", 2000,
                          "NFe-2026-11.zip", utcnow())
    return values | {"job_id": job.id}


MATRIX: dict[str, Access] = {
    "static": public(),
    "health.healthz": public(),
    "health.readyz": public(),
    "brand.logo": public(),
    "brand.theme": public(),
    "auth.index": public(),
    "auth.login": public(),
    "auth.entry_link": public(),
    "auth.logout": public(),
    "auth.password_forgot": public(),
    "auth.password_reset": public(),
    "auth.invitation_accept": public(),
    "auth.locale_switch": public(),
    "auth.signup_form": public(),
    "auth.signup_sent": public(),
    "auth.signup_confirm": public(),
    "auth.password_change": authenticated(),
    "auth.membership_switch": authenticated(),
    "auth.no_membership": authenticated(),
    "auth.team": authenticated(),
    "auth.team_invite": authenticated(),
    "customer.home": kind("customer"),
    # The account area reads only the organisation's own subscriptions and invoices (no id in the URL).
    "customer.account_overview": kind("customer"),
    "customer.account_month": kind("customer"),
    "customer.account_month_csv": kind("customer"),
    "customer.account_month_services_csv": kind("customer"),
    "customer.account_month_overconsumption_csv": kind("customer"),
    "customer.account_history": kind("customer"),
    "customer.account_history_csv": kind("customer"),
    "customer.account_plans": kind("customer"),
    "customer.account_plans_csv": kind("customer"),
    # Changing a plan is its organisation's administrators' (members read); another organisation's is 404.
    "customer.account_plan_change": owned("customer", make=_subscription, roles=("admin",)),
    "customer.account_suspend": owned("customer", make=_subscription, roles=("admin",)),
    "customer.account_resume": owned("customer", make=_subscription, roles=("admin",)),
    "customer.account_quantity": owned("customer", make=_subscription, roles=("admin",)),
    "customer.account_usage": kind("customer"),
    "customer.account_usage_csv": kind("customer"),
    "customer.account_usage_days_csv": kind("customer"),
    # Members read the billing preferences; only administrators change them (a POST by a member is 403).
    "customer.billing_preferences": kind("customer"),
    "reseller.home": kind("reseller"),
    "reseller.clients_csv": kind("reseller"),
    "reseller.payment": kind("reseller"),
    "reseller.payment_invoices_csv": kind("reseller"),
    "reseller.payment_invoice": owned("reseller", make=_invoice),
    "reseller.payment_invoice_pdf": owned("reseller", make=_invoice),
    "reseller.payment_issue_reference": owned("reseller", make=_invoice, roles=("manager",), method="pix",
                                              key="isolation"),
    "reseller.payment_reference": owned("reseller", make=_offline_payment),
    # Its cards are its managers' (accountants read the Payment screen only); another reseller's card is 404.
    "reseller.payment_methods": kind("reseller", roles=("manager",)),
    "reseller.payment_method_new": kind("reseller", roles=("manager",)),
    "reseller.payment_method_added": kind("reseller", roles=("manager",)),
    "reseller.payment_method_auto_pay_off": kind("reseller", roles=("manager",)),
    "reseller.payment_method_auto_pay": owned("reseller", make=_card, roles=("manager",)),
    "reseller.payment_method_remove": owned("reseller", make=_card, roles=("manager",)),
    # Managing a client is its reseller's managers' (accountants read the list); another reseller's client is 404.
    "reseller.client_manage": owned("reseller", make=_reseller_client, roles=("manager",)),
    "reseller.client_settings": owned("reseller", make=_reseller_client_tab, roles=("manager",)),
    "reseller.client_certificate_upload": owned("reseller", make=_reseller_client, roles=("manager",)),
    "reseller.client_key_reveal": owned("reseller", make=_reseller_client, roles=("manager",)),
    "reseller.client_key_generate": owned("reseller", make=_reseller_client, roles=("manager",)),
    "reseller.client_contract_save": owned("reseller", make=_reseller_client, roles=("manager",), payer="reseller"),
    "reseller.client_software_save": owned("reseller", make=_reseller_client, roles=("manager",)),
    "reseller.client_software_open": owned("reseller", make=_reseller_client, roles=("manager",)),
    # A client's month of issued XMLs (and its summary), and a large month's ZIP prepared for one manager.
    "reseller.fiscal_month_zip": owned("reseller", make=_reseller_client_zip, roles=("manager",), model="55"),
    "reseller.fiscal_zip_progress": owned("reseller", make=_prepared_fiscal_zip, roles=("manager",)),
    "reseller.fiscal_zip_download": owned("reseller", make=_prepared_fiscal_zip, roles=("manager",)),
    # A client's supplier XMLs: its reseller's managers' (listed, recognised, downloaded); another's client is 404.
    "reseller.client_supplier_xmls": owned("reseller", make=_reseller_client, roles=("manager",)),
    "reseller.client_supplier_recognise": owned("reseller", make=_supplier_document, roles=("manager",),
                                                document="1"),
    "reseller.client_supplier_xml": owned("reseller", make=_supplier_document, roles=("manager",)),
    # A new client (hiring link, direct registration) is its reseller's managers'; it names no other organisation.
    "reseller.client_new": kind("reseller", roles=("manager",)),
    "reseller.hiring_link": kind("reseller", roles=("manager",)),
    "reseller.hiring_link_create": kind("reseller", roles=("manager",), payer="client"),
    "reseller.hiring_link_email": kind("reseller", roles=("manager",), email="cliente@padaria.com.br"),
    "reseller.client_register": kind("reseller", roles=("manager",)),
    "reseller.client_register_save": kind("reseller", roles=("manager",), payer="client"),
    # My data: the reseller's own linked e-mails (accountants read them); another reseller's e-mail is 404.
    "reseller.my_basics": kind("reseller"),
    "reseller.my_basics_save": kind("reseller", roles=("manager",), legal_name="Estudio Contable Sur SpA",
                                    tax_id="76.086.428-5"),
    "reseller.my_emails": kind("reseller"),
    "reseller.my_emails_add": kind("reseller", roles=("manager",), email="nuevo@estudio-contable.cl"),
    "reseller.my_emails_remove": owned("reseller", make=_reseller_email, roles=("manager",)),
    "partner.home": kind("partner"),
    # A partner's orders, licenses and clients: its admins and sellers; another partner's are 404. Sellers
    # create orders, only admins approve or cancel them.
    "partner.order_new": kind("partner"),
    "partner.order_line_preview": kind("partner"),
    "partner.order_items_add": kind("partner"),
    "partner.order_items_remove": owned("partner", make=_partner_order_line),
    "partner.order_confirm": kind("partner"),
    "partner.orders": kind("partner"),
    "partner.order": owned("partner", make=_partner_order),
    "partner.order_approve": owned("partner", make=_partner_order, roles=("admin",)),
    "partner.order_cancel": owned("partner", make=_partner_order, roles=("admin",)),
    "partner.stock": kind("partner"),
    "partner.license_activate": kind("partner"),
    "partner.licenses": kind("partner"),
    "partner.license": owned("partner", make=_partner_license),
    "partner.license_cancel": owned("partner", make=_partner_license),
    "partner.clients": kind("partner"),
    "partner.client_cancel": owned("partner", make=_partner_client),
    # The partner's invoices: its admins only (sellers order and activate); another partner's invoice is 404.
    "partner.invoices": kind("partner", roles=("admin",)),
    "partner.invoices_csv": kind("partner", roles=("admin",)),
    "partner.invoice": owned("partner", make=_invoice, roles=("admin",)),
    "partner.invoice_pdf": owned("partner", make=_invoice, roles=("admin",)),
    "partner.invoice_pay": owned("partner", make=_invoice, roles=("admin",), method="pix", key="isolation-key"),
    "partner.invoice_reference": owned("partner", make=_offline_payment, roles=("admin",)),
    "partner.payment_methods": kind("partner", roles=("admin",)),
    "partner.payment_method_new": kind("partner", roles=("admin",)),
    "partner.payment_method_added": kind("partner", roles=("admin",)),
    "partner.payment_method_auto_pay_off": kind("partner", roles=("admin",)),
    "partner.payment_method_auto_pay": owned("partner", make=_card, roles=("admin",)),
    "partner.payment_method_remove": owned("partner", make=_card, roles=("admin",)),
    "backoffice.home": kind("vendor"),
    # The catalog is vendor-wide (no tenant owns it): every vendor role reads it, only admins change it.
    "backoffice.catalog_index": kind("vendor"),
    # Every vendor role reads the billing settings; administrators and billing staff change them.
    "backoffice.billing_settings": kind("vendor"),
    "backoffice.billing_settings_save": kind("vendor", roles=("admin", "billing"), reseller_discount="50"),
    "backoffice.catalog_csv": kind("vendor"),
    "backoffice.product": kind("vendor"),
    "backoffice.software_create": kind("vendor", roles=("admin",)),
    "backoffice.software_edit": kind("vendor", roles=("admin",)),
    "backoffice.category_create": kind("vendor", roles=("admin",)),
    "backoffice.category_edit": kind("vendor", roles=("admin",)),
    "backoffice.category_move": kind("vendor", roles=("admin",)),
    "backoffice.catalog_retire": kind("vendor", roles=("admin",)),
    "backoffice.catalog_restore": kind("vendor", roles=("admin",)),
    "backoffice.product_new": kind("vendor", roles=("admin",)),
    "backoffice.product_edit": kind("vendor", roles=("admin",)),
    "backoffice.price_save": kind("vendor", roles=("admin",)),
    "backoffice.price_remove": kind("vendor", roles=("admin",)),
    "backoffice.quota_save": kind("vendor", roles=("admin",)),
    "backoffice.quota_remove": kind("vendor", roles=("admin",)),
    # Price lists of the license partners: every staff role reads them, admins and advisors change them.
    "backoffice.price_lists": kind("vendor"),
    "backoffice.price_list": kind("vendor"),
    "backoffice.price_list_new": kind("vendor", roles=("admin", "advisor")),
    "backoffice.price_list_edit": kind("vendor", roles=("admin", "advisor")),
    "backoffice.price_list_assign": kind("vendor", roles=("admin", "advisor")),
    # The approvals queue: every partner's pending orders; every staff role reads it, admins and advisors decide.
    "backoffice.partner_orders": kind("vendor"),
    "backoffice.partner_order": kind("vendor"),
    "backoffice.partner_order_approve": kind("vendor", roles=("admin", "advisor")),
    "backoffice.partner_order_cancel": kind("vendor", roles=("admin", "advisor")),
    # Invoices: a customer reads only those billed to it; every staff role reads all of them.
    "customer.store": kind("customer"),
    "customer.store_product": kind("customer"),
    "customer.store_activations": kind("customer"),
    "customer.store_activation": owned("customer", make=_activation),
    "customer.cart": kind("customer", roles=("admin",)),
    "customer.cart_add": kind("customer", roles=("admin",)),
    "customer.cart_line_update": owned("customer", make=_cart_line, roles=("admin",)),
    "customer.cart_line_remove": owned("customer", make=_cart_line, roles=("admin",)),
    "customer.cart_activate": kind("customer", roles=("admin",)),
    "customer.invoices": kind("customer"),
    "customer.invoices_csv": kind("customer"),
    "customer.invoice": owned("customer", make=_invoice),
    "customer.invoice_pdf": owned("customer", make=_invoice),
    "backoffice.invoices": kind("vendor"),
    "backoffice.invoices_csv": kind("vendor"),
    "backoffice.invoice": kind("vendor"),
    "backoffice.invoice_pdf": kind("vendor"),
    # Offline payments: a customer issues references for its own invoices and reads only their instructions;
    # the sandbox bank stands in for an outside site (anyone may pay a sandbox code, no id in the URL).
    "customer.invoice_pay_offline": owned("customer", make=_invoice, method="pix", key="isolation"),
    "customer.payment_instructions": owned("customer", make=_offline_payment),
    "sandbox_bank.pay": public(),
    # Reconciliation is vendor-wide (statements belong to no tenant): administrators and billing staff only.
    "backoffice.reconciliation_index": kind("vendor", roles=("admin", "billing")),
    "backoffice.reconciliation_import": kind("vendor", roles=("admin", "billing")),
    "backoffice.statement": kind("vendor", roles=("admin", "billing")),
    "backoffice.statement_csv": kind("vendor", roles=("admin", "billing")),
    "backoffice.statement_line_match": kind("vendor", roles=("admin", "billing")),
    "backoffice.statement_line_dismiss": kind("vendor", roles=("admin", "billing")),
    "backoffice.organisations": kind("vendor"),
    "backoffice.organisations_csv": kind("vendor"),
    "backoffice.organisation": kind("vendor"),
    "backoffice.organisation_block": kind("vendor", roles=("admin", "billing"), note="Contrato rescindido"),
    "backoffice.organisation_unblock": kind("vendor", roles=("admin", "billing")),
    "backoffice.organisation_payments": kind("vendor"),
    "backoffice.organisation_payments_csv": kind("vendor"),
    "backoffice.organisation_wallet": kind("vendor"),
    "backoffice.organisation_wallet_csv": kind("vendor"),
    "backoffice.organisation_payment_record": kind("vendor", roles=("admin", "billing")),
    "backoffice.organisation_wallet_adjust": kind("vendor", roles=("admin", "billing")),
    "backoffice.payment_refund": kind("vendor", roles=("admin", "billing")),
    # The integration key is the organisation's own (no id in the URL): its administrators only.
    "customer.integration_key": kind("customer", roles=("admin",)),
    "customer.organisation": kind("customer"),
    "customer.organisation_billing": kind("customer", roles=("admin",)),
    "customer.organisation_accountant": kind("customer", roles=("admin",)),
    "customer.organisation_member_role": owned("customer", make=_membership, roles=("admin",), role="admin"),
    "customer.organisation_member_remove": owned("customer", make=_membership, roles=("admin",)),
    "customer.organisation_admin_handover": owned("customer", make=_membership, roles=("admin",)),
    "customer.integration_key_reveal": kind("customer", roles=("admin",)),
    # Requests to the commercial advisor: administrators write them, every member reads the organisation's own
    # (another organisation's is 404); every staff role reads, answers and closes them (vendor-wide).
    "customer.advisor_request_new": kind("customer", roles=("admin",), subject="Precios", message="¿Cuánto?",
                                         contact="email"),
    "customer.advisor_requests": kind("customer"),
    "customer.advisor_request": owned("customer", make=_advisor_request),
    "backoffice.advisor_requests": kind("vendor"),
    "backoffice.advisor_request": kind("vendor"),
    "backoffice.advisor_request_answer": kind("vendor", answer="Le llamo mañana."),
    "backoffice.advisor_request_close": kind("vendor"),
    "customer.integration_key_generate": kind("customer", roles=("admin",)),
    # Payments: every member pays and reads the organisation's payments and wallet; cards are its administrators'.
    "customer.pay": kind("customer"),
    "customer.payments": kind("customer"),
    "customer.payments_csv": kind("customer"),
    "customer.payment": owned("customer", make=_payment),
    "customer.wallet": kind("customer"),
    "customer.wallet_settings": kind("customer", roles=("admin",)),
    "customer.payment_methods": kind("customer", roles=("admin",)),
    "customer.payment_method_new": kind("customer", roles=("admin",)),
    "customer.payment_method_added": kind("customer", roles=("admin",)),
    "customer.payment_method_auto_pay_off": kind("customer", roles=("admin",)),
    "customer.payment_method_auto_pay": owned("customer", make=_card, roles=("admin",)),
    "customer.payment_method_remove": owned("customer", make=_card, roles=("admin",)),
    "api.openapi": public(),
    # The sandbox gateway's hosted page stands in for the provider's site (a signed session, no login), and
    # gateways post their webhooks unauthenticated (a signature instead): both public.
    "sandbox.capture": public(),
    "webhooks.receive": public(),
    # The API: every call but the document needs a key; an invoice of one organisation is 404 to another's key.
    "api.me": api(),
    "api.entry_link_create": api(),
    # Only the vendor's key checks licenses (any code of any partner): another organisation's key gets 403.
    "api.license_check": api(),
    "api.usage_create": api(),
    "api.fiscal_documents_create": api(),
    "api.invoices": api(),
    "api.invoice": api(make=_api_invoice),
}
