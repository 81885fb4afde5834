"""The back office's catalog screens: who may read and change them, forms with and without htmx, bad input."""

from datetime import UTC, datetime, timedelta

import pytest

from portal.extensions import db
from portal.models import AuditEvent, Category, Price, Product, Quota, Software, Subscription
from portal.services import catalog
from portal.services.catalog import search as catalog_search
from tests import factories

SPANISH = {"Accept-Language": "es"}
HTMX = {"HX-Request": "true"}


def _htmx(target: str, **headers) -> dict:
    return {**HTMX, "HX-Target": target, **headers}


@pytest.fixture
def staff(login_as):
    """login_as, with every request of the client between two commits of the test's own session: what the
    test made is visible to the request, and what the request wrote is what the test reads next (on SQLite
    a transaction left open across a request would read, and refuse to write on, a stale snapshot)."""

    def login(kind: str, role: str):
        client = login_as(kind, role)
        db.session.commit()
        send = client.open

        def open_between_commits(*args, **kwargs):
            db.session.commit()
            try:
                return send(*args, **kwargs)
            finally:
                db.session.commit()

        client.open = open_between_commits
        return client

    return login


@pytest.fixture
def admin(staff):
    return staff("vendor", "admin")


@pytest.fixture
def plan(app):
    product = factories.make_product("plan", code="erp-pro", name="Plan Pro",
                                     prices=[("CLP", "monthly", 39_990, 79_990)])
    catalog.set_quota(product, "documents", 500, {"CLP": 45})
    db.session.commit()
    return product


def _count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def _text(response) -> str:
    return response.get_data(as_text=True)



def test_every_catalog_screen_opens_for_an_administrator(admin, plan):
    category = factories.make_category(name="Mi plan")
    db.session.commit()
    pages = {
        "/backoffice/catalog": "Plan Pro",
        f"/backoffice/catalog/products/{plan.id}": "CLP\xa039,990",
        "/backoffice/catalog/products/new": "New product",
        f"/backoffice/catalog/products/{plan.id}/edit": "Edit the product",
        f"/backoffice/catalog/software/{plan.software_id}/edit": plan.software.name,
        f"/backoffice/catalog/categories/{category.id}/edit": "Mi plan",
        f"/backoffice/catalog/product/{plan.id}/retire": "Retire Plan Pro?",
    }
    for url, expected in pages.items():
        response = admin.get(url)
        assert response.status_code == 200, url
        assert expected in _text(response), url
    assert 'href="/backoffice/catalog" aria-current="page"' in _text(admin.get("/backoffice/catalog"))


@pytest.mark.parametrize("role", ["billing", "advisor"])
def test_billing_and_advisors_read_the_catalog_but_cannot_change_it(staff, plan, role):
    staff = staff("vendor", role)
    listing = staff.get("/backoffice/catalog")
    assert listing.status_code == 200 and "Plan Pro" in _text(listing)
    assert "Only administrators" in _text(listing)
    page = staff.get(f"/backoffice/catalog/products/{plan.id}")
    assert page.status_code == 200 and "CLP\xa039,990" in _text(page)
    assert "<form" not in _text(page).split('id="product_details"')[1].split("</main>")[0]
    assert staff.get("/backoffice/catalog/products/new").status_code == 403
    price = plan.prices[0]
    attempts = [
        ("/backoffice/catalog/software", {"code": "x", "name": "X", "launch_url": "https://x.test"}),
        (f"/backoffice/catalog/products/{plan.id}/prices", {"currency": "CLP", "period": "annual", "amount": "1"}),
        (f"/backoffice/catalog/products/{plan.id}/prices/{price.id}/remove", {}),
        (f"/backoffice/catalog/product/{plan.id}/retire", {}),
    ]
    for url, data in attempts:
        assert staff.form_post(url, data).status_code == 403, url
    db.session.expire_all()
    assert _count(Software) == 1 and _count(Price) == 1
    assert db.session.get(Product, plan.id).retired_at is None


