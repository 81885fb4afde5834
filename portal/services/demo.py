"""Believable demo data for every role, in Chile, Brazil and Mexico."""

from datetime import timedelta

from portal.extensions import db
from portal.models import Invoice, Organisation
from portal.orm import utcnow
from portal.services import demo_resellers
from portal.services.accounts import organisations as accounts
from portal.services.billing.rules import add_months
from portal.services.partners import demo as partner_demo

PASSWORD = "vitrine-demo"  # noqa: S105 — printed for people to try the demo

# (e-mail, name, organisation key, role, language)
PEOPLE = [
    ("admin@vitrine.demo", "Valentina Rojas", "vendor", "admin", "es"),
    ("billing@vitrine.demo", "Rodrigo Fuentes", "vendor", "billing", "es"),
    ("advisor@vitrine.demo", "Camila Soto", "vendor", "advisor", "es"),
    ("cliente@aromos.demo", "Javiera Muñoz", "aromos", "admin", "es"),
    ("caja@aromos.demo", "Tomás Pérez", "aromos", "member", "es"),
    ("cliente@paodourado.demo", "João Carvalho", "paodourado", "admin", "pt_BR"),
    ("cliente@esperanza.demo", "María Hernández", "esperanza", "admin", "es"),
    ("gestor@horizonte.demo", "Ana Beatriz Lima", "horizonte", "manager", "pt_BR"),
    ("contador@horizonte.demo", "Paulo Ribeiro", "horizonte", "accountant", "pt_BR"),
    ("gestor@contasur.demo", "Felipe Araya", "contasur", "manager", "es"),
    ("parceiro@moderniza.demo", "Carla Souza", "moderniza", "admin", "pt_BR"),
    ("vendas@moderniza.demo", "Diego Alves", "moderniza", "seller", "pt_BR"),
    # One person, two hats: the accountant of Contadores del Sur also runs her own shop.
    ("multi@vitrine.demo", "Isidora Vargas", "contasur", "accountant", "es"),
    ("multi@vitrine.demo", "Isidora Vargas", "ferreteria", "admin", "es"),
]

ORGANISATIONS = {
    "vendor": dict(kind="vendor", name="Vitrine Software SpA", country="CL", tax_id="76.543.210-3",
                   address="Av. Providencia 1208, of. 504, Providencia, Santiago"),
    "aromos": dict(kind="customer", name="Panadería Los Aromos SpA", trade_name="Los Aromos", country="CL",
                   tax_id="77.123.456-9", address="Av. Pajaritos 2150, Maipú, Santiago", reseller="contasur"),
    "ferreteria": dict(kind="customer", name="Ferretería El Roble Ltda.", country="CL", tax_id="76.888.444-7",
                       address="Calle Prat 455, Temuco", reseller="contasur"),
    "paodourado": dict(kind="customer", name="Padaria Pão Dourado Ltda", trade_name="Pão Dourado", country="BR",
                       tax_id="45.398.765/0001-60", address="Rua Augusta 1500, São Paulo - SP",
                       reseller="horizonte"),
    "esperanza": dict(kind="customer", name="Abarrotes La Esperanza SA de CV", trade_name="La Esperanza",
                      country="MX", tax_id="ALE120315KT1", address="Av. Juárez 77, Centro, Puebla"),
    "horizonte": dict(kind="reseller", name="Contabilidade Horizonte Ltda", trade_name="Horizonte Contábil",
                      country="BR", tax_id="11.222.333/0001-81", address="Av. Paulista 900, São Paulo - SP"),
    "contasur": dict(kind="reseller", name="Contadores Asociados del Sur Ltda.", country="CL",
                     tax_id="96.555.111-5", address="O'Higgins 320, Concepción"),
    "moderniza": dict(kind="partner", name="Moderniza Parceiro Sul Ltda", country="BR",
                      tax_id="33.900.123/0001-38", address="Rua dos Andradas 1001, Porto Alegre - RS"),
}


def already_loaded() -> bool:
    return db.session.scalar(db.select(Organisation).where(Organisation.kind == "vendor")) is not None


