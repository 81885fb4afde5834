"""My data > E-mails: managers link and remove e-mails; a customer naming one as its accountant joins the reseller."""

from portal.extensions import db
from portal.models import Organisation, ResellerEmail
from portal.services.accounts import accountants
from tests import factories
from tests.reseller.helpers import logged_in


def csrf(client, url: str) -> str:
    page = client.get(url).get_data(as_text=True)
    return page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def test_a_manager_links_an_email_and_a_customer_naming_it_joins(login_as):
    manager = logged_in(login_as, "reseller", "manager", organisation=factories.make_org("reseller", "BR"))
    url = "/reseller/my-data/emails"
    response = manager.post(url, data={"csrf_token": csrf(manager, url), "email": "Escritorio@Horizonte.com.br"})
    assert response.status_code == 303
    assert "escritorio@horizonte.com.br" in manager.get(url).get_data(as_text=True)
    customer = factories.make_org("customer", "BR")
    accountants.set_accountant_email(customer, "escritorio@horizonte.com.br", None)
    db.session.commit()
    assert db.session.get(Organisation, customer.id).reseller_id == manager.organisation.id
    linked = db.session.scalar(db.select(ResellerEmail))
    removed = manager.post(f"{url}/{linked.id}/remove", data={"csrf_token": csrf(manager, url)})
    assert removed.status_code == 303
    assert db.session.scalar(db.select(db.func.count()).select_from(ResellerEmail)) == 0


def test_an_email_of_another_reseller_is_a_translated_409_and_nothing_is_written(login_as):
    other = factories.make_org("reseller", "BR")
    accountants.link_email(other, "contato@outro.com.br", None)
    manager = logged_in(login_as, "reseller", "manager", organisation=factories.make_org("reseller", "BR"))
    url = "/reseller/my-data/emails"
    response = manager.post(url, data={"csrf_token": csrf(manager, url), "email": "contato@outro.com.br"},
                            headers={"Accept-Language": "pt-BR"})
    assert response.status_code == 409 and "outra revenda" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(ResellerEmail)) == 1


def test_an_accountant_reads_the_emails_and_cannot_change_them(login_as):
    office = factories.make_org("reseller", "BR")
    linked = accountants.link_email(office, "contato@horizonte.com.br", None)
    accountant = logged_in(login_as, "reseller", "accountant", organisation=office)
    page = accountant.get("/reseller/my-data/emails").get_data(as_text=True)
    assert "contato@horizonte.com.br" in page and "/remove" not in page
    token = csrf(accountant, "/account/password")
    response = accountant.post(f"/reseller/my-data/emails/{linked.id}/remove", data={"csrf_token": token})
    assert response.status_code == 403


# My data > Basics ("Básicos"): legal name, trade name, tax id, phone and address.

BASICS = "/reseller/my-data"


def _basics(**changes) -> dict:
    return {"legal_name": "Contabilidade Horizonte Ltda", "trade_name": "Horizonte", "tax_id": "45398765000160",
            "phone": "+55 11 3456-7890", "address": "Rua Augusta 1500, São Paulo - SP"} | changes


def _actions(org) -> list[str]:
    from portal.models import AuditEvent

    return list(db.session.scalars(db.select(AuditEvent.action).filter_by(organisation_id=org.id)
                                   .order_by(AuditEvent.id)))


