"""The organisation screen: people and roles, billing data (CFDI fields in Mexico), the accountant, the software
links; administrators change, members read (no buttons, and the endpoints refuse)."""

import pytest

from portal.extensions import db
from portal.models import AuditEvent, Membership, Organisation
from portal.services.accounts import accountants
from tests import factories

URL = "/customer/organisation"
BILLING_CL = {"legal_name": "Aromos Comercial Ltda.", "trade_name": "Aromos", "tax_id": "76.086.428-5",
              "address": "Av. Apoquindo 3000, Las Condes, Santiago",
              "invoice_emails": "pagos@aromos.cl, Conta@Aromos.cl"}


def _org(client) -> Organisation:
    db.session.rollback()
    return db.session.get(Organisation, client.organisation.id)


def _changes(org) -> list[str]:
    return list(db.session.scalars(db.select(AuditEvent.action).where(
        AuditEvent.organisation_id == org.id, AuditEvent.action.not_in(("login", "logout")))))


def test_the_admin_sees_every_part_with_its_buttons(login_as):
    admin = login_as("customer", "admin")
    factories.make_member("customer", "member", organisation=db.session.merge(admin.organisation),
                          email="caja@aromos.cl")
    db.session.commit()
    page = admin.get(URL, headers={"Accept-Language": "es"}).get_data(as_text=True)
    for text in ("Mi organización", "Usuarios", "caja@aromos.cl", "Traspasar el rol de administrador",
                 "Datos de facturación", "Guardar datos de facturación", "Tu contador", "Abrir mi software"):
        assert text in page, text


def test_a_member_reads_without_buttons_and_every_change_is_refused(login_as):
    member = login_as("customer", "member")
    page = member.get(URL).get_data(as_text=True)
    assert "Billing data" in page and "Save billing data" not in page and "Hand over" not in page
    assert 'name="role"' not in page and "Invite a person" not in page
    admin = factories.make_member("customer", "admin", organisation=db.session.merge(member.organisation))
    db.session.commit()
    for url, data in ((URL + "/billing", BILLING_CL), (URL + "/accountant", {"accountant_email": "c@estudio.cl"}),
                      (f"{URL}/members/{admin.id}/role", {"role": "member"}),
                      (f"{URL}/members/{admin.id}/remove", {}), (f"{URL}/members/{member.membership.id}/admin", {})):
        assert member.form_post(url, data).status_code == 403, url
    assert _org(member).name != BILLING_CL["legal_name"]
    assert db.session.get(Membership, admin.id).role == "admin"


