"""Writing to the commercial advisor from the top bar (a dialog with htmx, a page without), and the
organisation's requests: administrators write, members read, bad input is refused whole."""

import pytest

from portal.extensions import db
from portal.models import AdvisorRequest, AuditEvent, OutboxMessage
from tests import factories

NEW, LIST = "/customer/advisor/requests/new", "/customer/advisor/requests"
ES = {"Accept-Language": "es"}
HTMX = {"HX-Request": "true", "HX-Target": "modal"}
SENT = {"subject": "Activar el módulo de inventario", "message": "¿Qué incluye y cuánto cuesta al mes?",
        "contact": "video", "preferred_time": "martes de 10:00 a 12:00"}


def _advised_admin(login_as, advisor_name="Camila Soto"):
    advisor = factories.make_member("vendor", "advisor", name=advisor_name, locale="es")
    shop = factories.make_org("customer", name="Panadería Los Aromos SpA", advisor_id=advisor.user_id)
    client = login_as("customer", "admin", organisation=shop, name="Javiera Muñoz", locale="es")
    return client, advisor


def _count() -> int:
    db.session.rollback()
    return db.session.scalar(db.select(db.func.count()).select_from(AdvisorRequest))


def test_the_top_bar_names_the_advisor_and_opens_the_form(login_as):
    client, _advisor = _advised_admin(login_as)
    page = client.get("/customer/", headers=ES).get_data(as_text=True)
    topbar = page.split('<header class="topbar">')[1].split("</header>")[0]
    assert f'href="{NEW}" hx-get="{NEW}" hx-target="#modal"' in topbar and ">Camila Soto</a>" in topbar


def test_the_dialog_is_a_fragment_and_the_page_is_whole_and_both_say_it_is_not_support(login_as):
    client, _advisor = _advised_admin(login_as)
    dialog = client.get(NEW, headers=HTMX | ES).get_data(as_text=True)
    assert dialog.lstrip().startswith('<div id="advisor_form" class="modal-backdrop" data-modal>')
    assert 'role="dialog"' in dialog and "<html" not in dialog
    page = client.get(NEW, headers=ES).get_data(as_text=True)
    assert "<html" in page and 'role="dialog"' not in page
    for body in (dialog, page):
        assert "No es un canal de soporte en línea" in body and "Camila Soto, tu asesor comercial" in body
        assert "Por videollamada" in body


def test_sending_without_javascript_stores_mails_audits_and_flashes(login_as):
    client, advisor = _advised_admin(login_as)
    response = client.form_post(NEW, SENT, headers=ES)
    assert response.status_code == 303 and response.headers["Location"].endswith(LIST)
    page = client.get(LIST, headers=ES).get_data(as_text=True)
    assert "Tu solicitud se envió a Camila Soto" in page and "Activar el módulo de inventario" in page
    assert "Abierta" in page
    db.session.rollback()
    row = db.session.scalar(db.select(AdvisorRequest))
    assert (row.contact, row.preferred_time, row.advisor_id) == ("video", "martes de 10:00 a 12:00", advisor.user_id)
    [message] = db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.template == "advisor_request"))
    assert message.recipient == advisor.user.email and message.locale == "es"
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "advisor_request_sent")) is not None


def test_sending_from_the_dialog_takes_htmx_to_the_list(login_as):
    client, _advisor = _advised_admin(login_as)
    response = client.form_post(NEW, SENT, headers={"HX-Request": "true", "HX-Target": "advisor_form"})
    assert response.status_code == 204 and response.headers["HX-Location"].endswith(LIST)
    assert _count() == 1


@pytest.mark.parametrize(("sent", "message"), [
    (SENT | {"subject": ""}, "Escribe el asunto de tu solicitud."),
    (SENT | {"message": "x" * 4001}, "El mensaje puede tener como máximo 4000 caracteres."),
    (SENT | {"contact": "fax"}, "Elige cómo prefieres que te contactemos"),
    (SENT | {"contact": "phone", "phone": ""}, "Indica el número de teléfono al que te llamamos."),
])
def test_bad_input_is_refused_in_the_dialog_with_a_translated_message_and_nothing_written(login_as, sent, message):
    client, _advisor = _advised_admin(login_as)
    response = client.form_post(NEW, sent, headers={"HX-Request": "true", "HX-Target": "advisor_form"} | ES)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and message in body and 'role="dialog"' in body
    page = client.form_post(NEW, sent, headers=ES)
    assert page.status_code == 422 and message in page.get_data(as_text=True)
    assert _count() == 0
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == 0


def test_without_an_advisor_the_form_says_it_goes_to_the_commercial_team(login_as):
    client = login_as("customer", "admin", locale="es")
    topbar = client.get("/customer/", headers=ES).get_data(as_text=True).split("</header>")[0]
    assert ">Nuestro equipo comercial</a>" in topbar
    assert "aún no tiene un asesor comercial asignado" in client.get(NEW, headers=ES).get_data(as_text=True)
    assert client.form_post(NEW, SENT, headers=ES).status_code == 303
    page = client.get(LIST, headers=ES).get_data(as_text=True)
    assert "Tu solicitud se envió a nuestro equipo comercial" in page
    db.session.rollback()
    assert db.session.scalar(db.select(AdvisorRequest.advisor_id)) is None


def test_a_member_reads_the_requests_but_cannot_write_one(login_as):
    admin, _advisor = _advised_admin(login_as)
    sent = factories.make_advisor_request(db.session.merge(admin.organisation), user=db.session.merge(admin.user))
    member = login_as("customer", "member", organisation=db.session.merge(admin.organisation))
    page = member.get(LIST).get_data(as_text=True)
    assert sent.subject in page and "Write a new request" not in page
    assert "An administrator of your organisation can write a new request." in page
    topbar = member.get("/customer/").get_data(as_text=True).split("</header>")[0]
    assert f'href="{LIST}"' in topbar and NEW not in topbar
    assert member.get(NEW).status_code == 403
    assert member.form_post(NEW, SENT).status_code == 403
    assert member.get(f"{LIST}/{sent.id}").status_code == 200
    assert _count() == 1


def test_a_request_of_another_organisation_is_not_found(login_as):
    client, _advisor = _advised_admin(login_as)
    other = factories.make_advisor_request()
    db.session.commit()
    assert client.get(f"{LIST}/{other.id}").status_code == 404
    assert other.subject not in client.get(LIST).get_data(as_text=True)


def test_the_list_pages_like_every_list(login_as):
    client, _advisor = _advised_admin(login_as)
    shop, user = db.session.merge(client.organisation), db.session.merge(client.user)
    for n in range(27):
        factories.make_advisor_request(shop, user=user, subject=f"Pregunta {n:02d}")
    db.session.commit()
    first = client.get(LIST).get_data(as_text=True)
    assert "Pregunta 26" in first and "Pregunta 01" not in first and "27 solicitudes" in first
    second = client.get(LIST + "?page=2", headers={"HX-Request": "true", "HX-Target": "requests"})
    body = second.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="requests">') and "Pregunta 00" in body and "Pregunta 26" not in body
