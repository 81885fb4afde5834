"""A reseller's new client by direct registration ("Novo cadastro"): the organisation linked to the reseller, on
trial, paid by the client or by the reseller at the reseller discount (a billing setting), the invitation to
choose a password; managers only, and bad input refused with nothing written."""

import pytest

from portal.extensions import db
from portal.models import AuditEvent, Membership, Organisation, OutboxMessage, Subscription
from portal.orm import utcnow
from portal.services.billing import settings
from portal.services.errors import DomainError
from portal.services.resellers import new_clients
from tests import factories
from tests.reseller.helpers import logged_in

CNPJ = "45398765000160"
RUT = "76.086.428-5"


@pytest.fixture
def plans(app):
    erp = factories.make_software(name="Vitrine ERP")
    nfe = factories.make_software(name="Vitrine NF-e")
    basic = factories.make_product("plan", software=erp, name="Básico", prices=(("BRL", "monthly", 9_990, 0),))
    other = factories.make_product("plan", software=nfe, name="Emissor", prices=(("BRL", "monthly", 4_990, 0),))
    db.session.commit()
    return {"erp": erp, "nfe": nfe, "basic": basic, "other": other}


@pytest.fixture
def manager(login_as, office):
    return logged_in(login_as, "reseller", "manager", organisation=office)


def data(**changes) -> new_clients.ClientData:
    values = {"legal_name": "Padaria Pão Dourado Ltda", "tax_id": "45.398.765/0001-60",
              "contact_name": "Maria Souza", "email": "maria@padaria.com.br"} | changes
    return new_clients.ClientData(**values)


def counts() -> tuple[int, int, int, int]:
    return (db.session.scalar(db.select(db.func.count(Organisation.id))),
            db.session.scalar(db.select(db.func.count(Subscription.id))),
            db.session.scalar(db.select(db.func.count(Membership.id))),
            db.session.scalar(db.select(db.func.count(OutboxMessage.id))))


def test_a_registered_client_is_linked_on_trial_and_invited_to_choose_a_password(office, plans):
    actor = factories.make_member("reseller", "manager", organisation=office).user
    offer = new_clients.check_offer(office, plans["erp"].id, plans["basic"].id, "client")
    client = new_clients.register_client(office, offer, data(), utcnow(), actor)
    assert (client.reseller_id, client.tax_id, client.country) == (office.id, CNPJ, "BR")
    sub = db.session.scalar(db.select(Subscription).filter_by(organisation_id=client.id))
    assert (sub.status, sub.payer_id, sub.discount_bp, sub.plan_id) == ("trial", client.id, 0, plans["basic"].id)
    membership = db.session.scalar(db.select(Membership).filter_by(organisation_id=client.id))
    assert membership.role == "admin" and membership.is_pending and membership.user.email == "maria@padaria.com.br"
    mail = db.session.scalar(db.select(OutboxMessage).filter_by(recipient="maria@padaria.com.br"))
    assert mail.template == "invitation"
    assert db.session.scalar(db.select(AuditEvent).filter_by(action="client_registered")).organisation_id == office.id


def test_a_reseller_that_pays_gets_the_discount_of_the_billing_settings(office, plans):
    settings.set_reseller_discount("40")
    offer = new_clients.check_offer(office, plans["erp"].id, plans["basic"].id, "reseller")
    quote = new_clients.quote(office, offer)
    assert (quote.price, quote.discount_bp, quote.monthly) == (9_990, 4_000, 5_994)
    actor = factories.make_member("reseller", "manager", organisation=office).user
    client = new_clients.register_client(office, offer, data(), utcnow(), actor)
    sub = db.session.scalar(db.select(Subscription).filter_by(organisation_id=client.id))
    assert (sub.payer_id, sub.discount_bp) == (office.id, 4_000)


@pytest.mark.parametrize(("software", "plan", "payer", "code"), [
    ("erp", "other", "client", "other_software"),
    ("erp", None, "client", "invalid_plan"),
    (None, "basic", "client", "invalid_software"),
    ("erp", "basic", "vendor", "invalid_payer"),
])
def test_an_offer_outside_what_is_sold_is_refused(office, plans, software, plan, payer, code):
    with pytest.raises(DomainError) as refused:
        new_clients.check_offer(office, plans[software].id if software else "999999",
                                plans[plan].id if plan else "99999999999", payer)
    assert refused.value.code == code