@pytest.mark.parametrize(("kind", "role"), [("customer", "admin"), ("reseller", "manager"), ("partner", "admin")])
def test_other_kinds_of_organisation_cannot_open_the_catalog(staff, plan, kind, role):
    client = staff(kind, role)
    assert client.get("/backoffice/catalog").status_code == 403
    assert client.get(f"/backoffice/catalog/products/{plan.id}").status_code == 403
    assert client.form_post(f"/backoffice/catalog/products/{plan.id}/prices",
                            {"currency": "CLP", "period": "monthly", "amount": "0"}).status_code == 403


def test_the_navigation_offers_the_catalog_to_vendor_staff_only(staff):
    assert "/backoffice/catalog" in _text(staff("vendor", "advisor").get("/backoffice/"))
    assert "/backoffice/catalog" not in _text(staff("customer", "admin").get("/customer/"))



def test_an_administrator_adds_software_and_the_change_is_audited(admin):
    response = admin.form_post("/backoffice/catalog/software", {
        "code": "faznota", "name": "FazNota", "launch_url": "https://app.faznota.test/entrar",
        "description": "Emissor de NF-e", "name_en": "FazNota", "name_es": "", "name_pt_BR": ""})
    assert response.status_code == 303
    assert response.headers["Location"] == "/backoffice/catalog#software"
    software = db.session.scalar(db.select(Software))
    assert (software.code, software.names) == ("faznota", {"en": {"name": "FazNota"}})
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "software_created"))
    assert (event.actor_id, event.organisation_id, event.address) == (admin.user.id, admin.organisation.id,
                                                                      "127.0.0.1")
    assert "FazNota has been added." in _text(admin.get("/backoffice/catalog"))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"code": "erp", "name": "Vitrine ERP", "launch_url": "ftp://erp.test"}, "starting with https://"),
        ({"code": "Mi ERP", "name": "Vitrine ERP", "launch_url": "https://erp.test"}, "lowercase letters"),
        ({"code": "taken", "name": "Vitrine ERP", "launch_url": "https://erp.test"}, "already used"),
        ({"code": "erp", "name": "", "launch_url": "https://erp.test"}, "Enter a name."),
    ],
)
def test_invalid_software_comes_back_as_the_form_with_its_error_and_nothing_is_written(admin, data, message):
    factories.make_software(code="taken")
    db.session.commit()
    response = admin.form_post("/backoffice/catalog/software", data, headers=_htmx("software_form"))
    assert response.status_code == 422
    body = _text(response)
    assert body.lstrip().startswith('<form id="software_form"') and message in body
    assert "<html" not in body
    assert _count(Software) == 1


def test_editing_software_in_place_returns_its_form_then_saves(admin):
    software = factories.make_software(code="erp", name="Vitrine ERP", launch_url="https://erp.test")
    db.session.commit()
    form = admin.get(f"/backoffice/catalog/software/{software.id}/edit", headers=_htmx("software_form"))
    assert form.status_code == 200 and _text(form).lstrip().startswith('<form id="software_form"')
    assert 'value="Vitrine ERP"' in _text(form)
    saved = admin.form_post(f"/backoffice/catalog/software/{software.id}/edit", {
        "name": "Vitrine ERP Cloud", "launch_url": "https://cloud.erp.test", "code": "hacked"},
        headers=_htmx("software_form"))
    assert saved.status_code == 204 and saved.headers["HX-Location"] == "/backoffice/catalog#software"
    db.session.expire_all()
    software = db.session.get(Software, software.id)
    assert (software.code, software.name, software.launch_url) == ("erp", "Vitrine ERP Cloud",
                                                                    "https://cloud.erp.test")


def test_categories_are_added_and_moved_with_only_their_table_swapped(admin):
    first, second = factories.make_category(name="Mi plan"), factories.make_category(name="ERP")
    db.session.commit()
    added = admin.form_post("/backoffice/catalog/categories", {"code": "facturacion",
                                                              "name": "Facturación electrónica",
                                                              "name_pt_BR": "Nota fiscal eletrônica"})
    assert added.status_code == 303
    third = db.session.scalar(db.select(Category).where(Category.code == "facturacion"))
    moved = admin.form_post(f"/backoffice/catalog/categories/{third.id}/move", {"direction": "up"},
                            headers=_htmx("categories"))
    body = _text(moved)
    assert moved.status_code == 200 and body.lstrip().startswith('<div id="categories">') and "<html" not in body
    rows = body.split("<tbody>")[1]
    assert rows.index("Mi plan") < rows.index("Facturación electrónica") < rows.index("ERP")
    assert "has been moved" in body
    assert [c.id for c in catalog_search.list_categories()] == [first.id, third.id, second.id]
    assert admin.form_post(f"/backoffice/catalog/categories/{third.id}/move",
                           {"direction": "sideways"}).status_code == 400



