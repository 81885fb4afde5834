"""Hostile input on the web side (QUALITY.md R8): numbers the database cannot hold, text fields sent as files,
control characters. Each gets a clear, translated 4xx, never a 500, and nothing is written."""

import re

import pytest

from portal.extensions import db
from portal.models import Product
from portal.services.accounts import integration
from tests import factories
from tests.isolation import MATRIX

# 2^31 is the first number PostgreSQL's INTEGER cannot hold, 2^63 the first SQLite's cannot.
TOO_BIG = [2**31, 2**63, 10**20]
INT_ARGUMENT = re.compile(r"<int:(\w+)>")


def _text(response) -> str:
    return response.get_data(as_text=True)


def _rows(model) -> int:
    db.session.rollback()
    return db.session.scalar(db.select(db.func.count()).select_from(model))


@pytest.fixture
def vendor_admin(login_as):
    return login_as("vendor", "admin")


def _client_for(app, login_as, access, clients):
    """A client that may reach the endpoint: a member of its kind with its first allowed role, or an API key."""
    if access.who == "api":
        if "api" not in clients:
            org = factories.make_org("customer")
            key = integration.generate_key(org, None)
            db.session.commit()
            client = app.test_client()
            client.environ_base["HTTP_X_API_KEY"] = key
            clients["api"] = client
        return clients["api"]
    kind = access.kind or "customer"
    role = access.roles[0] if access.roles else None
    if (kind, role) not in clients:
        clients[(kind, role)] = login_as(kind, role)
    return clients[(kind, role)]


@pytest.mark.parametrize("number", TOO_BIG)
def test_an_id_in_any_address_beyond_what_the_database_holds_is_not_found(app, login_as, number):
    clients = {}
    tried = 0
    for rule in app.url_map.iter_rules():
        if not INT_ARGUMENT.search(rule.rule):
            continue
        client = _client_for(app, login_as, MATRIX[rule.endpoint], clients)
        path = INT_ARGUMENT.sub(str(number), re.sub(r"<any\([^)]*\):\w+>", "product", rule.rule))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            data = {"csrf_token": client.csrf_token()} if method != "GET" else None
            response = client.open(path, method=method, data=data)
            assert response.status_code == 404, (method, path, response.status_code)
            tried += 1
    assert tried >= 15


@pytest.mark.parametrize("number", TOO_BIG)
@pytest.mark.parametrize("query", ["software", "category", "page"])
def test_a_catalog_filter_beyond_what_the_database_holds_is_refused_with_a_message(vendor_admin, query, number):
    paths = ("/backoffice/catalog",) if query == "page" else ("/backoffice/catalog", "/backoffice/catalog.csv")
    for path in paths:
        response = vendor_admin.get(f"{path}?{query}={number}")
        assert response.status_code == 422, (path, response.status_code)
        assert "larger than any the portal has" in _text(response)
    negative = vendor_admin.get(f"/backoffice/catalog?{query}=-{number + 1}")
    assert negative.status_code == 422
    spanish = vendor_admin.get(f"/backoffice/catalog?{query}={number}", headers={"Accept-Language": "es"})
    assert spanish.status_code == 422 and "más grande que cualquiera" in _text(spanish)


@pytest.mark.parametrize("number", TOO_BIG)
def test_an_invoice_page_beyond_what_the_database_holds_is_refused_with_a_message(login_as, number):
    customer = login_as("customer", "admin")
    staff = login_as("vendor", "billing")
    for client, path in [(customer, "/customer/invoices"), (staff, "/backoffice/invoices")]:
        response = client.get(f"{path}?page={number}")
        assert response.status_code == 422, (path, response.status_code)
        assert "larger than any the portal has" in _text(response)
        assert client.get(f"{path}?page={2**31 - 1}").status_code == 200  # the last page that can exist: empty


@pytest.mark.parametrize("number", TOO_BIG)
@pytest.mark.parametrize("field", ["software_id", "category_id"])
def test_a_product_form_naming_a_row_beyond_what_the_database_holds_is_refused(vendor_admin, field, number):
    software = factories.make_software()
    product = factories.make_product(software=software)
    db.session.commit()
    before = _rows(Product)
    values = {"kind": "plan", "name": "Plan Grande", "software_id": software.id, "category_id": "",
              field: str(number)}
    for path, extra in [("/backoffice/catalog/products/new", {"code": "plan-grande"}),
                        (f"/backoffice/catalog/products/{product.id}/edit", {})]:
        response = vendor_admin.form_post(path, {**values, **extra})
        assert response.status_code == 422, (path, response.status_code)
        assert "Choose one of the offered options." in _text(response)
    assert _rows(Product) == before
    db.session.expire_all()
    assert db.session.get(Product, product.id).name != "Plan Grande"


def test_switching_to_a_membership_beyond_what_the_database_holds_is_not_found(login_as):
    client = login_as("customer", "admin")
    for number in TOO_BIG:
        assert client.form_post("/switch", {"membership_id": str(number)}).status_code == 404