def load() -> dict[str, Organisation]:
    """Create the demo organisations and people; returns the organisations by key."""
    orgs: dict[str, Organisation] = {}
    for key in sorted(ORGANISATIONS, key=lambda k: ORGANISATIONS[k].get("reseller") is not None):
        fields = dict(ORGANISATIONS[key])
        reseller_key = fields.pop("reseller", None)
        if reseller_key:
            fields["reseller_id"] = orgs[reseller_key].id
        orgs[key] = accounts.create_organisation(fields.pop("kind"), fields.pop("name"), fields.pop("country"),
                                                 fields.pop("tax_id"), **fields)
    users = {}
    for email, name, org_key, role, locale in PEOPLE:
        if email not in users:
            users[email] = accounts.create_user(email, name, PASSWORD, locale=locale)
        accounts.add_membership(users[email], orgs[org_key], role)
    for org in orgs.values():
        if org.kind == "customer":
            org.advisor_id = users["advisor@vitrine.demo"].id
    products = load_catalog()
    db.session.flush()
    now = utcnow()
    load_billing(orgs, products, now)
    demo_resellers.load(orgs, products, now)
    partner_demo.load(orgs["moderniza"], users["parceiro@moderniza.demo"], users["vendas@moderniza.demo"], now)
    return orgs


def logins_text(base_url: str) -> str:
    lines = [f"Vitrine demo is ready at {base_url}/ — every demo password is: {PASSWORD}", ""]
    for email, _name, org_key, role, _locale in PEOPLE:
        org = ORGANISATIONS[org_key]
        lines.append(f"  {email:<26} {org['kind']:<9} {role:<11} {org['name']}")
    return "\n".join(lines)


