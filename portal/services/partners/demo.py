"""The demo's license partner, after the seed's "Portal do Parceiro": Moderniza Parceiro Sul with its price list
(Moderniza Completo, Moderniza Light, Módulo SPED and additional users, with bonus tiers), orders in every
state, its stock and monthly subscription, and licenses activated for a dozen clients (one license and one
client cancelled)."""

from datetime import timedelta

from stdnum.br import cnpj

from portal.extensions import db
from portal.models import Invoice, Organisation, User
from portal.services.billing.sweep import close_due
from portal.services.partners import orders, pricelists, stock
from portal.services.payments import checkout, settlement

# code, name (pt_BR), English, kind
PRODUCTS = [
    ("moderniza-completo", "Moderniza Completo", "Moderniza Complete", "module"),
    ("moderniza-light", "Moderniza Light", "Moderniza Light", "module"),
    ("moderniza-sped", "Módulo SPED", "SPED module", "module"),
    ("moderniza-usuario-adicional", "Usuário adicional Moderniza", "Moderniza additional user", "additional_user"),
]
# code: (a month per license, setup fee per license, users per license, bonus tiers), in centavos
PRICES = {
    "moderniza-completo": (8990, 15000, 3, ((10, 1), (25, 3), (50, 8))),
    "moderniza-light": (4990, 9900, 1, ((10, 1), (25, 3))),
    "moderniza-sped": (2990, 0, 1, ()),
    "moderniza-usuario-adicional": (1500, 0, 1, ()),
}
CLIENTS = [
    "Mercado Boa Vista Ltda", "Padaria São Jorge ME", "Farmácia Central do Sul Ltda", "Ótica Visão Clara ME",
    "Auto Peças Gaúcha Ltda", "Restaurante Sabor da Serra Ltda", "Livraria Ponto e Vírgula ME",
    "Pet Shop Amigo Fiel Ltda", "Materiais de Construção Pampa Ltda", "Confeitaria Doce Lar ME",
    "Supermercado Três Irmãos Ltda", "Papelaria Escola Feliz ME",
]


def _cnpj(n: int) -> str:
    body = f"{87_000_000 + n * 7919:08d}0001"
    return body + cnpj.calc_check_digits(body)


def load(partner: Organisation, admin: User, seller: User, now) -> None:
    from portal.services import catalog

    software = catalog.create_software("moderniza", "Moderniza ERP", "https://app.moderniza.demo/entrar",
                                       "ERP para o varejo brasileiro: vendas, estoque, NFC-e e SPED.",
                                       {"en": {"name": "Moderniza ERP"}, "es": {"name": "Moderniza ERP"}})
    products = {code: catalog.create_product(code, kind, software, name, None,
                                             names={"en": {"name": en}, "es": {"name": name}})
                for code, name, en, kind in PRODUCTS}
    specs = [pricelists.ItemSpec(products[code], *PRICES[code]) for code in PRICES]
    start = now - timedelta(days=60)
    pricelists.create_price_list("Pauta Padrão Parceiros", "BRL", specs, start)
    first = pricelists.create_price_list("Pauta Moderniza Parceiro Sul", "BRL", specs, start, partner=partner)
    # The partner's list was revised once: Módulo SPED went up; orders made before keep the old price.
    revised = [pricelists.ItemSpec(products[code], *((3490, 0, 1, ()) if code == "moderniza-sped" else PRICES[code]))
               for code in PRICES]

    def order(user, kind, lines, days_ago):
        at = now - timedelta(days=days_ago)
        for code, quantity in lines:
            orders.add_line(partner, user, kind, products[code], quantity, at)
        return orders.confirm(orders.draft_for(partner, user), user, at + timedelta(minutes=5))

    first_order = order(admin, "purchase", [("moderniza-completo", 25), ("moderniza-light", 10),
                                            ("moderniza-sped", 12)], 45)
    orders.approve(first_order, admin, now - timedelta(days=44))
    pricelists.revise(first, "Pauta Moderniza Parceiro Sul", revised, now - timedelta(days=30))
    orders.approve(order(seller, "additional", [("moderniza-completo", 5)], 20), admin, now - timedelta(days=19))
    orders.cancel(order(seller, "purchase", [("moderniza-sped", 3)], 10), admin, now - timedelta(days=9))
    order(seller, "purchase", [("moderniza-light", 5), ("moderniza-completo", 2)], 1)

    made = []
    for n, name in enumerate(CLIENTS):
        code = ("moderniza-completo", "moderniza-light", "moderniza-sped")[n % 3]
        for extra in range(1 + (n == 0)):
            at = now - timedelta(days=18 - n, hours=extra)
            made.append(stock.activate(partner, seller if n % 2 else admin, products[code], name, _cnpj(n),
                                       "Caixa 1" if not extra else "Caixa 2", at))
    stock.cancel_activation(made[3], admin, now - timedelta(days=2))
    stock.cancel_client(partner, made[-1].client, admin, now - timedelta(days=1))
    # The subscription the first order started renewed a fortnight ago, with the prorated second order; every
    # invoice but that latest one is paid, as the customers' are: by payments, so its latest payments show them.
    close_due(now, render_pdfs=False)
    issued = list(db.session.scalars(db.select(Invoice).where(
        Invoice.organisation_id == partner.id, Invoice.kind == "invoice", Invoice.status == "open")
        .order_by(Invoice.issued_at, Invoice.id)))
    for invoice in issued[:-1]:  # each paid with a boleto, received four days after it was issued
        checkout.record_received(partner, invoice, settlement.payable(invoice), "boleto", f"demo:{invoice.id}",
                                 invoice.issued_at + timedelta(days=4))
    db.session.flush()
