"""The top bar and the sidebar are rendered once per user, membership and language and kept: what a person
reads in them still follows every change (language, organisation, role, name, advisor, logging out)."""

import re

from portal.extensions import db
from portal.models import Membership, User
from portal.services.accounts import organisations as accounts
from tests import factories

CSRF_RE = re.compile(r'"X-CSRFToken": "([^"]+)"')


def _text(response) -> str:
    return response.get_data(as_text=True)


def _topbar(page: str) -> str:
    return page.split('<header class="topbar">')[1].split("</header>")[0]


def _sidebar(page: str) -> str:
    return page.split('<nav class="sidebar"')[1].split("</nav>")[0]


def test_the_kept_top_bar_carries_each_request_s_token_and_address(login_as):
    client = login_as("customer", "admin")
    for path in ("/customer/", "/customer/invoices?status=paid"):
        page = _text(client.get(path))
        token = CSRF_RE.search(page).group(1)
        topbar = _topbar(page)
        assert topbar.count(f'name="csrf_token" value="{token}"') == 2  # language and logging out
        assert f'name="next" value="{path.replace("&", "&amp;")}"' in topbar
        assert "\x00" not in page


def test_the_top_bar_follows_the_language_the_name_and_the_advisor(app, login_as):
    client = login_as("customer", "admin", name="Ana Soto")
    assert "Ana Soto" in _topbar(_text(client.get("/customer/")))
    assert "Log out" in _topbar(_text(client.get("/customer/")))
    client.form_post("/locale", {"locale": "es", "next": "/customer/"})
    page = _text(client.get("/customer/"))
    assert "Cerrar sesión" in _topbar(page) and "Log out" not in _topbar(page)
    assert 'aria-current="page">Inicio<' in _sidebar(page)

    user = db.session.get(User, client.user.id)
    user.name = "Ana María Soto"
    organisation = db.session.get(type(client.organisation), client.organisation.id)
    organisation.advisor = factories.make_user(name="Pedro Asesor")
    db.session.commit()
    topbar = _topbar(_text(client.get("/customer/")))
    assert "Ana María Soto" in topbar and "AM" in topbar and "Pedro Asesor" in topbar


def test_the_shell_follows_a_switch_of_organisation_and_a_change_of_role(app, client):
    first = factories.make_member("customer", "admin")
    second = factories.make_member("reseller", "manager")
    second_user_membership = accounts.add_membership(first.user, second.organisation, "accountant")
    db.session.commit()
    client.login(first.user.email)
    page = _text(client.get("/customer/"))
    assert first.organisation.name in _topbar(page) and "Integration key" in _sidebar(page)

    client.form_post("/switch", {"membership_id": second_user_membership.id})
    page = _text(client.get("/reseller/"))
    assert '<span class="org-title">' + second.organisation.name in _topbar(page).split('<form')[0]
    assert "Accountant" in _topbar(page) and "Team" not in _sidebar(page)

    db.session.get(Membership, second_user_membership.id).role = "manager"
    db.session.commit()
    page = _text(client.get("/reseller/"))
    assert "Manager" in _topbar(page).split("<form")[0] and "Team" in _sidebar(page)


def test_the_sidebar_marks_the_section_of_the_page(login_as):
    client = login_as("customer", "admin")
    invoice = factories.make_invoice(client.organisation)
    db.session.commit()
    for path, section in (("/customer/", "Home"), ("/customer/invoices", "Invoices"),
                          (f"/customer/invoices/{invoice.id}", "Invoices"), ("/team", "Team"),
                          ("/customer/integration", "Integration key")):
        current = re.findall(r'aria-current="page">([^<]+)<', _sidebar(_text(client.get(path))))
        assert current == [section], path
    assert re.findall(r'aria-current="page">', _sidebar(_text(client.get("/customer/no-such-page")))) == []


def test_after_logging_out_the_top_bar_is_a_visitor_s(login_as):
    client = login_as("customer", "admin", name="Ana Soto")
    assert "Ana Soto" in _text(client.get("/customer/"))
    client.form_post("/logout")
    page = _text(client.get("/login"))
    assert "Ana Soto" not in page and "Log out" not in page and 'class="sidebar"' not in page
