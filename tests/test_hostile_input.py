"""Hostile input on the web side (QUALITY.md R8): numbers the database cannot hold, text fields sent as files,
control characters. Each gets a clear, translated 4xx, never a 500, and nothing is written."""

import io
import re
from datetime import timedelta
from urllib.parse import quote

import pytest

from portal.extensions import db
from portal.models import Product
from portal.services.accounts import auth, integration
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


NEW_PASSWORD = "a new password 2026"


@pytest.fixture
def forms(app, login_as):
    """Every form of the portal that takes text: (who posts it, its address, values that would pass)."""
    app.config["LOGIN_LIMIT"] = "1000 per minute"  # these tests refuse hundreds of logins on purpose
    customer = login_as("customer", "admin")
    staff = login_as("vendor", "admin")
    product = factories.make_product()
    reset_user = factories.make_user()
    invited = factories.make_user(password=None)
    reset = auth.issue_token(reset_user, "reset", timedelta(hours=1))
    invitation = auth.issue_token(invited, "invite", timedelta(days=1))
    db.session.commit()
    visitor = app.test_client()
    passwords = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    return [
        (visitor, "/login", {"email": customer.user.email, "password": factories.PASSWORD, "next": "/customer/"}),
        (visitor, "/password/forgot", {"email": customer.user.email}),
        (visitor, f"/password/reset/{reset}", passwords),
        (visitor, f"/invitation/{invitation}", {"name": "Ana Pérez", **passwords}),
        (customer, "/team", {"name": "Ana Pérez", "email": "ana@example.test", "role": "member"}),
        (customer, "/account/password", {"current": factories.PASSWORD, **passwords}),
        (staff, "/backoffice/catalog/software", {"code": "erp-2", "name": "ERP 2", "launch_url": "https://erp.test/",
                                                 "description": "Una línea\nY otra", "name_es": "ERP dos"}),
        (staff, "/backoffice/catalog/categories", {"code": "row-2", "name": "Fila 2", "name_pt_BR": "Linha 2"}),
        (staff, "/backoffice/catalog/products/new", {"code": "plan-2", "name": "Plan 2", "kind": "plan",
                                                      "software_id": str(product.software_id), "category_id": ""}),
        (staff, f"/backoffice/catalog/products/{product.id}/edit", {"name": "Plan 3", "kind": "plan",
                                                                     "software_id": str(product.software_id)}),
        (staff, f"/backoffice/catalog/products/{product.id}/prices", {"currency": "CLP", "period": "yearly",
                                                                       "amount": "199.990", "setup_fee": ""}),
        (staff, f"/backoffice/catalog/products/{product.id}/quotas", {"metric": "users", "included": "3",
                                                                       "overage_CLP": "990"}),
    ]


def _counts() -> dict[str, int]:
    db.session.rollback()
    return {t.name: db.session.scalar(db.select(db.func.count()).select_from(t)) for t in db.metadata.sorted_tables}


def _with_nul(value: str) -> str:
    return value[:1] + "\x00" + value[1:]


CONTROL_MESSAGE = "This field contains invisible control characters. Type it again without them."
CONTROL = ["\x00", "\x07", "\x1b", "\x7f", "\x85"]


def test_a_control_character_in_any_text_field_of_any_form_is_refused_and_nothing_is_written(forms):
    before = _counts()
    for client, path, values in forms:
        for name, value in values.items():
            if name in ("kind", "currency", "period", "metric", "role", "software_id", "category_id"):
                continue  # choices, checked by their own field types
            for control in CONTROL:
                sent = {**values, name: value[:1] + control + value[1:]}
                response = client.form_post(path, sent)
                assert response.status_code == 422, (path, name, repr(control), response.status_code)
                assert CONTROL_MESSAGE in _text(response), (path, name)
        assert _counts() == before, path


def test_tab_and_line_breaks_are_text(forms):
    client, path, values = forms[6]  # the software form: its description has paragraphs
    response = client.form_post(path, {**values, "description": "Primera línea\r\n\tsegunda línea"})
    assert response.status_code == 303


def test_a_control_character_message_is_translated(app, forms):
    client, path, values = forms[0]
    response = client.form_post(path, {**values, "email": _with_nul(values["email"])},
                                headers={"Accept-Language": "pt-BR"})
    assert response.status_code == 422 and "Este campo contém caracteres de controle invisíveis" in _text(response)


def test_a_text_field_sent_as_a_file_is_refused_with_a_message(forms):
    before = _counts()
    for client, path, values in forms:
        for name, value in values.items():
            if name == "next":
                continue
            data = {**values, name: (io.BytesIO(value.encode()), "value.txt"), "csrf_token": client.csrf_token()}
            response = client.post(path, data=data, content_type="multipart/form-data")
            assert response.status_code == 422, (path, name, response.status_code)
            assert "Send this field as text, not as a file." in _text(response), (path, name)
        assert _counts() == before, path


def test_a_form_sent_as_json_is_not_read_as_the_form(forms):
    client, path, values = forms[0]
    for body in ({"email": 5, "password": ["a"]}, ["email"], "email", {"email": {"a": 1}}):
        response = client.post(path, json=body, headers={"X-CSRFToken": client.csrf_token()})
        assert response.status_code == 422, (body, response.status_code)
        assert "This field is required." in _text(response)


@pytest.mark.parametrize("search", ["a\x00b", "\x00", "plan\x1b", "\x7f"])
def test_a_catalog_search_with_a_control_character_finds_nothing(vendor_admin, search):
    factories.make_product(name="Plan a b")
    db.session.commit()
    page = vendor_admin.get("/backoffice/catalog?q=" + quote(search))
    assert page.status_code == 200 and "No product matches" in _text(page)
    csv_export = vendor_admin.get("/backoffice/catalog.csv?q=" + quote(search))
    assert csv_export.status_code == 200 and "Plan a b" not in _text(csv_export)