def _product_form(software, **overrides) -> dict:
    return {"code": "inventario", "name": "Inventario", "kind": "module", "software_id": str(software.id),
            "category_id": "", "description": "Bodegas, stock y kardex.", **overrides}


def test_an_administrator_adds_a_product_and_lands_on_its_page(admin):
    software = factories.make_software()
    db.session.commit()
    response = admin.form_post("/backoffice/catalog/products/new", _product_form(software, name_en="Inventory"))
    product = db.session.scalar(db.select(Product))
    assert response.status_code == 303
    assert response.headers["Location"] == f"/backoffice/catalog/products/{product.id}"
    page = _text(admin.get(response.headers["Location"]))
    assert "Inventario has been added. Now give it its prices and quotas." in page
    assert "No prices yet" in page
    assert product.names == {"en": {"name": "Inventory"}}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"code": "taken"}, "The code taken is already used."),
        ({"kind": "bundle"}, "Choose one of the offered kinds."),
        ({"software_id": "999999"}, "Choose a software."),
        ({"software_id": "abc"}, "Choose a software."),
        ({"category_id": "999999"}, "Choose one of the offered categories."),
        ({"name": " "}, "Enter a name."),
    ],
)
def test_an_invalid_product_is_refused_with_a_message_and_nothing_is_written(admin, overrides, message):
    software = factories.make_software()
    factories.make_product(code="taken", software=software)
    db.session.commit()
    response = admin.form_post("/backoffice/catalog/products/new", _product_form(software, **overrides))
    assert response.status_code == 422 and message in _text(response)
    assert "<html" in _text(response)  # without htmx, the whole page
    assert _count(Product) == 1


def test_an_empty_new_product_names_every_missing_field_at_once(admin):
    factories.make_software()
    db.session.commit()
    response = admin.form_post("/backoffice/catalog/products/new", {"code": " ", "name": "", "kind": "plan"})
    text = _text(response)
    assert response.status_code == 422 and "Enter a code." in text and "Enter a name." in text
    assert ' required' not in text.split('id="code"')[1].split(">")[0]  # the page says it, not the browser
    assert _count(Product) == 0


def test_a_product_is_edited_in_place(admin, plan):
    form = admin.get(f"/backoffice/catalog/products/{plan.id}/edit", headers=_htmx("product_details"))
    assert form.status_code == 200 and _text(form).lstrip().startswith('<section id="product_details"')
    refused = admin.form_post(f"/backoffice/catalog/products/{plan.id}/edit", _product_form(
        plan.software, name="Plan Pro", kind="plan", is_free="y"), headers=_htmx("product_details"))
    assert refused.status_code == 422 and _text(refused).lstrip().startswith('<section id="product_details"')
    assert "This product has prices above 0" in _text(refused)
    saved = admin.form_post(f"/backoffice/catalog/products/{plan.id}/edit", _product_form(
        plan.software, name="Plan Pro 2025", kind="plan", pay_upfront="y"), headers=_htmx("product_details"))
    assert saved.status_code == 204
    db.session.expire_all()
    product = db.session.get(Product, plan.id)
    assert (product.code, product.name, product.pay_upfront, product.is_free) == ("erp-pro", "Plan Pro 2025",
                                                                                  True, False)



