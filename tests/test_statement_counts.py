"""SQL statements per page (QUALITY.md P3): the same whatever the number of rows a page shows, and at most 10.

Each page is requested by a user with one of everything and by one with many, and every statement the request
sends is counted (BEGIN too), through SQLAlchemy's before_cursor_execute event:

- the customer's account: a plan with one add-on, one overdue invoice of one line, one activation, one card and
  one wallet movement; or plans of several software, each with add-ons, two of them paid by its reseller, many
  overdue invoices of several lines, more activations and wallet movements than a page holds, several cards;
- the reseller's Payment screen and a client's software tab: invoices of one line in one currency (the next page
  shows one), one client with a plan and an add-on; or a full next page of invoices in three currencies, each with
  lines per client and references waiting to be paid, drafts of the month, several cards, and a client with
  add-ons and a plan to change to;
- the partner's order items after "Adicionar produto": a price list of three products and a draft of one line;
  or a price list of many products and a draft of many lines;
- the customer's store (its rows, a row's next page, the search, a product): the test catalog and a cart of one
  line; or 40 more modules in a row, a second plan and a cart of several lines.

Refused requests (422) count as much as pages: they answer with the page or fragment, and must not read it twice.
"""

import re
import secrets
from datetime import timedelta

import pytest

from portal.extensions import db
from portal.models import Payment
from portal.orm import utcnow
from portal.services.billing import consolidated, usage
from portal.services.billing import subscriptions as subs
from portal.services.payments import checkout, wallet
from tests import factories
from tests.services.billing_helpers import make_catalog
from tests.services.payments.helpers import make_card
from tests.services.payments.offline_helpers import offer_demo_methods

BAR = 10
HTMX = {"HX-Request": "true"}
# (path, headers): each page and fragment of the customer's account that lists rows.
PAGES = [
    ("/customer/", {}),
    ("/customer/account", {}),
    ("/customer/account/plans", {}),
    ("/customer/account/plans.csv", {}),
    ("/customer/account/month", {}),
    ("/customer/account/month/services.csv", {}),
    ("/customer/account/month/overconsumption.csv", {}),
    ("/customer/account/month?page=2", {"HX-Request": "true", "HX-Target": "activations"}),
    ("/customer/account/history", {}),
    ("/customer/account/history?page=2", {"HX-Request": "true", "HX-Target": "history"}),
    ("/customer/account/usage", {}),
    ("/customer/invoices", {}),
    ("/customer/pay", {}),
    ("/customer/payments", {}),
    ("/customer/wallet", {}),
    ("/customer/wallet?page=2", {"HX-Request": "true"}),
]
# (name, path, form, headers): the customer's wallet forms refused (422), as a browser and as htmx send them.
WALLET_REFUSALS = [
    ("settings, a negative threshold", "/customer/wallet/settings",
     {"recharge_threshold": "-5", "recharge_amount": "1000"}, HTMX),
    ("settings, auto-recharge without an amount", "/customer/wallet/settings",
     {"auto_recharge": "y", "recharge_threshold": "1000", "recharge_amount": ""}, {}),
    ("top-up, a negative amount", "/customer/wallet", {"amount": "-100", "method": "{card}"}, {}),
    ("top-up, a negative amount (htmx)", "/customer/wallet", {"amount": "-100", "method": "{card}"}, HTMX),
    ("top-up, no amount", "/customer/wallet", {"amount": "", "method": "{card}"}, HTMX),
]
# (path, headers): the reseller's pages that list rows; {client} is its client's id.
RESELLER_PAGES = [
    ("/reseller/payment", {}),
    ("/reseller/payment?page=2", {"HX-Request": "true", "HX-Target": "invoices"}),
    ("/reseller/clients/{client}/settings/software", {}),
    ("/reseller/clients/{client}/settings/software", HTMX),
    ("/reseller/clients/{client}", {}),
]
# Pages still above the bar, with the most they may send (constant all the same).
ABOVE_BAR: dict[str, int] = {}