@pytest.mark.parametrize(("changes", "code"), [
    ({"tax_id": RUT}, "invalid_tax_id"),
    ({"tax_id": "45.398.765/0001-61"}, "invalid_tax_id"),
    ({"email": "gestor@horizonte.com.br"}, "reseller_email"),
    ({"legal_name": "  "}, "invalid_name"),
])
def test_bad_client_data_writes_nothing(office, plans, changes, code):
    actor = factories.make_member("reseller", "manager", organisation=office, email="gestor@horizonte.com.br").user
    db.session.commit()
    before = counts()
    offer = new_clients.check_offer(office, plans["erp"].id, plans["basic"].id, "client")
    with pytest.raises(DomainError) as refused:
        new_clients.register_client(office, offer, data(**changes), utcnow(), actor)
    db.session.rollback()
    assert refused.value.code == code and counts() == before


def test_a_tax_id_already_registered_is_refused(office, plans):
    factories.make_org("customer", "BR", name="Padaria já cadastrada", tax_id=CNPJ)
    with pytest.raises(DomainError) as refused:
        new_clients.check_tax_id("BR", "45.398.765/0001-60")
    assert (refused.value.code, refused.value.status) == ("tax_id_taken", 409)


def test_an_email_that_has_an_account_is_invited_to_accept_never_linked_silently(office, plans):
    someone = factories.make_member("customer", "admin", email="maria@padaria.com.br").user
    actor = factories.make_member("reseller", "manager", organisation=office).user
    offer = new_clients.check_offer(office, plans["erp"].id, plans["basic"].id, "client")
    client = new_clients.register_client(office, offer, data(), utcnow(), actor)
    membership = db.session.scalar(db.select(Membership).filter_by(organisation_id=client.id))
    assert membership.user_id == someone.id and membership.is_pending
    assert db.session.scalar(db.select(OutboxMessage).filter_by(recipient=someone.email)).template == "invitation"


def form(plans, **changes) -> dict:
    return {"payer": "reseller", "software": plans["erp"].id, "plan": plans["basic"].id,
            "legal_name": "Padaria Pão Dourado Ltda", "tax_id": "45.398.765/0001-60", "contact_name": "Maria Souza",
            "email": "maria@padaria.com.br"} | changes


def test_a_manager_sees_the_discounted_price_then_registers(manager, office, plans):
    page = manager.get("/reseller/clients/new/register").get_data(as_text=True)
    assert "Vitrine ERP · Básico" in page and "client's own" in page
    preview = manager.form_post("/reseller/clients/new/register", form(plans, confirm="0"))
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "R$" in text and "50%" in text and "49,95" in text.replace(".", ",")
    assert db.session.scalar(db.select(db.func.count(Organisation.id)).filter_by(kind="customer")) == 0
    done = manager.form_post("/reseller/clients/new/register",
                             form(plans, confirm="1", quoted=f"{plans['basic'].id}:reseller"))
    assert done.status_code == 303
    client = db.session.scalar(db.select(Organisation).filter_by(tax_id=CNPJ))
    assert client.reseller_id == office.id and done.headers["Location"].endswith(f"/reseller/clients/{client.id}")


def test_confirming_another_plan_than_the_one_priced_shows_its_price_first(manager, plans):
    response = manager.form_post("/reseller/clients/new/register",
                                 form(plans, confirm="1", quoted=f"{plans['basic'].id}:client"))
    assert response.status_code == 200 and "You pay per month" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Organisation.id)).filter_by(kind="customer")) == 0


@pytest.mark.parametrize(("changes", "status", "message"), [
    ({"tax_id": RUT}, 422, "CNPJ / CPF"),
    ({"plan": "other"}, 422, "another software"),
    ({"plan": "abc"}, 422, "Choose one of the plans offered."),
])
def test_the_registration_form_says_what_is_wrong(manager, plans, changes, status, message):
    if changes.get("plan") == "other":
        changes["plan"] = plans["other"].id
    response = manager.form_post("/reseller/clients/new/register", form(plans, confirm="1", **changes))
    assert response.status_code == status and message in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Organisation.id)).filter_by(kind="customer")) == 0


def test_accountants_see_no_new_client_and_are_refused(login_as, office, plans):
    accountant = logged_in(login_as, "reseller", "accountant", organisation=office)
    assert "/reseller/clients/new" not in accountant.get("/reseller/").get_data(as_text=True)
    for url in ("/reseller/clients/new", "/reseller/clients/new/register", "/reseller/clients/new/link"):
        assert accountant.get(url).status_code == 403
    assert accountant.form_post("/reseller/clients/new/register", form(plans, confirm="1")).status_code == 403
