"""What pages say: each describes only what its reader can do on it today, in every language; names that
end in a full stop are not given a second one; tax ids are printed as their country writes them."""

import re

import pytest

from portal.extensions import db
from tests import factories

LANGUAGES = {"en": "en", "es": "es", "pt_BR": "pt-BR"}
# The partner portal's orders, stock and licenses exist (issue 14): its home names them.
HOMES = {"customer": "/customer/", "reseller": "/reseller/", "vendor": "/backoffice/"}
# What the pages used to promise before the features exist (buying, paying, orders, approvals, licenses).
PROMISES = re.compile(
    r"buy|purchase|activate products|approv|orders|licen[cs]e stock|pay your invoices|link themselves"
    r"|compras y activas|aprobaci|aprobar|pedidos|paga tus|se vinculan"
    r"|compra e ativa|compra|aprova|pague suas|se vinculam",
    re.IGNORECASE,
)


# The staff's approvals queue exists: the back office's sidebar names it (and only it) among the promises.
EXISTING = {"vendor": re.compile(r"Orders to approve|Pedidos por aprobar|Pedidos a aprovar")}


def _visible(response) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", HOMES)
def test_home_pages_promise_nothing_that_does_not_exist_yet(login_as, kind, language):
    for role in {"customer": ("admin", "member"), "reseller": ("manager", "accountant"),
                 "partner": ("admin", "seller"), "vendor": ("admin", "billing", "advisor")}[kind]:
        page = login_as(kind, role).get(HOMES[kind], headers={"Accept-Language": LANGUAGES[language]})
        assert page.status_code == 200
        visible = EXISTING[kind].sub(" ", _visible(page)) if kind in EXISTING else _visible(page)
        found = PROMISES.findall(visible)
        assert not found, (kind, role, language, found)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_login_page_promises_nothing_that_does_not_exist_yet(client, language):
    found = PROMISES.findall(_visible(client.get("/login", headers={"Accept-Language": LANGUAGES[language]})))
    assert not found, found


@pytest.mark.parametrize(("language", "sentence"), [
    ("en", "The client companies linked to Contadores Asociados del Sur Ltda. "),
    ("es", "Las empresas clientes vinculadas a Contadores Asociados del Sur Ltda. "),
    ("pt_BR", "As empresas clientes vinculadas a Contadores Asociados del Sur Ltda. "),
])
def test_a_name_ending_in_a_full_stop_gets_no_second_one(login_as, language, sentence):
    office = factories.make_org("reseller", name="Contadores Asociados del Sur Ltda.")
    page = _visible(login_as("reseller", "manager", organisation=office).get(
        "/reseller/", headers={"Accept-Language": LANGUAGES[language]}))
    assert sentence in page, page
    assert "Ltda.." not in page


def test_a_full_stop_after_a_value_is_kept_when_the_value_has_none(app):
    template = app.jinja_env.from_string(
        "{{ _('Invoices of %(org)s.', org=org) }}|{{ _('%(org)s... and more', org=org) }}")
    with app.test_request_context("/"):
        assert template.render(org="Aromos SpA") == "Invoices of Aromos SpA.|Aromos SpA... and more"
        assert template.render(org="Aromos Ltda.") == "Invoices of Aromos Ltda.|Aromos Ltda.... and more"


def test_an_rfc_is_shown_as_the_sat_writes_it(login_as):
    shop = factories.make_org("customer", "MX", name="Abarrotes La Esperanza", tax_id="ALE120315KT1")
    factories.make_invoice(shop)
    db.session.commit()
    home = _visible(login_as("customer", "admin", organisation=shop).get("/customer/"))
    assert "RFC ALE120315KT1" in home, home
    staff = _visible(login_as("vendor", "billing").get("/backoffice/invoices?q=Esperanza"))
    assert "ALE120315KT1" in staff and "ALE 120315" not in staff, staff