# The demo catalog, after the help-centre pages: Vitrine ERP for Chile and Mexico, FazNota for Brazil's
# e-invoicing; the store rows "Mi plan", "ERP" and "Facturación electrónica". Amounts are minor units.
DEMO_SOFTWARE = [
    ("vitrine-erp", "Vitrine ERP", "https://erp.vitrine.demo/ingresar",
     "ERP en la nube para pymes de Chile y México: ventas, compras, inventario, contabilidad y facturación "
     "electrónica.", {"en": "Vitrine ERP", "pt_BR": "Vitrine ERP"}),
    ("faznota", "FazNota", "https://app.faznota.demo/entrar",
     "Emissor de NF-e e NFC-e para pequenas empresas do Brasil, com XMLs de fornecedores e relatórios mensais.",
     {"es": "FazNota", "en": "FazNota"}),
]
DEMO_CATEGORIES = [
    ("mi-plan", "Mi plan", {"pt_BR": "Meu plano", "en": "My plan"}),
    ("erp", "ERP", {}),
    ("facturacion-electronica", "Facturación electrónica", {"pt_BR": "Nota fiscal eletrônica", "en": "E-invoicing"}),
]
_ERP_PLAN_QUOTAS = {  # users, companies, DTE/CFDI per month; each document beyond in CLP / MXN
    "basico": (2, 1, 100, 60, 150),
    "pro": (5, 3, 500, 45, 120),
    "diamante": (15, 10, 2000, 30, 90),
}
# code, kind, software, category, name (es/pt), en, pt_BR/es, flags, [(currency, period, amount, setup fee)]
DEMO_PRODUCTS = [
    ("erp-basico", "plan", "vitrine-erp", None, "Plan Básico", "Basic plan", "Plano Básico", "",
     [("CLP", "monthly", 19990, 49990), ("CLP", "annual", 199900, 49990),
      ("MXN", "monthly", 44900, 99000), ("MXN", "annual", 449000, 99000)]),
    ("erp-pro", "plan", "vitrine-erp", None, "Plan Pro", "Pro plan", "Plano Pro", "",
     [("CLP", "monthly", 39990, 79990), ("CLP", "annual", 399900, 79990),
      ("MXN", "monthly", 89900, 149000), ("MXN", "annual", 899000, 149000)]),
    ("erp-diamante", "plan", "vitrine-erp", None, "Plan Diamante", "Diamond plan", "Plano Diamante", "",
     [("CLP", "monthly", 79990, 149990), ("CLP", "annual", 799900, 149990),
      ("MXN", "monthly", 179900, 249000), ("MXN", "annual", 1799000, 249000)]),
    ("faznota-essencial", "plan", "faznota", None, "FazNota Essencial", "FazNota Essential", "FazNota Esencial", "",
     [("BRL", "monthly", 5990, 0), ("BRL", "annual", 59900, 0)]),
    ("faznota-profissional", "plan", "faznota", None, "FazNota Profissional", "FazNota Professional",
     "FazNota Profesional", "", [("BRL", "monthly", 11990, 9900), ("BRL", "annual", 119900, 9900)]),
    ("permiso-usuario-modifica", "module", "vitrine-erp", "mi-plan", "Permiso usuario modifica",
     "Edit permission for users", "Permissão de usuário para editar", "free", []),
    ("respaldo-excel", "exporter", "vitrine-erp", "mi-plan", "Respaldo mensual en Excel", "Monthly Excel backup",
     "Backup mensal em Excel", "free", []),
    ("usuario-adicional", "additional_user", "vitrine-erp", "mi-plan", "Usuario adicional", "Additional user",
     "Usuário adicional", "", [("CLP", "monthly", 4990, 0), ("MXN", "monthly", 11900, 0)]),
    ("empresa-adicional", "additional_company", "vitrine-erp", "mi-plan", "Empresa adicional", "Additional company",
     "Empresa adicional", "", [("CLP", "monthly", 9990, 0), ("MXN", "monthly", 22900, 0)]),
    ("faznota-usuario-adicional", "additional_user", "faznota", "mi-plan", "Usuário adicional FazNota",
     "FazNota additional user", "Usuario adicional FazNota", "", [("BRL", "monthly", 1490, 0)]),
    ("ciclo-comercial", "module", "vitrine-erp", "erp", "Ciclo comercial", "Sales cycle", "Ciclo comercial", "",
     [("CLP", "monthly", 14990, 0), ("MXN", "monthly", 34900, 0)]),
    ("inventario", "module", "vitrine-erp", "erp", "Inventario", "Inventory", "Estoque", "",
     [("CLP", "monthly", 12990, 0), ("MXN", "monthly", 29900, 0)]),
    ("facturacion-electronica", "module", "vitrine-erp", "erp", "Facturación electrónica", "E-invoicing",
     "Faturamento eletrônico", "", [("CLP", "monthly", 9990, 29990), ("MXN", "monthly", 24900, 69000)]),
    ("exportador-contable", "exporter", "vitrine-erp", "erp", "Exportador contable", "Accounting exporter",
     "Exportador contábil", "", [("CLP", "monthly", 3990, 0), ("MXN", "monthly", 8900, 0)]),
    ("exportador-previred", "exporter", "vitrine-erp", "erp", "Exportador de remuneraciones a Previred",
     "Payroll exporter to Previred", "Exportador de folha para a Previred", "", [("CLP", "monthly", 2990, 0)]),
    ("pack-500-dte", "service", "vitrine-erp", "facturacion-electronica", "Pack 500 DTE adicionales",
     "500 extra electronic tax documents", "Pacote de 500 DTE adicionais", "upfront",
     [("CLP", "one_time", 24990, 0)]),
    ("timbres-cfdi-1000", "service", "vitrine-erp", "facturacion-electronica", "1.000 timbres CFDI",
     "1,000 CFDI stamps", "1.000 carimbos CFDI", "upfront", [("MXN", "one_time", 59000, 0)]),
    ("faznota-pacote-1000", "service", "faznota", "facturacion-electronica", "Pacote 1.000 notas",
     "1,000 extra invoices", "Paquete de 1.000 notas", "upfront", [("BRL", "one_time", 8990, 0)]),
    ("faznota-certificado", "service", "faznota", "facturacion-electronica", "Instalação de certificado digital A1",
     "A1 digital certificate installation", "Instalación de certificado digital A1", "upfront",
     [("BRL", "one_time", 4990, 0)]),
    ("erp-emprendedor-2023", "plan", "vitrine-erp", None, "Plan Emprendedor (2023)", "Entrepreneur plan (2023)",
     "Plano Empreendedor (2023)", "retired", [("CLP", "monthly", 14990, 0), ("CLP", "annual", 149900, 0)]),
]
# What each product of the store does, in Spanish (the catalog's own language), English and Portuguese.
DEMO_DESCRIPTIONS = {
    "permiso-usuario-modifica": (
        "Permite que un usuario corrija documentos ya emitidos, con registro de quién cambió qué.",
        "Lets a user correct documents already issued, with a record of who changed what.",
        "Permite que um usuário corrija documentos já emitidos, com registro de quem mudou o quê."),
    "respaldo-excel": (
        "Cada mes, una planilla Excel con tus ventas, compras y asientos, lista para tu contador.",
        "Every month, an Excel workbook of your sales, purchases and entries, ready for your accountant.",
        "Todo mês, uma planilha Excel com suas vendas, compras e lançamentos, pronta para seu contador."),
    "usuario-adicional": (
        "Un usuario más en tu cuenta, con su propia clave y permisos.",
        "One more user in your account, with their own password and permissions.",
        "Mais um usuário na sua conta, com senha e permissões próprias."),
    "empresa-adicional": (
        "Una empresa más, con su propia contabilidad y folios, en la misma cuenta.",
        "One more company, with its own books and document numbers, in the same account.",
        "Mais uma empresa, com contabilidade e numeração próprias, na mesma conta."),
    "faznota-usuario-adicional": (
        "Un usuario más para emitir notas en FazNota.",
        "One more user to issue invoices in FazNota.",
        "Mais um usuário para emitir notas no FazNota."),
    "ciclo-comercial": (
        "Cotizaciones, notas de venta y seguimiento de clientes, de la oferta a la factura.",
        "Quotes, sales orders and customer follow-up, from the offer to the invoice.",
        "Orçamentos, pedidos de venda e acompanhamento de clientes, da proposta à nota."),
    "inventario": (
        "Stock por bodega, entradas y salidas, y alertas de reposición.",
        "Stock per warehouse, receipts and issues, and reorder alerts.",
        "Estoque por depósito, entradas e saídas, e alertas de reposição."),
    "facturacion-electronica": (
        "Emite facturas, boletas y notas de crédito electrónicas ante el SII o el SAT desde el ERP.",
        "Issue electronic invoices, receipts and credit notes to the tax authority from the ERP.",
        "Emita faturas, recibos e notas de crédito eletrônicas para o fisco a partir do ERP."),
    "exportador-contable": (
        "Exporta tus asientos al formato de tu software contable.",
        "Exports your entries in your accounting software's format.",
        "Exporta seus lançamentos no formato do seu software contábil."),
    "exportador-previred": (
        "Genera el archivo de remuneraciones para cargarlo en Previred.",
        "Builds the payroll file to upload to Previred.",
        "Gera o arquivo de folha para enviar à Previred."),
    "pack-500-dte": (
        "500 documentos tributarios electrónicos más, para usar cuando superes tu plan.",
        "500 more electronic tax documents, for when you go beyond your plan.",
        "Mais 500 documentos fiscais eletrônicos, para quando passar do seu plano."),
    "timbres-cfdi-1000": (
        "1.000 timbres para emitir CFDI más allá de los que incluye tu plan.",
        "1,000 stamps to issue CFDI beyond those your plan includes.",
        "1.000 carimbos para emitir CFDI além dos que o seu plano inclui."),
    "faznota-pacote-1000": (
        "Paquete de 1.000 notas fiscales más allá de tu plan.",
        "A pack of 1,000 invoices beyond your plan.",
        "Pacote de 1.000 notas fiscais além do seu plano."),
    "faznota-certificado": (
        "Instalamos tu certificado digital A1 en FazNota contigo, en una llamada.",
        "We install your A1 digital certificate in FazNota with you, in one call.",
        "Instalamos seu certificado digital A1 no FazNota com você, em uma ligação."),
}
_FAZNOTA_PLAN_QUOTAS = {"faznota-essencial": (2, 1, 200, 25), "faznota-profissional": (5, 2, 1000, 15)}