def test_a_manager_saves_the_basics_and_the_tax_id_is_kept_in_its_country_s_form(login_as):
    manager = logged_in(login_as, "reseller", "manager", organisation=factories.make_org("reseller", "BR"))
    response = manager.post(BASICS, data={"csrf_token": csrf(manager, BASICS)} | _basics(),
                            headers={"Accept-Language": "pt-BR"})
    assert response.status_code == 303
    org = db.session.get(Organisation, manager.organisation.id)
    assert (org.name, org.trade_name, org.tax_id, org.phone, org.address) == (
        "Contabilidade Horizonte Ltda", "Horizonte", "45398765000160", "+55 11 3456-7890",
        "Rua Augusta 1500, São Paulo - SP")
    assert _actions(org)[-1] == "reseller_basics_updated"
    page = manager.get(BASICS, headers={"Accept-Language": "pt-BR"}).get_data(as_text=True)
    assert "Seus dados foram salvos." in page and "45.398.765/0001-60" in page and "Básicos" in page
    again = manager.post(BASICS, data={"csrf_token": csrf(manager, BASICS)} | _basics())
    assert again.status_code == 303 and _actions(org).count("reseller_basics_updated") == 1  # nothing changed


def test_a_bad_tax_id_is_a_translated_422_that_writes_nothing(login_as):
    manager = logged_in(login_as, "reseller", "manager", organisation=factories.make_org("reseller", "BR"))
    before = db.session.get(Organisation, manager.organisation.id).name
    response = manager.post(BASICS, data={"csrf_token": csrf(manager, BASICS)} | _basics(tax_id="45398765000161"),
                            headers={"Accept-Language": "pt-BR"})
    assert response.status_code == 422
    assert "O dígito verificador do CNPJ" in response.get_data(as_text=True)
    db.session.expire_all()
    org = db.session.get(Organisation, manager.organisation.id)
    assert org.name == before and org.phone is None and "reseller_basics_updated" not in _actions(org)


def test_a_chilean_reseller_s_tax_id_is_a_rut_and_its_messages_are_spanish(login_as):
    manager = logged_in(login_as, "reseller", "manager", organisation=factories.make_org("reseller", "CL"))
    bad = manager.post(BASICS, data={"csrf_token": csrf(manager, BASICS)} | _basics(tax_id="76.086.428-4"),
                       headers={"Accept-Language": "es"})
    assert bad.status_code == 422 and "RUT" in bad.get_data(as_text=True)
    good = manager.post(BASICS, data={"csrf_token": csrf(manager, BASICS)} | _basics(tax_id="76.086.428-5",
                        phone="+56 2 2345 6789"), headers={"Accept-Language": "es"})
    assert good.status_code == 303
    assert db.session.get(Organisation, manager.organisation.id).tax_id == "760864285"


def test_another_organisation_s_tax_id_is_a_409_and_a_bad_phone_a_422(login_as):
    factories.make_org("customer", "BR", tax_id="45398765000160")
    manager = logged_in(login_as, "reseller", "manager", organisation=factories.make_org("reseller", "BR"))
    taken = manager.post(BASICS, data={"csrf_token": csrf(manager, BASICS)} | _basics(),
                         headers={"Accept-Language": "pt-BR"})
    assert taken.status_code == 409 and "Outra organização já tem este número fiscal." in taken.get_data(as_text=True)
    for phone in ("12345", "call me", "+55 11 3456-7890 ramal 12", "1" * 16):
        refused = manager.post(BASICS, data={"csrf_token": csrf(manager, BASICS)}
                               | _basics(tax_id="11222333000181", phone=phone), headers={"HX-Request": "true"})
        assert refused.status_code == 422 and 'id="basics_form"' in refused.get_data(as_text=True)
        assert "<html" not in refused.get_data(as_text=True)  # htmx gets the form alone
    db.session.expire_all()
    assert "reseller_basics_updated" not in _actions(manager.organisation)


def test_an_accountant_reads_the_basics_and_cannot_change_them(login_as):
    office = factories.make_org("reseller", "BR", phone="+55 11 3456-7890")
    accountant = logged_in(login_as, "reseller", "accountant", organisation=office)
    page = accountant.get(BASICS).get_data(as_text=True)
    assert "+55 11 3456-7890" in page and 'id="basics_form"' not in page
    token = csrf(accountant, "/account/password")
    assert accountant.post(BASICS, data={"csrf_token": token} | _basics()).status_code == 403
