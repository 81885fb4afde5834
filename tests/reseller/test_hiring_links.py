"""A reseller's hiring link ("Enviar link de contratação"): signed, valid for 14 days, used once; the client who
opens it signs up on trial of the plan offered, linked to the reseller, paid by the reseller at the reseller
discount when it said so. A forged, tampered, expired or used link is refused with nothing written."""

import re
import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from portal.extensions import db
from portal.models import HiringLinkUse, Organisation, OutboxMessage, SignUp, Subscription
from portal.orm import utcnow
from portal.services.errors import DomainError
from portal.services.resellers import hiring_links, new_clients
from tests import factories
from tests.reseller.helpers import logged_in

CNPJ = "45.398.765/0001-60"


@pytest.fixture
def plan(app):
    erp = factories.make_software(name="Vitrine ERP")
    found = factories.make_product("plan", software=erp, name="Básico", prices=(("BRL", "monthly", 9_990, 0),))
    db.session.commit()
    return found


@pytest.fixture
def manager(login_as, office):
    return logged_in(login_as, "reseller", "manager", organisation=office)


def make_link(office, plan, payer="reseller") -> str:
    offer = new_clients.check_offer(office, plan.software_id, plan.id, payer)
    token, _expires = hiring_links.issue_link(office, offer, utcnow())
    db.session.commit()
    return token


def sign_up(client, token: str, email: str = "maria@padaria.com.br", tax_id: str = CNPJ):
    return client.form_post(f"/signup?hire={token}", {
        "hire": token, "email": email, "name": "Maria Souza", "password": "uma senha bem longa",
        "organisation": "Padaria Pão Dourado Ltda", "country": "BR", "tax_id": tax_id})


def confirm(client, email: str = "maria@padaria.com.br"):
    mail = db.session.scalar(db.select(OutboxMessage).filter_by(recipient=email, template="signup_confirm"))
    path = re.search(r"(/signup/confirm/[\w\-.]+)", mail.text_body).group(1)
    return client.form_post(path, {})


def test_a_manager_makes_a_link_to_copy_share_and_email(manager, office, plan):
    page = manager.get("/reseller/clients/new/link").get_data(as_text=True)
    assert "Vitrine ERP · Básico" in page
    made = manager.form_post("/reseller/clients/new/link", {"payer": "reseller", "software": plan.software_id,
                                                             "plan": plan.id})
    text = made.get_data(as_text=True)
    token = re.search(r"/signup\?hire=([\w\-.]+)", text).group(1)
    assert made.status_code == 200 and "https://wa.me/?text=" in text and "sms:?body=" in text
    assert "49.95" in text and "You pay per month" in text
    valid_until = re.search(r"Valid until [^<]+", text).group(0)
    sent = manager.form_post("/reseller/clients/new/link/email", {"token": token, "email": "Maria@Padaria.com.br"})
    assert sent.status_code == 200 and "The link was sent to maria@padaria.com.br." in sent.get_data(as_text=True)
    assert valid_until in sent.get_data(as_text=True)  # the page still says until when the link works
    mail = db.session.scalar(db.select(OutboxMessage).filter_by(template="hiring_link"))
    assert mail.recipient == "maria@padaria.com.br" and f"hire={token}" in mail.text_body


def test_an_email_to_nowhere_is_refused_and_nothing_sent(manager, office, plan):
    token = make_link(office, plan)
    sent = manager.form_post("/reseller/clients/new/link/email", {"token": token, "email": "not an address"})
    assert sent.status_code == 422 and "Enter the client&#39;s e-mail." in sent.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == 0


def test_the_client_signs_up_through_the_link_on_trial_paid_by_the_reseller(client, office, plan):
    token = make_link(office, plan, payer="reseller")
    form = client.get(f"/signup?hire={token}").get_data(as_text=True)
    assert "Contabilidade Horizonte Ltda invites you" in form and "pays the monthly fee" in form
    assert 'value="CL"' not in form and 'value="BR"' in form
    assert sign_up(client, token).status_code == 303
    assert db.session.scalar(db.select(SignUp)).reseller_id == office.id
    assert confirm(client).status_code == 303
    org = db.session.scalar(db.select(Organisation).filter_by(tax_id="45398765000160"))
    sub = db.session.scalar(db.select(Subscription).filter_by(organisation_id=org.id))
    assert org.reseller_id == office.id
    assert (sub.plan_id, sub.status, sub.payer_id, sub.discount_bp) == (plan.id, "trial", office.id, 5_000)
    assert db.session.scalar(db.select(HiringLinkUse)).organisation_id == org.id


def test_a_used_link_is_refused(client, app, office, plan):
    token = make_link(office, plan, payer="client")
    sign_up(client, token)
    confirm(client)
    again = app.test_client().get(f"/signup?hire={token}")
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)


def test_two_sign_ups_from_one_link_create_one_client(client, app, office, plan):
    token = make_link(office, plan, payer="client")
    other = app.test_client()
    sign_up(client, token)
    sign_up(other, token, email="joao@mercado.com.br", tax_id="11.222.333/0001-81")
    confirm(client)
    refused = confirm(other, "joao@mercado.com.br")
    assert refused.status_code == 410
    assert db.session.scalar(db.select(db.func.count(Organisation.id)).filter_by(reseller_id=office.id)) == 1


def test_a_tampered_link_is_refused(client, office, plan):
    token = make_link(office, plan, payer="client")
    payload, rest = token.split(".", 1)
    forged = URLSafeTimedSerializer("not the secret", salt=hiring_links.SALT).dumps(
        {"r": office.id, "p": plan.id, "w": "r", "j": "x"})
    for bad in (payload[:-2] + "AA." + rest, forged, "nonsense"):
        response = client.get(f"/signup?hire={bad}")
        assert response.status_code == 404 and "not valid" in response.get_data(as_text=True)
    assert sign_up(client, forged).status_code == 404
    assert db.session.scalar(db.select(db.func.count(SignUp.id))) == 0


class FifteenDaysAgo(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 15 * 86_400


def test_an_expired_link_is_refused(app, client, office, plan):
    token = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=hiring_links.SALT, signer=FifteenDaysAgo).dumps(
        {"r": office.id, "p": plan.id, "w": "c", "j": "old-link"})
    response = client.get(f"/signup?hire={token}")
    assert response.status_code == 410 and "expired" in response.get_data(as_text=True)
    assert sign_up(client, token).status_code == 410
    assert db.session.scalar(db.select(db.func.count(SignUp.id))) == 0


def test_a_link_whose_plan_is_retired_is_refused(app, office, plan):
    token = make_link(office, plan)
    plan.retired_at = utcnow()
    db.session.flush()
    with pytest.raises(DomainError) as refused:
        hiring_links.read_link(token)
    assert refused.value.code == "plan_gone"


def test_another_resellers_link_cannot_be_emailed(manager, plan):
    other = factories.make_org("reseller", "BR")
    db.session.commit()
    token = make_link(other, plan)
    response = manager.form_post("/reseller/clients/new/link/email", {"token": token, "email": "a@b.com.br"})
    assert response.status_code == 404
    assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == 0


def test_share_links_carry_the_message_and_the_link():
    url = "https://portal.example/signup?hire=abc"
    assert hiring_links.whatsapp_url(f"Olá {url}") == "https://wa.me/?text=Ol%C3%A1%20https%3A%2F%2Fportal.example" \
                                                       "%2Fsignup%3Fhire%3Dabc"
    assert hiring_links.sms_url("a b").startswith("sms:?body=a%20b")