def load_catalog() -> dict:
    """Create the demo catalog; returns the products by code."""
    from portal.services import catalog

    software = {code: catalog.create_software(code, name, url, description,
                                              {loc: {"name": n} for loc, n in names.items()})
                for code, name, url, description, names in DEMO_SOFTWARE}
    categories = {code: catalog.create_category(code, name, {loc: {"name": n} for loc, n in names.items()})
                  for code, name, names in DEMO_CATEGORIES}
    products = {}
    for code, kind, sw, category, name, en, other, flags, prices in DEMO_PRODUCTS:
        other_locale = "es" if sw == "faznota" else "pt_BR"
        names = {"en": {"name": en}, other_locale: {"name": other}}
        es, en_text, pt = DEMO_DESCRIPTIONS.get(code, ("", "", ""))
        description = pt if sw == "faznota" else es
        if en_text:
            names["en"]["description"] = en_text
            names[other_locale]["description"] = es if sw == "faznota" else pt
        product = catalog.create_product(
            code, kind, software[sw], name, categories.get(category), description=description, names=names,
            is_free=flags == "free", pay_upfront=flags == "upfront")
        for currency, period, amount, setup_fee in prices:
            catalog.set_price(product, currency, period, amount, setup_fee)
        products[code] = product
    for key, (users, companies, documents, clp, mxn) in _ERP_PLAN_QUOTAS.items():
        product = products[f"erp-{key}"]
        catalog.set_quota(product, "users", users)
        catalog.set_quota(product, "companies", companies)
        catalog.set_quota(product, "documents", documents, {"CLP": clp, "MXN": mxn})
    for code, (users, companies, documents, brl) in _FAZNOTA_PLAN_QUOTAS.items():
        catalog.set_quota(products[code], "users", users)
        catalog.set_quota(products[code], "companies", companies)
        catalog.set_quota(products[code], "documents", documents, {"BRL": brl})
    catalog.set_quota(products["erp-emprendedor-2023"], "users", 1)
    catalog.set_quota(products["erp-emprendedor-2023"], "documents", 50, {"CLP": 80})
    catalog.retire_product(products["erp-emprendedor-2023"])
    return products


