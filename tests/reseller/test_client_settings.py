"""Manage a client: its page and its four settings tabs, managers only, only the reseller's own clients."""

import io

import pytest

from portal.extensions import db
from portal.models import AuditEvent, ClientCertificate, IntegrationKey, Subscription
from portal.services.accounts import integration
from tests import factories
from tests.pfx import PASSWORD, make_pfx
from tests.reseller.helpers import logged_in, make_client

CNPJ = "45398765000160"


@pytest.fixture
def padaria(manager):
    office = db.session.merge(manager.organisation)
    found = make_client(office, "Padaria Pão Dourado Ltda", tax_id=CNPJ)
    db.session.commit()
    return found


def text_of(response) -> str:
    return response.get_data(as_text=True)


def csrf(client, url: str) -> str:
    page = text_of(client.get(url))
    return page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def upload(manager, client_id: int, data: bytes, password: str = PASSWORD, htmx: bool = False):
    url = f"/reseller/clients/{client_id}/settings/certificate"
    headers = {"HX-Request": "true"} if htmx else {}
    return manager.post(url, data={"csrf_token": csrf(manager, url), "password": password,
                                   "pfx": (io.BytesIO(data), "certificado.pfx")},
                        content_type="multipart/form-data", headers=headers)


def test_the_list_links_each_client_to_manage_it_for_managers_only(manager, padaria, login_as):
    assert f'/reseller/clients/{padaria.id}"' in text_of(manager.get("/reseller/"))
    accountant = logged_in(login_as, "reseller", "accountant", organisation=db.session.merge(manager.organisation))
    page = text_of(accountant.get("/reseller/"))
    assert "Padaria Pão Dourado Ltda" in page and f"/reseller/clients/{padaria.id}" not in page
    assert accountant.get(f"/reseller/clients/{padaria.id}").status_code == 403
    assert accountant.get(f"/reseller/clients/{padaria.id}/settings/certificate").status_code == 403


def test_each_tab_is_a_page_and_an_htmx_dialog_with_its_tab_bar(manager, padaria):
    for tab in ("certificate", "integration", "contract", "software"):
        url = f"/reseller/clients/{padaria.id}/settings/{tab}"
        page, fragment = text_of(manager.get(url)), text_of(manager.get(url, headers={"HX-Request": "true"}))
        assert "<html" in page and "<html" not in fragment
        assert 'role="dialog"' in fragment and 'aria-modal="true"' in fragment
        for other in ("certificate", "integration", "contract", "software"):
            assert f"/settings/{other}" in fragment
        assert fragment.count('aria-current="page"') == 1
    assert manager.get(f"/reseller/clients/{padaria.id}/settings/nothing").status_code == 404


def test_a_valid_certificate_is_congratulated_and_kept(manager, padaria):
    response = upload(manager, padaria.id, make_pfx(CNPJ), htmx=True)
    assert response.status_code == 200
    assert "Congratulations!" in text_of(response) and "AC TESTE RFB v5" in text_of(response)
    assert db.session.scalar(db.select(ClientCertificate.tax_id)) == CNPJ
    assert db.session.scalar(db.select(AuditEvent.action).where(AuditEvent.action == "certificate_uploaded"))


def test_without_javascript_a_saved_certificate_redirects_to_its_tab(manager, padaria):
    response = upload(manager, padaria.id, make_pfx(CNPJ))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/reseller/clients/{padaria.id}/settings/certificate")


@pytest.mark.parametrize(("data", "password", "words"), [
    (lambda: make_pfx(CNPJ), "errada", "A senha não abre este certificado"),
    (lambda: make_pfx(CNPJ, days_left=-2), "segredo-123", "Este certificado venceu em"),
    (lambda: make_pfx("11222333000181"), "segredo-123", "pertence a outro titular"),
    (lambda: b"not a certificate at all", "segredo-123", "não é um certificado PFX"),
])
def test_a_refused_certificate_is_a_translated_422_and_nothing_is_kept(manager, padaria, data, password, words):
    url = f"/reseller/clients/{padaria.id}/settings/certificate"
    manager.get(url, headers={"Accept-Language": "pt-BR"})
    response = manager.post(url, data={"csrf_token": csrf(manager, url), "password": password,
                                       "pfx": (io.BytesIO(data()), "c.pfx")},
                            content_type="multipart/form-data", headers={"Accept-Language": "pt-BR"})
    assert response.status_code == 422 and words in text_of(response), text_of(response)
    assert db.session.scalar(db.select(db.func.count()).select_from(ClientCertificate)) == 0


def test_a_20_mb_upload_is_refused_before_it_is_read(manager, padaria):
    response = upload(manager, padaria.id, b"\0" * (20 * 1024 * 1024))
    assert response.status_code == 413
    assert db.session.scalar(db.select(db.func.count()).select_from(ClientCertificate)) == 0


def test_the_integration_key_is_masked_revealed_and_regenerated(manager, padaria):
    old = integration.generate_key(db.session.merge(padaria), None)
    db.session.commit()
    url = f"/reseller/clients/{padaria.id}/settings/integration"
    page = text_of(manager.get(url))
    assert old not in page and old[:12] in page
    shown = manager.post(f"{url}/reveal", data={"csrf_token": csrf(manager, url)}, headers={"HX-Request": "true"})
    assert old in text_of(shown)
    confirm = text_of(manager.get(f"{url}/generate"))
    assert "stops working at once" in confirm and integration.organisation_for_key(old) is not None
    manager.post(f"{url}/generate", data={"csrf_token": csrf(manager, url)})
    db.session.expire_all()
    assert integration.organisation_for_key(old) is None
    assert db.session.scalar(db.select(db.func.count()).select_from(IntegrationKey)) == 1


