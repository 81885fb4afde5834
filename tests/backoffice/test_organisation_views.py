"""The back office's organisations: the list searched by name or tax id and filtered by kind and status (page,
fragment, CSV), an organisation's account, and blocking or unblocking it by hand — staff roles, a note required,
a dunning block left to the payment, bad input refused with a translated message and nothing written."""

import pytest

from portal.extensions import db
from portal.models import AuditEvent, Organisation
from portal.orm import utcnow
from portal.services.accounts import blocking
from tests import factories

ES = {"Accept-Language": "es"}


@pytest.fixture
def staff(login_as):
    def log_in(role="billing"):
        client = login_as("vendor", role)
        db.session.commit()
        return client

    return log_in


@pytest.fixture
def orgs(app):
    made = {
        "aromos": factories.make_org("customer", "CL", name="Panadería Los Aromos SpA", tax_id="77.123.456-9"),
        "horizonte": factories.make_org("reseller", "BR", name="Contabilidade Horizonte Ltda",
                                        tax_id="45.398.765/0001-60"),
        "moderniza": factories.make_org("partner", "BR", name="Moderniza Parceiro Sul Ltda"),
    }
    db.session.commit()
    return made


def _names(response) -> list[str]:
    page = response.get_data(as_text=True)
    return [name for name in ("Panadería Los Aromos SpA", "Contabilidade Horizonte Ltda",
                              "Moderniza Parceiro Sul Ltda") if name in page]


def _refresh(org) -> Organisation:
    db.session.rollback()
    return db.session.get(Organisation, org.id)


def test_staff_find_organisations_by_name_without_accents_by_tax_id_without_punctuation_and_by_kind(staff, orgs):
    client = staff("advisor")
    everyone = client.get("/backoffice/organisations", headers=ES)
    assert everyone.status_code == 200 and "Organizaciones" in everyone.get_data(as_text=True)
    assert _names(everyone) == ["Panadería Los Aromos SpA", "Contabilidade Horizonte Ltda",
                                "Moderniza Parceiro Sul Ltda"]
    assert "Vitrine Software SpA" not in everyone.get_data(as_text=True)  # the vendor is not a listed account
    assert _names(client.get("/backoffice/organisations?q=panaderia")) == ["Panadería Los Aromos SpA"]
    assert _names(client.get("/backoffice/organisations?q=45398765000160")) == ["Contabilidade Horizonte Ltda"]
    assert _names(client.get("/backoffice/organisations?kind=partner")) == ["Moderniza Parceiro Sul Ltda"]
    fragment = client.get("/backoffice/organisations?kind=reseller", headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True) and _names(fragment) == ["Contabilidade Horizonte Ltda"]
    nothing = client.get("/backoffice/organisations?q=zzz", headers=ES).get_data(as_text=True)
    assert "Ninguna organización coincide con esta búsqueda." in nothing
    # An unknown kind or status is no filter, never an error.
    assert len(_names(client.get("/backoffice/organisations?kind=vendor&status=gone"))) == 3


def test_the_list_exports_as_csv_with_the_filters(staff, orgs):
    blocking.block(orgs["aromos"], "unpaid", utcnow())
    db.session.commit()
    response = staff().get("/backoffice/organisations.csv?status=blocked", headers=ES)
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "Panadería Los Aromos SpA" in text and "Contabilidade Horizonte" not in text
    assert text.lstrip("\ufeff").startswith("Nombre,")