# Each demo customer's story, so that every screen has something true to show: months of paid invoices, one
# still pending, resellers that pay for their clients (Horizonte's consolidated invoices: demo_resellers), usage
# beyond the plan's quota, and a trial.
# org key, plan, currency, period, months ago it started, trial days, payer key, [(add-on, quantity)]
DEMO_SUBSCRIPTIONS = [
    ("aromos", "erp-pro", "CLP", "monthly", 5, 0, None,
     [("usuario-adicional", 2), ("facturacion-electronica", 1), ("exportador-contable", 1)]),
    ("ferreteria", "erp-basico", "CLP", "monthly", 3, 0, "contasur", [("inventario", 1)]),
    ("paodourado", "faznota-profissional", "BRL", "monthly", 4, 0, None, [("faznota-usuario-adicional", 1)]),
    ("esperanza", "erp-pro", "MXN", "monthly", 0, 14, None, [("ciclo-comercial", 1)]),
]
# Documents issued by Los Aromos in its last closed month: beyond the Pro plan's 500, billed as overage.
DEMO_DOCUMENTS_LAST_MONTH = 640


# How each demo payer paid its older invoices, four days after each was issued: money received the way its country
# pays, recorded as staff record a transfer or a statement's line (services/payments/checkout.record_received),
# so that its payment history and its latest payments are true and the ledger adds up.
DEMO_RECEIVED = {"BR": "pix", "CL": "bank_transfer", "MX": "bank_transfer"}


def pay_received(invoice: Invoice, kind: str) -> None:
    """Record all that `invoice` owes as received by `kind`, four days after it was issued."""
    from portal.services.payments import checkout, settlement

    checkout.record_received(invoice.organisation, invoice, settlement.payable(invoice), kind,
                             f"demo:{invoice.id}", invoice.issued_at + timedelta(days=4))


def load_billing(orgs: dict[str, Organisation], products: dict, now) -> None:
    """Subscribe the demo customers, report usage and run the billing sweep up to `now`; every invoice but
    each payer's latest is paid (DEMO_RECEIVED). PDFs are drawn when first downloaded."""
    from portal.services.billing import invoicing, usage
    from portal.services.billing import subscriptions as subs
    from portal.services.billing.sweep import close_due
    from portal.services.payments.offline import setup as offline_setup

    invoicing.install_defaults()
    offline_setup.configure_demo()  # transfers in Chile and Mexico, OXXO, boleto and Pix in Brazil
    day = now - timedelta(days=3)  # each paid subscription started on this day of some earlier month
    for key, plan, currency, period, months_ago, trial_days, payer, items in DEMO_SUBSCRIPTIONS:
        subs.start_subscription(orgs[key], products[plan], currency, period, add_months(day, -months_ago),
                                trial_days=trial_days, payer=orgs[payer] if payer else None,
                                items=[(products[code], quantity) for code, quantity in items])
    demo_resellers.start_paid_clients(orgs, products, day)
    last_month = add_months(day, -1)
    events = [usage.Event(f"dte-{number:05d}", "documents", 1, last_month + timedelta(minutes=40 * number))
              for number in range(DEMO_DOCUMENTS_LAST_MONTH)]
    events += [usage.Event(f"dte-{DEMO_DOCUMENTS_LAST_MONTH + number:05d}", "documents", 1,
                           day + timedelta(minutes=30 * (number + 1))) for number in range(120)]
    usage.record_events(orgs["aromos"], events, now)
    db.session.flush()
    # The hourly sweep, as it ran at each month's end: every renewal is issued on the day its period ended.
    oldest = max(row[4] for row in DEMO_SUBSCRIPTIONS)
    for months_ago in range(oldest - 1, -1, -1):
        close_due(add_months(day, -months_ago) + timedelta(hours=1), render_pdfs=False)
    close_due(now, render_pdfs=False)
    for org in orgs.values():
        invoices = list(db.session.scalars(
            db.select(Invoice).where(Invoice.organisation_id == org.id, Invoice.kind == "invoice",
                                     Invoice.status == "open").order_by(Invoice.issued_at)))
        for invoice in invoices[:-1]:
            pay_received(invoice, DEMO_RECEIVED[org.country])
    db.session.flush()