def test_the_contract_tab_changes_who_pays_through_the_subscriptions_service(manager, padaria):
    url = f"/reseller/clients/{padaria.id}/settings/contract"
    response = manager.post(url, data={"csrf_token": csrf(manager, url), "status": "active", "payer": "reseller"},
                            headers={"HX-Request": "true"})
    assert response.status_code == 200 and "The contract was saved." in text_of(response)
    sub = db.session.scalar(db.select(Subscription).where(Subscription.organisation_id == padaria.id))
    assert sub.payer_id == manager.organisation.id and sub.discount_bp == 5000
    bad = manager.post(url, data={"csrf_token": csrf(manager, url), "status": "active", "payer": "somebody"})
    assert bad.status_code == 422 and "Choose who pays" in text_of(bad)
    unknown = manager.post(url, data={"csrf_token": csrf(manager, url), "status": "deleted", "payer": "client"})
    assert unknown.status_code == 422 and "status from the list" in text_of(unknown)


def test_blocking_a_client_shares_the_one_blocked_state_and_setting_it_back_lifts_it(manager, padaria):
    from portal.models import Organisation

    url = f"/reseller/clients/{padaria.id}/settings/contract"
    key = integration.generate_key(db.session.merge(padaria), None)
    db.session.commit()
    blocked = manager.post(url, data={"csrf_token": csrf(manager, url), "status": "blocked", "payer": "client"})
    assert blocked.status_code == 303
    db.session.expire_all()
    client = db.session.get(Organisation, padaria.id)
    assert (client.status, client.blocked_reason) == ("blocked", "reseller")
    assert manager.application.test_client().get("/api/v1/me", headers={"X-Api-Key": key}).status_code == 403
    assert ">Blocked</span>" in text_of(manager.get("/reseller/", query_string={"status": "blocked"}))
    manager.post(url, data={"csrf_token": csrf(manager, url), "status": "active", "payer": "client"})
    db.session.expire_all()
    assert db.session.get(Organisation, padaria.id).status == "active"
    actions = set(db.session.scalars(db.select(AuditEvent.action).where(AuditEvent.organisation_id == padaria.id)))
    assert {"organisation_blocked", "organisation_unblocked", "client_contract_changed"} <= actions


def test_an_unpaid_block_is_not_lifted_by_the_reseller(manager, padaria):
    from portal.models import Organisation
    from portal.orm import utcnow
    from portal.services.accounts import blocking

    blocking.block(db.session.merge(padaria), "unpaid", utcnow())
    db.session.commit()
    url = f"/reseller/clients/{padaria.id}/settings/contract"
    response = manager.post(url, data={"csrf_token": csrf(manager, url), "status": "active", "payer": "client"})
    assert response.status_code == 422 and "overdue" in text_of(response)
    db.session.expire_all()
    assert db.session.get(Organisation, padaria.id).blocked_reason == "unpaid"


def test_cancelling_ends_the_plan_at_the_end_of_its_period(manager, padaria):
    url = f"/reseller/clients/{padaria.id}/settings/contract"
    manager.post(url, data={"csrf_token": csrf(manager, url), "status": "cancelled", "payer": "client"})
    db.session.expire_all()
    sub = db.session.scalar(db.select(Subscription).where(Subscription.organisation_id == padaria.id))
    assert sub.cancel_at_period_end


def test_the_software_tab_previews_the_proration_then_changes_the_plan(manager, padaria):
    sub = db.session.scalar(db.select(Subscription).where(Subscription.organisation_id == padaria.id))
    bigger = factories.make_product("plan", software=sub.plan.software, name="Diamante",
                                    prices=(("BRL", "monthly", 29_990, 0),))
    db.session.commit()
    url = f"/reseller/clients/{padaria.id}/settings/software"
    preview = manager.post(url, data={"csrf_token": csrf(manager, url), "plan": str(bigger.id)})
    assert preview.status_code == 200 and "starts now" in text_of(preview) and "Save software" in text_of(preview)
    db.session.expire_all()
    assert db.session.get(Subscription, sub.id).plan_id != bigger.id
    done = manager.post(url, data={"csrf_token": csrf(manager, url), "plan": str(bigger.id), "confirm": "1"})
    assert done.status_code == 303
    db.session.expire_all()
    assert db.session.get(Subscription, sub.id).plan_id == bigger.id


def test_a_plan_of_another_software_is_refused(manager, padaria):
    other = factories.make_product("plan", name="Outro", prices=(("BRL", "monthly", 9_990, 0),))
    db.session.commit()
    url = f"/reseller/clients/{padaria.id}/settings/software"
    response = manager.post(url, data={"csrf_token": csrf(manager, url), "plan": str(other.id), "confirm": "1"})
    assert response.status_code == 422


def test_another_resellers_client_is_not_found(manager):
    stranger = make_client(factories.make_org("reseller", "BR"), "Empresa de Outro Ltda")
    db.session.commit()
    assert manager.get(f"/reseller/clients/{stranger.id}").status_code == 404
    assert manager.get(f"/reseller/clients/{stranger.id}/settings/contract").status_code == 404
