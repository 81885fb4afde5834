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