def test_a_price_typed_in_spanish_is_saved_and_only_the_prices_table_comes_back(admin, plan):
    response = admin.form_post(f"/backoffice/catalog/products/{plan.id}/prices",
                               {"currency": "CLP", "period": "annual", "amount": "399.900", "setup_fee": ""},
                               headers=_htmx("prices", **SPANISH))
    body = _text(response)
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="prices"') and "<html" not in body and 'id="quotas"' not in body
    assert "CLP\xa0399.900" in body
    price = db.session.scalar(db.select(Price).where(Price.period == "annual"))
    assert (price.amount, price.setup_fee) == (399_900, 0)


def test_a_price_typed_in_portuguese_is_read_with_its_decimal_comma(admin, plan):
    admin.form_post(f"/backoffice/catalog/products/{plan.id}/prices",
                    {"currency": "BRL", "period": "monthly", "amount": "119,90", "setup_fee": "99,00"},
                    headers={"Accept-Language": "pt-BR"})
    price = db.session.scalar(db.select(Price).where(Price.currency == "BRL"))
    assert (price.amount, price.setup_fee) == (11_990, 9_900)


def test_without_javascript_a_saved_price_redirects_to_the_product(admin, plan):
    response = admin.form_post(f"/backoffice/catalog/products/{plan.id}/prices",
                               {"currency": "CLP", "period": "monthly", "amount": "41990"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/backoffice/catalog/products/{plan.id}#prices"
    page = _text(admin.get(response.headers["Location"]))
    assert "The monthly price in CLP is saved." in page and "CLP\xa041,990" in page
    assert _count(Price) == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"currency": "CLP", "amount": "-100"}, "The amount cannot be negative."),
        ({"currency": "CLP", "amount": "19990.5"}, "Amounts in CLP have no decimals."),
        ({"currency": "BRL", "amount": "10.555"}, "Amounts in BRL have at most 2 decimals."),
        ({"currency": "EUR", "amount": "10"}, "Choose one of the offered currencies."),
        ({"currency": "CLP", "amount": "99999999999999"}, "This amount is too large."),
        ({"currency": "CLP", "amount": "mil"}, "Write the amount as a number, e.g. 19,990."),
        ({"currency": "CLP", "amount": "100", "setup_fee": "-1"}, "The amount cannot be negative."),
        ({"currency": "CLP", "amount": "100", "period": "weekly"}, "Choose one of the offered periods."),
    ],
)
def test_bad_prices_are_refused_with_a_clear_message_and_nothing_is_written(admin, plan, data, message):
    data = {"period": "annual", **data}
    response = admin.form_post(f"/backoffice/catalog/products/{plan.id}/prices", data,
                               headers=_htmx("prices", **{"Accept-Language": "en"}))
    assert response.status_code == 422
    assert _text(response).lstrip().startswith('<section id="prices"')
    assert message in _text(response)
    assert [(p.currency, p.period, p.amount) for p in db.session.scalars(db.select(Price))] == [
        ("CLP", "monthly", 39_990)]


def test_a_price_for_a_free_product_must_be_zero(admin):
    free = factories.make_product("module", is_free=True)
    db.session.commit()
    response = admin.form_post(f"/backoffice/catalog/products/{free.id}/prices",
                               {"currency": "CLP", "period": "monthly", "amount": "990"})
    assert response.status_code == 422 and "This product is free" in _text(response)


def test_removing_a_price_swaps_the_table_unless_subscriptions_are_billed_with_it(admin, plan):
    catalog.set_price(plan, "CLP", "annual", 399_900)
    db.session.commit()
    monthly, annual = plan.price_for("CLP", "monthly"), plan.price_for("CLP", "annual")
    removed = admin.form_post(f"/backoffice/catalog/products/{plan.id}/prices/{annual.id}/remove",
                              headers=_htmx("prices"))
    assert removed.status_code == 200 and "The price has been removed." in _text(removed)
    org = factories.make_org("customer")
    start = datetime(2025, 1, 1, tzinfo=UTC)
    db.session.add(Subscription(organisation_id=org.id, payer_id=org.id, plan_id=plan.id, currency="CLP",
                                period="monthly", status="active", current_period_start=start,
                                current_period_end=start + timedelta(days=31)))
    db.session.commit()
    refused = admin.form_post(f"/backoffice/catalog/products/{plan.id}/prices/{monthly.id}/remove",
                              headers=_htmx("prices"))
    assert refused.status_code == 422 and "live subscriptions are billed with this price" in _text(refused)
    assert [p.id for p in db.session.scalars(db.select(Price))] == [monthly.id]