def _customer(app, login_as, cat, rows: int):
    client = login_as("customer", "admin")
    now = utcnow()
    with app.test_request_context(headers={"Accept-Language": "en"}):
        org = db.session.merge(client.organisation)
        basic, user = db.session.merge(cat.basic), db.session.merge(cat.user)
        plans = [basic]
        for n in range(1, rows):
            software = factories.make_software(f"extra-{n}", f"Software {n}")
            plans.append(factories.make_product("plan", software, code=f"plan-{n}", name=f"Plan {n}",
                                                prices=(("CLP", "monthly", 10_000 + n, 0),)))
        plans = [db.session.merge(plan) for plan in plans]
        reseller = None
        if rows > 1:  # its reseller pays for two of its plans
            reseller = factories.make_org("reseller", name="Reseller Ltda.")
            org.reseller_id = reseller.id
        for n, plan in enumerate(plans):
            items = [(user, 2)] if n == 0 else []
            payer = reseller if n in (1, 2) else None
            sub = subs.start_subscription(org, plan, "CLP", "monthly", now - timedelta(days=3), trial_days=0,
                                          items=items, payer=payer)
            if n == 0:  # activations after the start: the next page shows the start alone, or a full page
                for quantity in range(3, 3 + (25 if rows == 1 else 60)):
                    subs.change_quantity(sub, user, quantity, now - timedelta(days=2))
        for n in range(rows):
            factories.make_invoice(org, issued_at=now - timedelta(days=60 + n),
                                   lines=[(f"Implementación {line}", 1, 50_000) for line in range(max(1, rows // 2))])
        usage.record_events(org, [usage.Event(f"e{n}", "documents", 10, now - timedelta(hours=n + 1))
                                  for n in range(rows)], now)
        client.card = make_card(org, last4="4242")
        for n in range(1, rows):
            make_card(org, last4=f"{1000 + n}", auto_pay=False)
        for n in range(1 if rows == 1 else 30):  # one movement, or more than a page
            wallet.add_entry(org, "top_up", 1_000 + n, now - timedelta(hours=n))
        db.session.commit()
    return client


@pytest.fixture
def counted(app, count_queries):
    def count(client, path, headers, form=None, status=200):
        def send():
            if form is None:
                # buffered: a streamed CSV is read to its end inside the count
                return client.get(path, headers={"Accept-Language": "en", **headers}, buffered=True)
            return client.post(path, data=form, headers={"Accept-Language": "en", **headers})

        send()  # caches warm, as a second visit
        with count_queries() as counter:
            response = send()
        assert response.status_code == status, (path, response.status_code)
        return counter["n"]

    return count


def _over(counts: dict) -> dict:
    return {name: (few, lots) for name, (few, lots) in counts.items()
            if few != lots or lots > ABOVE_BAR.get(name, BAR)}


def test_each_account_page_sends_the_same_few_statements_for_one_row_and_for_many(app, login_as, counted):
    with app.test_request_context():
        offer_demo_methods()
        cat = make_catalog()
        db.session.commit()
    one, many = _customer(app, login_as, cat, 1), _customer(app, login_as, cat, 6)
    counts = {path: (counted(one, path, headers), counted(many, path, headers)) for path, headers in PAGES}
    assert not _over(counts), str(counts)


def _form(client, form: dict) -> dict:
    page = client.get("/customer/wallet").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', page).group(1)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    return {"csrf_token": token, "idempotency_key": key,
            **{name: value.format(card=client.card.id) for name, value in form.items()}}


def test_each_refused_wallet_form_sends_the_same_few_statements_for_one_row_and_for_many(app, login_as, counted):
    with app.test_request_context():
        cat = make_catalog()
        db.session.commit()
    one, many = _customer(app, login_as, cat, 1), _customer(app, login_as, cat, 6)
    counts = {name: (counted(one, path, headers, _form(one, form), 422),
                     counted(many, path, headers, _form(many, form), 422))
              for name, path, form, headers in WALLET_REFUSALS}
    assert not _over(counts), str(counts)
    assert [wallet.balance(client.organisation.id, "CLP") for client in (one, many)] == [
        1_000, sum(1_000 + n for n in range(30))]  # nothing was added


def _reseller(login_as, rows: int):
    """A Brazilian reseller paying for its client: with `rows` == 1, 26 invoices of one line in BRL (the next page
    shows one), a card, a client with one add-on; else 60 in three currencies, lines per client, two references
    waiting to be paid for each, drafts of the month, cards, and a client with add-ons and a change of plan."""
    now = utcnow()
    reseller = factories.make_org("reseller", "BR", name=f"Contabilidade {rows} Ltda")
    software = factories.make_software()
    plan = factories.make_product("plan", software, name="Essencial", prices=(("BRL", "monthly", 9_990, 0),))
    bigger = factories.make_product("plan", software, name="Diamante", prices=(("BRL", "monthly", 19_990, 0),))
    client = factories.make_org("customer", "BR", name="Padaria Cliente Ltda", reseller_id=reseller.id)
    addons = [factories.make_product("additional_user", software, name=f"Usuário {n}",
                                     prices=(("BRL", "monthly", 1_000 + n, 0),)) for n in range(rows)]
    sub = factories.make_subscription(client, plan=plan, payer_id=reseller.id,
                                      items=[(addon, 1 + n) for n, addon in enumerate(addons[:1 if rows == 1 else 4])])
    if rows > 1:
        sub.pending_plan_id = bigger.id
    currencies = ["BRL"] if rows == 1 else ["BRL", "USD", "CLP"]
    for n in range(26 if rows == 1 else 60):  # the next page shows one, or a full page
        invoice = factories.make_invoice(reseller, issued_at=now - timedelta(days=n + 1), tax_rate_bp=0,
                                         currency=currencies[n % len(currencies)],
                                         lines=[(f"Cliente {line} — Essencial", 1, 9_990)
                                                for line in range(1 if rows == 1 else 3)])
        for line in invoice.lines:
            line.subscription_id = sub.id
        for _ in range(0 if rows == 1 else 2):
            db.session.add(Payment(organisation_id=reseller.id, invoice_id=invoice.id, amount=invoice.total,
                                   currency=invoice.currency, method_kind="boleto", gateway="sandbox",
                                   state="pending", reference=checkout.new_reference(),
                                   idempotency_key=secrets.token_urlsafe(8), instructions={}, refunded_amount=0))
    for n in range(0 if rows == 1 else 2):
        factories.make_invoice(reseller, status="draft", tax_rate_bp=0, period_key=f"{consolidated.KEY_PREFIX}{n}",
                               period_start=now - timedelta(days=n), period_end=now + timedelta(days=30 - n),
                               lines=[("Cliente — Essencial", 1, 9_990)])
    for n in range(1 if rows == 1 else 4):
        make_card(reseller, last4=f"{4000 + n}", auto_pay=n == 0)
    db.session.flush()
    manager = login_as("reseller", "manager", organisation=reseller)
    manager.client_id = client.id
    return manager


def test_each_reseller_page_sends_the_same_few_statements_for_one_row_and_for_many(app, login_as, counted):
    with app.test_request_context():
        offer_demo_methods()
    one, many = _reseller(login_as, 1), _reseller(login_as, 6)
    counts = {(path, str(headers)): (counted(one, path.format(client=one.client_id), headers),
                                     counted(many, path.format(client=many.client_id), headers))
              for path, headers in RESELLER_PAGES}
    assert not _over(counts), str(counts)


def _partner(login_as, rows: int):
    """A partner's seller with a draft order: a price list of 3 products and a draft of one line, or of many
    products and a draft of many lines. The seller knows the products not in the draft and one that is."""
    from portal.services.partners import orders, pricelists

    partner = factories.make_org("partner", country="BR", currency="BRL")
    software = factories.make_software()
    modules = [factories.make_product("module", software, name=f"Módulo {n}", prices=())
               for n in range(3 if rows == 1 else 15)]
    pricelists.create_price_list("Pauta Parceiros 2026", "BRL", [
        pricelists.ItemSpec(product, 1_000 + n, 500 * (n % 2), 1 + n % 3, ((10, 1),) if n % 2 else ())
        for n, product in enumerate(modules)], utcnow(), partner=partner)
    seller = login_as("partner", "seller", organisation=partner)
    in_draft = modules[:1 if rows == 1 else 8]
    for product in in_draft:
        orders.add_line(partner, db.session.merge(seller.user), "purchase", product, 2, utcnow())
    db.session.commit()
    seller.free = [(product.id, product.name) for product in modules[len(in_draft):]]
    seller.taken = (in_draft[0].id, in_draft[0].name)
    return seller


def test_the_order_items_after_adding_a_product_send_the_same_few_statements_for_one_row_and_for_many(
        app, login_as, count_queries):
    sellers = {"one": _partner(login_as, 1), "many": _partner(login_as, 6)}
    counts: dict[str, list[int]] = {"added": [], "refused": []}
    for seller in sellers.values():
        token = seller.csrf_token()
        for outcome, status, products in (("added", 200, seller.free[:2]), ("refused", 422, [seller.taken] * 2)):
            for n, (product_id, name) in enumerate(products):  # the first warms the caches, the second is counted
                with count_queries() as counter:
                    response = seller.post("/partner/orders/new/items", headers={"Accept-Language": "pt-BR", **HTMX},
                                           data={"kind": "purchase", "product_id": str(product_id), "quantity": "1",
                                                 "csrf_token": token})
                assert response.status_code == status, response.get_data(as_text=True)[:500]
                table = response.get_data(as_text=True).split('id="order-items"', 1)[1].split("</table>", 1)[0]
                assert name in table  # the items table shows the product added (or already there)
                if n:
                    counts[outcome].append(counter["n"])
    assert not _over({f"POST /partner/orders/new/items ({outcome})": tuple(found)
                      for outcome, found in counts.items()}), str(counts)


def _cart_admins(app, count: int):
    """Two administrators of customers subscribed to the store's plan: one with a line in the cart, one with
    `count` (the store's modules); each knows the stackable product it adds (additional users)."""
    from tests.services.store_helpers import make_store

    with app.test_request_context(headers={"Accept-Language": "en"}):
        store = make_store(utcnow())
        modules = [factories.make_product("module", store.cat.basic.software, code=f"cart-{n}", name=f"Módulo {n}",
                                          category=store.erp, prices=(("CLP", "monthly", 1_000 + n, 0),))
                   for n in range(count)]
        other = factories.make_member("customer", "admin")
        subs.start_subscription(other.organisation, store.cat.basic, "CLP", "monthly", utcnow() - timedelta(days=5),
                                trial_days=0)
        db.session.commit()
        admins = []
        for email, filled in ((store.admin.email, modules[:1]), (other.user.email, modules)):
            client = app.test_client()
            client.login(email)
            for module in filled:
                assert client.form_post("/customer/cart", {"product_id": module.id}).status_code == 303
            client.stackable = store.cat.user.id
            admins.append(client)
    return admins


def test_adding_to_the_cart_sends_the_same_few_statements_with_one_line_in_it_and_with_many(app, count_queries):
    counts: dict[str, list[int]] = {"added": [], "refused": []}
    for admin in _cart_admins(app, 8):
        token = admin.csrf_token()
        for outcome, quantity, status in (("added", "1", 200), ("refused", "0", 422)):
            for n in range(2):  # the first warms the caches, the second is counted
                with count_queries() as counter:
                    response = admin.post("/customer/cart", headers={"Accept-Language": "en", **HTMX},
                                          data={"product_id": str(admin.stackable), "quantity": quantity,
                                                "csrf_token": token})
                assert response.status_code == status, response.get_data(as_text=True)[:500]
                assert 'id="cart-panel"' in response.get_data(as_text=True)
                if n:
                    counts[outcome].append(counter["n"])
    assert not _over({f"POST /customer/cart ({outcome})": tuple(found) for outcome, found in counts.items()}), \
        str(counts)


# (path, headers): the store's pages and fragments; {product} is a product of the "ERP" row.
STORE_PAGES = [
    ("/customer/store", {}),
    ("/customer/store?q=inventario", {}),
    ("/customer/store?row=erp&erp=2", HTMX),
    ("/customer/store?erp=2", {}),
    ("/customer/store/products/{product}", {}),
]


def _shop(app, shelves, rows: int):
    """A customer's store on `shelves` (the test catalog in two rows) with a cart of one line; or, with 40 more
    modules in "ERP" first (several pages of the row), a second plan subscribed and a cart of several lines."""
    from portal.services.store import carts

    with app.test_request_context(headers={"Accept-Language": "en"}):
        cat, erp = db.session.merge(shelves.cat.basic), db.session.merge(shelves.erp)
        for n in range(0 if rows == 1 else 40):
            factories.make_product("module", cat.software, code=f"inventario-{n}", name=f"Inventario {n}", category=erp,
                                   prices=(("CLP", "monthly", 3_000 + n, 0),))
        membership = factories.make_member("customer", "admin")
        org, now = membership.organisation, utcnow()
        subs.start_subscription(org, cat, "CLP", "monthly", now - timedelta(days=5), trial_days=0)
        lines = [(shelves.cat.user, 2)]
        if rows > 1:
            other = factories.make_software("erp-extra", "ERP Extra")
            plan = factories.make_product("plan", other, code="extra-plan", name="Plan Extra",
                                          prices=(("CLP", "monthly", 20_000, 0),))
            subs.start_subscription(org, plan, "CLP", "monthly", now - timedelta(days=2), trial_days=0)
            lines += [(shelves.cat.module, 1), (shelves.upfront, 1)]
        for product, quantity in lines:
            carts.add_to_cart(org, membership.user, db.session.merge(product), quantity, now)
        db.session.commit()
        client = app.test_client()
        client.login(membership.user.email)
        client.product = shelves.cat.module.id
    return client


def test_each_store_page_sends_the_same_few_statements_for_a_small_catalog_and_a_large_one(app, counted):
    from tests.services.store_helpers import make_shelves

    with app.test_request_context():
        shelves = make_shelves()
        db.session.commit()
    one = _shop(app, shelves, 1)
    few = {path: counted(one, path.format(product=one.product), headers) for path, headers in STORE_PAGES}
    many = _shop(app, shelves, 6)
    counts = {path: (few[path], counted(many, path.format(product=many.product), headers))
              for path, headers in STORE_PAGES}
    assert not _over(counts), str(counts)