def test_the_admin_saves_the_billing_data(login_as):
    admin = login_as("customer", "admin")
    response = admin.form_post(URL + "/billing", BILLING_CL)
    assert response.status_code == 303
    org = _org(admin)
    assert (org.name, org.trade_name, org.tax_id) == ("Aromos Comercial Ltda.", "Aromos", "760864285")
    assert org.invoice_emails == ["pagos@aromos.cl", "conta@aromos.cl"]
    assert "The billing data were saved." in admin.get(URL).get_data(as_text=True)
    assert _changes(org) == ["billing_data_updated"]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("tax_id", "76.086.428-4", "check digit is wrong"),
    ("tax_id", "ALE120315KT1", "RUT"),  # a Mexican RFC for a Chilean company
    ("legal_name", "   ", "Enter the legal name."),
    ("address", "", "Enter the fiscal address."),
    ("invoice_emails", "pagos@aromos.cl, no-es-correo", "no-es-correo is not a valid e-mail address."),
    ("invoice_emails", ",".join(f"p{n}@aromos.cl" for n in range(6)), "at most 5"),
    ("legal_name", "x" * 201, "200"),
])
def test_bad_billing_data_is_a_translated_422_that_writes_nothing(login_as, field, value, message):
    admin = login_as("customer", "admin")
    before = _org(admin).name
    response = admin.form_post(URL + "/billing", {**BILLING_CL, field: value}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _org(admin).name == before
    assert _changes(_org(admin)) == []


def test_bad_billing_data_in_spanish(login_as):
    admin = login_as("customer", "admin")
    response = admin.form_post(URL + "/billing", {**BILLING_CL, "tax_id": "123"}, headers={"Accept-Language": "es"})
    assert response.status_code == 422 and "RUT" in response.get_data(as_text=True)
    assert "Datos de facturación" in response.get_data(as_text=True)


def test_a_tax_id_of_another_organisation_is_refused(login_as):
    admin = login_as("customer", "admin")
    factories.make_org("customer", tax_id="76.086.428-5")
    db.session.commit()
    response = admin.form_post(URL + "/billing", BILLING_CL)
    assert response.status_code == 422 and "already has this tax id" in response.get_data(as_text=True)


MX = {"legal_name": "Abarrotes La Esperanza", "trade_name": "", "tax_id": "ALE120315KT1",
      "address": "Av. Juárez 100, Centro, CDMX", "invoice_emails": "", "tax_regime": "601", "postal_code": "06000",
      "cfdi_use": "G03"}


def test_a_mexican_organisation_gives_the_cfdi_fields(login_as):
    admin = login_as("customer", "admin", organisation=factories.make_org("customer", "MX"))
    page = admin.get(URL, headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Régimen fiscal" in page and "Uso CFDI" in page and "626 — Régimen Simplificado de Confianza" in page
    assert admin.form_post(URL + "/billing", MX).status_code == 303
    org = _org(admin)
    assert (org.tax_id, org.tax_regime, org.postal_code, org.cfdi_use) == ("ALE120315KT1", "601", "06000", "G03")


@pytest.mark.parametrize(("field", "value"), [("tax_regime", ""), ("tax_regime", "999"), ("postal_code", "0600"),
                                              ("postal_code", "06OOO"), ("cfdi_use", "P01"), ("cfdi_use", "")])
def test_bad_cfdi_fields_are_refused(login_as, field, value):
    admin = login_as("customer", "admin", organisation=factories.make_org("customer", "MX"))
    assert admin.form_post(URL + "/billing", {**MX, field: value}).status_code == 422
    assert _org(admin).tax_regime is None


def test_a_chilean_organisation_is_not_asked_for_cfdi_fields(login_as):
    admin = login_as("customer", "admin")
    assert "Uso CFDI" not in admin.get(URL).get_data(as_text=True)
    assert admin.form_post(URL + "/billing", {**BILLING_CL, "cfdi_use": "nonsense"}).status_code == 303
    assert _org(admin).cfdi_use is None


def test_the_accountant_email_links_the_reseller(login_as):
    admin = login_as("customer", "admin")
    reseller = factories.make_org("reseller", name="Estudio Contable Sur")
    accountants.link_email(reseller, "contador@estudio.cl", None)
    db.session.commit()
    response = admin.form_post(URL + "/accountant", {"accountant_email": "Contador@estudio.cl"})
    assert response.status_code == 303
    assert _org(admin).reseller_id == reseller.id
    page = admin.get(URL).get_data(as_text=True)
    assert "Estudio Contable Sur is now your reseller" in page and "Your reseller: Estudio Contable Sur" in page


def test_a_bad_accountant_email_is_refused(login_as):
    admin = login_as("customer", "admin")
    response = admin.form_post(URL + "/accountant", {"accountant_email": "contador arroba estudio"},
                               headers={"HX-Request": "true", "Accept-Language": "pt-BR"})
    assert response.status_code == 422 and "não é válido" in response.get_data(as_text=True)
    assert _org(admin).accountant_email is None


def test_the_admin_changes_a_role_and_the_last_admin_stays(login_as):
    admin = login_as("customer", "admin")
    member = factories.make_member("customer", "member", organisation=db.session.merge(admin.organisation))
    db.session.commit()
    assert admin.form_post(f"{URL}/members/{member.id}/role", {"role": "admin"}).status_code == 303
    assert admin.form_post(f"{URL}/members/{member.id}/role", {"role": "owner"}).status_code == 422
    assert db.session.get(Membership, member.id).role == "admin"
    # Both admins now: the other one demotes this admin; then this one (now the last) cannot be demoted.
    assert admin.form_post(f"{URL}/members/{admin.membership.id}/role", {"role": "member"}).status_code == 303
    db.session.rollback()
    org = db.session.get(Organisation, admin.organisation.id)
    other = factories.make_member("customer", "member", organisation=org)
    db.session.commit()
    response = admin.form_post(f"{URL}/members/{other.id}/role", {"role": "admin"})
    assert response.status_code == 403  # the admin demoted themselves: a member now


def test_the_last_admin_cannot_leave(login_as):
    admin = login_as("customer", "admin")
    response = admin.form_post(f"{URL}/members/{admin.membership.id}/remove", headers={"Accept-Language": "es"})
    assert response.status_code == 409 and "al menos un administrador" in response.get_data(as_text=True)
    assert db.session.get(Membership, admin.membership.id) is not None


def test_removing_asks_first_then_removes(login_as):
    admin = login_as("customer", "admin")
    member_id = factories.make_member("customer", "member", organisation=db.session.merge(admin.organisation)).id
    db.session.commit()
    ask = admin.get(f"{URL}/members/{member_id}/remove").get_data(as_text=True)
    assert "will no longer act for this organisation" in ask
    assert db.session.get(Membership, member_id) is not None
    assert admin.form_post(f"{URL}/members/{member_id}/remove").status_code == 303
    db.session.rollback()
    assert db.session.get(Membership, member_id) is None


def test_handing_over_the_admin_role(login_as):
    admin = login_as("customer", "admin")
    member = factories.make_member("customer", "member", organisation=db.session.merge(admin.organisation))
    db.session.commit()
    assert "becomes an administrator" in admin.get(f"{URL}/members/{member.id}/admin").get_data(as_text=True)
    assert admin.form_post(f"{URL}/members/{member.id}/admin").status_code == 303
    db.session.rollback()
    assert db.session.get(Membership, member.id).role == "admin"
    assert db.session.get(Membership, admin.membership.id).role == "member"
    page = admin.get(URL).get_data(as_text=True)
    assert "is now the administrator" in page and "Save billing data" not in page


def test_the_software_subscribed_is_linked(app):
    from portal.services.catalog.software import update_software
    from tests.services.store_helpers import make_store

    store = make_store()
    software = store.cat.basic.software
    update_software(software, "Vitrine ERP", "https://erp.vitrine.cl/entrar", names={"es": {"name": "ERP Vitrine"}})
    db.session.commit()
    client = app.test_client()
    client.login(store.admin.email)
    page = client.get(URL, headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert 'href="https://erp.vitrine.cl/entrar"' in page and "Abrir ERP Vitrine" in page


def test_retired_or_unsubscribed_software_is_not_linked(app):
    from portal.services.catalog.software import subscribed_software
    from tests.services.store_helpers import make_store

    store = make_store()
    assert subscribed_software(store.org.id) == [store.cat.basic.software]
    assert subscribed_software(factories.make_org("customer").id) == []
    store.sub.status = "cancelled"
    db.session.flush()
    assert subscribed_software(store.org.id) == []