def test_a_price_of_another_product_cannot_be_removed_through_this_one(admin, plan):
    other = factories.make_product()
    db.session.commit()
    price = other.prices[0]
    assert admin.form_post(f"/backoffice/catalog/products/{plan.id}/prices/{price.id}/remove").status_code == 404
    assert db.session.get(Price, price.id) is not None


def test_quotas_are_saved_with_overage_prices_and_swap_only_their_table(admin, plan):
    response = admin.form_post(f"/backoffice/catalog/products/{plan.id}/quotas", {
        "metric": "documents", "included": "1.000", "overage_CLP": "40", "overage_MXN": "1,20", "overage_BRL": ""},
        headers=_htmx("quotas", **SPANISH))
    body = _text(response)
    assert response.status_code == 200 and body.lstrip().startswith('<section id="quotas"')
    assert 'id="prices"' not in body
    quota = db.session.scalar(db.select(Quota))
    assert (quota.included, quota.overage_prices) == (1000, {"CLP": 40, "MXN": 120})
    refused = admin.form_post(f"/backoffice/catalog/products/{plan.id}/quotas",
                              {"metric": "users", "included": "2,5"}, headers=_htmx("quotas"))
    assert refused.status_code == 422 and "Enter a whole number" in _text(refused)
    removed = admin.form_post(f"/backoffice/catalog/products/{plan.id}/quotas/{quota.id}/remove",
                              headers=_htmx("quotas"))
    assert removed.status_code == 200 and "No quotas" in _text(removed)
    assert _count(Quota) == 0



def test_retiring_asks_first_then_hides_the_product_from_the_list_but_keeps_it(admin, plan):
    confirm = admin.get(f"/backoffice/catalog/product/{plan.id}/retire")
    assert "0 live subscriptions have it" in _text(confirm)
    response = admin.form_post(f"/backoffice/catalog/product/{plan.id}/retire")
    assert response.status_code == 303
    assert db.session.get(Product, plan.id).retired_at is not None
    assert "Plan Pro" not in _text(admin.get("/backoffice/catalog", headers=_htmx("products")))
    shown = _text(admin.get("/backoffice/catalog?retired=1", headers=_htmx("products")))
    assert "Plan Pro" in shown and "Retired" in shown
    page = _text(admin.get(f"/backoffice/catalog/products/{plan.id}"))
    assert "CLP\xa039,990" in page and "Offer it again" in page
    assert admin.form_post(f"/backoffice/catalog/product/{plan.id}/restore").status_code == 303
    db.session.expire_all()
    assert db.session.get(Product, plan.id).retired_at is None



def test_the_list_filters_searches_and_pages_with_a_constant_number_of_queries(admin, count_queries):
    erp = factories.make_software(name="Vitrine ERP")
    row = factories.make_category(name="Mi plan")
    for n in range(30):
        factories.make_product("module" if n % 2 else "plan", software=erp, category=row if n < 10 else None,
                               code=f"p-{n:02d}", name=f"Producto {n:02d}")
    db.session.commit()
    first = _text(admin.get("/backoffice/catalog"))
    assert "Products 1 to 25 of 30" in first and "Producto 24" in first and "Producto 25" not in first
    second = _text(admin.get("/backoffice/catalog?page=2", headers=_htmx("products")))
    assert second.lstrip().startswith('<div id="products">') and "Producto 29" in second and "Producto 00" not in second
    assert "Products 1 to 5 of 5" in _text(admin.get(f"/backoffice/catalog?category={row.id}&kind=plan"))
    assert "No product matches" in _text(admin.get("/backoffice/catalog?q=nada"))
    assert "Products 1 to 1 of 1" in _text(admin.get("/backoffice/catalog?q=producto+07"))
    assert admin.get("/backoffice/catalog?page=99&software=abc&kind=x").status_code == 200

    with count_queries() as many:
        admin.get("/backoffice/catalog")
    for product in db.session.scalars(db.select(Product).where(Product.code >= "p-05")):
        catalog.retire_product(product)
    db.session.commit()
    with count_queries() as few:
        admin.get("/backoffice/catalog")
    assert many["n"] == few["n"] <= 10