def test_billing_staff_block_an_account_with_a_note_and_unblock_it(staff, orgs, login_as):
    client = staff("billing")
    org = orgs["aromos"]
    page = client.get(f"/backoffice/organisations/{org.id}", headers=ES).get_data(as_text=True)
    assert "Bloquear la cuenta" in page and "76.543.210" not in page
    done = client.form_post(f"/backoffice/organisations/{org.id}/block", {"note": "  Contrato   rescindido "},
                            headers=ES)
    assert done.status_code == 303
    org = _refresh(org)
    assert (org.status, org.blocked_reason) == ("blocked", "staff")
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "organisation_blocked"))
    assert event.details == {"reason": "staff", "note": "Contrato rescindido"} and event.actor_id is not None
    page = client.get(f"/backoffice/organisations/{org.id}", headers=ES).get_data(as_text=True)
    assert "Bloqueada por nuestro equipo" in page and "Desbloquear la cuenta" in page
    again = client.form_post(f"/backoffice/organisations/{org.id}/block", {"note": "otra vez"}, headers=ES)
    assert again.status_code == 409 and "ya está bloqueada" in again.get_data(as_text=True)
    lifted = client.form_post(f"/backoffice/organisations/{org.id}/unblock", {}, headers=ES)
    assert lifted.status_code == 303 and _refresh(org).status == "active"
    twice = client.form_post(f"/backoffice/organisations/{org.id}/unblock", {}, headers=ES)
    assert twice.status_code == 409


@pytest.mark.parametrize("note", ["", "   ", "x" * 501])
def test_a_block_needs_a_short_note_and_writes_nothing_without_one(staff, orgs, note):
    client = staff("admin")
    org = orgs["moderniza"]
    response = client.form_post(f"/backoffice/organisations/{org.id}/block", {"note": note}, headers=ES)
    assert response.status_code == 422 and 'role="alert"' in response.get_data(as_text=True)
    assert _refresh(org).status == "active"
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "organisation_blocked")) == 0


def test_a_dunning_block_is_lifted_by_the_payment_not_by_hand_but_a_staff_block_replaces_it(staff, orgs):
    client = staff("billing")
    org = orgs["aromos"]
    blocking.block(org, "unpaid", utcnow())
    db.session.commit()
    page = client.get(f"/backoffice/organisations/{org.id}", headers=ES).get_data(as_text=True)
    assert "se levanta solo" in page and 'id="unblock"' not in page
    refused = client.form_post(f"/backoffice/organisations/{org.id}/unblock", {}, headers=ES)
    assert refused.status_code == 409 and _refresh(org).blocked_reason == "unpaid"
    assert client.form_post(f"/backoffice/organisations/{org.id}/block", {"note": "fraude"}).status_code == 303
    assert _refresh(org).blocked_reason == "staff"


def test_a_resellers_block_is_lifted_by_staff(staff, orgs):
    reseller = factories.make_org("reseller", "CL")
    client_org = factories.make_org("customer", "CL", reseller_id=reseller.id)
    blocking.block_client(reseller, client_org, utcnow())
    db.session.commit()
    assert staff().form_post(f"/backoffice/organisations/{client_org.id}/unblock", {}).status_code == 303
    assert _refresh(client_org).status == "active"


def test_an_advisor_reads_the_account_but_blocks_nothing(staff, orgs):
    client = staff("advisor")
    org = orgs["aromos"]
    page = client.get(f"/backoffice/organisations/{org.id}", headers=ES).get_data(as_text=True)
    assert 'id="block"' not in page and "puede bloquearla" in page
    assert client.form_post(f"/backoffice/organisations/{org.id}/block", {"note": "x"}).status_code == 403
    assert _refresh(org).status == "active"


def test_the_vendor_and_an_unknown_id_are_not_accounts(staff, orgs):
    client = staff()
    vendor = db.session.scalar(db.select(Organisation).where(Organisation.kind == "vendor"))
    assert client.get(f"/backoffice/organisations/{vendor.id}").status_code == 404
    assert client.get("/backoffice/organisations/999999").status_code == 404
    assert client.form_post(f"/backoffice/organisations/{vendor.id}/block", {"note": "x"}).status_code == 404


def test_the_blocked_customer_sees_the_banner_and_gets_it_back_when_unblocked(staff, orgs, login_as):
    customer = login_as("customer", "admin")
    org = db.session.merge(customer.organisation)
    db.session.commit()
    client = staff()
    client.form_post(f"/backoffice/organisations/{org.id}/block", {"note": "Contrato rescindido"})
    assert 'id="blocked-banner"' in customer.get("/customer/invoices").get_data(as_text=True)
    client.form_post(f"/backoffice/organisations/{org.id}/unblock", {})
    assert 'id="blocked-banner"' not in customer.get("/customer/invoices").get_data(as_text=True)
