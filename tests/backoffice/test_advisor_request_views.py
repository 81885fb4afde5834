"""The back office's requests to commercial advisors: every staff role lists them by status, opens one,
answers it (the customer reads the answer and gets it by e-mail) and closes it."""

from portal.extensions import db
from portal.models import AdvisorRequest, AuditEvent, OutboxMessage
from portal.services.accounts import advisor_requests
from tests import factories

LIST = "/backoffice/advisor-requests"


def _request(subject="Precios del plan anual", **fields) -> AdvisorRequest:
    shop = factories.make_org("customer", name=fields.pop("shop", "Panadería Los Aromos SpA"))
    user = factories.make_member("customer", "admin", organisation=shop, name="Javiera Muñoz", locale="es").user
    row = factories.make_advisor_request(shop, user=user, subject=subject, **fields)
    db.session.commit()
    return row


def test_staff_list_every_request_and_filter_by_status(login_as):
    staff = login_as("vendor", "advisor", locale="es")
    open_one, answered = _request("Pregunta abierta"), _request("Pregunta respondida", shop="Ferretería Sur SpA")
    advisor_requests.answer_request(db.session.merge(answered), db.session.merge(staff.user), "Listo")
    db.session.commit()
    page = staff.get(LIST).get_data(as_text=True)
    assert "Pregunta abierta" in page and "Pregunta respondida" in page and "Ferretería Sur SpA" in page
    assert "Ninguno: nuestro equipo comercial" in page
    fragment = staff.get(LIST + "?status=open", headers={"HX-Request": "true", "HX-Target": "requests"})
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="requests">')
    assert "Pregunta abierta" in body and "Pregunta respondida" not in body
    refused = staff.get(LIST + "?status=lost")
    assert refused.status_code == 422 and "no es válido" in refused.get_data(as_text=True)
    assert open_one.id


def test_staff_answer_the_customer_reads_it_and_gets_it_by_mail(login_as):
    staff = login_as("vendor", "advisor", name="Camila Soto")
    row = _request()
    url = f"{LIST}/{row.id}"
    assert "Precios del plan anual" in staff.get(url).get_data(as_text=True)
    response = staff.form_post(url + "/answer", {"answer": "El plan anual tiene dos meses gratis."})
    assert response.status_code == 303
    assert "The answer was sent to Javiera Muñoz." in staff.get(url).get_data(as_text=True)
    db.session.rollback()
    found = db.session.get(AdvisorRequest, row.id)
    assert (found.status, found.answered_by.name) == ("answered", "Camila Soto")
    mail = db.session.scalar(db.select(OutboxMessage).where(OutboxMessage.template == "advisor_request_answer"))
    assert mail.recipient == found.user.email and mail.locale == "es" and "dos meses gratis" in mail.text_body

    customer = factories.make_member("customer", "member", organisation=found.organisation)
    db.session.commit()
    reader = staff.application.test_client()
    reader.login(customer.user.email)
    page = reader.get(f"/customer/advisor/requests/{row.id}").get_data(as_text=True)
    assert "El plan anual tiene dos meses gratis." in page and "Answered" in page


def test_an_empty_answer_is_refused_and_nothing_changes(login_as):
    staff = login_as("vendor", "billing", locale="es")
    row = _request()
    response = staff.form_post(f"{LIST}/{row.id}/answer", {"answer": "  "},
                               headers={"HX-Request": "true", "HX-Target": "answer_form"})
    assert response.status_code == 422
    assert "Escribe la respuesta para el cliente." in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(AdvisorRequest, row.id).status == "open"
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage).where(
        OutboxMessage.template == "advisor_request_answer")) == 0


def test_a_closed_request_is_audited_and_refuses_any_further_change(login_as):
    staff = login_as("vendor", "admin", locale="es")
    row = _request()
    assert staff.form_post(f"{LIST}/{row.id}/close").status_code == 303
    page = staff.get(f"{LIST}/{row.id}").get_data(as_text=True)
    assert "Cerrada" in page and "Enviar la respuesta" not in page
    again = staff.form_post(f"{LIST}/{row.id}/answer", {"answer": "Tarde"})
    assert again.status_code == 409 and "Esta solicitud está cerrada" in again.get_data(as_text=True)
    assert staff.form_post(f"{LIST}/{row.id}/close").status_code == 409
    db.session.rollback()
    assert db.session.get(AdvisorRequest, row.id).answer is None
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "advisor_request_closed")) == 1


def test_an_unknown_request_is_not_found(login_as):
    staff = login_as("vendor", "advisor")
    assert staff.get(f"{LIST}/987654").status_code == 404
    assert staff.form_post(f"{LIST}/987654/answer", {"answer": "Hola"}).status_code == 404