def test_the_filtered_list_downloads_as_csv_with_one_line_per_price(staff, plan):
    factories.make_product("module", software=plan.software, code="inventario", name="=Inventario", prices=[])
    catalog.set_price(plan, "BRL", "annual", 119_900, 9_900)
    db.session.commit()
    response = staff("vendor", "billing").get("/backoffice/catalog.csv?q=")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = _text(response).lstrip("\ufeff").splitlines()
    assert lines[0] == "Code,Product,Kind,Software,Store category,Status,Currency,Period,Price,Setup fee"
    assert sorted(lines[1:]) == sorted([
        f"erp-pro,Plan Pro,Plan,{plan.software.name},,On sale,CLP,Monthly,39990,79990",
        f"erp-pro,Plan Pro,Plan,{plan.software.name},,On sale,BRL,Annual,1199.00,99.00",
        f"inventario,'=Inventario,Module,{plan.software.name},,On sale,,,,",
    ])
    assert "inventario" not in _text(staff("vendor", "admin").get("/backoffice/catalog.csv?kind=plan"))


def test_the_product_list_pages_with_the_one_pager_and_says_when_a_page_is_past_the_last(admin):
    erp = factories.make_software(name="Vitrine ERP")
    for n in range(27):
        factories.make_product("module", software=erp, code=f"q-{n:02d}", name=f"Módulo {n:02d}")
    db.session.commit()
    first = _text(admin.get("/backoffice/catalog?kind=module"))
    assert "Page 1 of 2" in first and 'rel="prev"' not in first
    assert 'rel="next" href="/backoffice/catalog?page=2&amp;kind=module"' in first
    assert 'hx-target="#products"' in first.split('aria-label="Pages of products"')[1]
    second = _text(admin.get("/backoffice/catalog?kind=module&page=2", headers=_htmx("products")))
    assert "Page 2 of 2" in second and "Products 26 to 27 of 27" in second and 'rel="next"' not in second
    assert 'rel="prev" href="/backoffice/catalog?page=1&amp;kind=module"' in second
    beyond = admin.get("/backoffice/catalog?kind=module&page=3")
    assert beyond.status_code == 200
    assert "There are no more products on this page." in _text(beyond)
    assert 'href="/backoffice/catalog?kind=module">Go to the first page' in _text(beyond)


@pytest.mark.parametrize(("what", "url", "heading"), [("software", "/backoffice/catalog/software", "Add a software"),
                                                     ("category", "/backoffice/catalog/categories",
                                                      "Add a store category")])
def test_the_add_forms_are_loaded_when_asked_for_in_place_or_as_a_page(admin, what, url, heading):
    listing = _text(admin.get("/backoffice/catalog"))
    assert f'<form id="{what}_form"' not in listing
    assert f'<a class="button" href="{url}#{what}_form" hx-get="{url}" hx-target="#{what}_form"' in listing
    in_place = admin.get(url, headers=_htmx(f"{what}_form"))
    body = _text(in_place)
    assert in_place.status_code == 200 and body.lstrip().startswith(f'<form id="{what}_form"') and "<html" not in body
    assert f"<h3>{heading}</h3>" in body and "autofocus" in body
    page = _text(admin.get(url))  # without JavaScript: the catalog with the form open
    assert "<html" in page and f'<form id="{what}_form"' in page and 'id="products"' in page
    cancelled = _text(admin.get("/backoffice/catalog", headers=_htmx(f"{what}_form")))
    assert cancelled.lstrip().startswith(f'<p id="{what}_form"') and heading in cancelled


def test_staff_who_cannot_change_the_catalog_get_no_add_forms(staff):
    billing = staff("vendor", "billing")
    listing = _text(billing.get("/backoffice/catalog"))
    assert "Add a software" not in listing and "Add a store category" not in listing
    assert billing.get("/backoffice/catalog/software").status_code == 403
    assert billing.get("/backoffice/catalog/categories").status_code == 403
