"""Requests to the commercial advisor, through the service: stored, e-mailed in the reader's language,
audited; refused whole when a rule is broken; answered and closed by staff."""

import pytest

from portal.extensions import db
from portal.models import AdvisorRequest, AuditEvent, OutboxMessage
from portal.services.accounts import advisor_requests
from portal.services.accounts.advisor_requests import RequestData
from portal.services.errors import DomainError
from tests import factories


def _customer_with_advisor(advisor_locale="pt_BR"):
    advisor = factories.make_member("vendor", "advisor", name="Camila Soto", locale=advisor_locale)
    shop = factories.make_org("customer", name="Panadería Los Aromos SpA", advisor_id=advisor.user_id)
    admin = factories.make_member("customer", "admin", organisation=shop, name="Javiera Muñoz", locale="es")
    return shop, admin.user, advisor.user


def _mail() -> list[OutboxMessage]:
    return list(db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_request_is_stored_audited_and_mailed_to_the_advisor_in_the_advisors_language(app):
    shop, user, advisor = _customer_with_advisor("pt_BR")
    row = advisor_requests.send_request(shop, user, RequestData("  Módulo de inventario ", "¿Cuánto cuesta?",
                                                                "phone", "+56 9 8765 4321", "martes 10:00"))
    assert (row.subject, row.contact, row.phone, row.preferred_time) == ("Módulo de inventario", "phone",
                                                                         "+56 9 8765 4321", "martes 10:00")
    assert (row.status, row.advisor_id, row.user_id) == ("open", advisor.id, user.id)
    [message] = _mail()
    assert message.recipient == advisor.email and message.locale == "pt_BR"
    assert message.subject == "Solicitação de Panadería Los Aromos SpA: Módulo de inventario"
    assert "Por telefone · +56 9 8765 4321 · martes 10:00" in message.text_body
    assert f"/backoffice/advisor-requests/{row.id}" in message.text_body
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "advisor_request_sent"))
    assert (event.actor_id, event.organisation_id, event.object_id) == (user.id, shop.id, str(row.id))


def test_without_an_advisor_the_request_reaches_the_vendors_administrators(app):
    boss = factories.make_member("vendor", "admin", name="Rodrigo Pérez", locale="es")
    factories.make_member("vendor", "billing", organisation=boss.organisation)
    shop = factories.make_org("customer")
    user = factories.make_member("customer", "admin", organisation=shop).user
    row = advisor_requests.send_request(shop, user, RequestData("Precios", "¿Hay descuento anual?", "email"))
    assert row.advisor_id is None
    [message] = _mail()
    assert message.recipient == boss.user.email and message.locale == "es"
    assert "no tiene un asesor comercial asignado" in message.text_body
    assert row in db.session.scalars(advisor_requests.staff_requests("open")).all()


@pytest.mark.parametrize(("data", "field"), [
    (RequestData("   ", "Hola", "email"), "subject"),
    (RequestData("x" * 201, "Hola", "email"), "subject"),
    (RequestData("Precios", "", "email"), "message"),
    (RequestData("Precios", "x" * 4001, "email"), "message"),
    (RequestData("Precios", "Hola", "fax"), "contact"),
    (RequestData("Precios", "Hola", "phone"), "phone"),
    (RequestData("Precios", "Hola", "phone", "llámame"), "phone"),
    (RequestData("Precios", "Hola", "video"), "preferred_time"),
    (RequestData("Precios", "Hola", "video", "", "x" * 101), "preferred_time"),
])
def test_a_broken_rule_refuses_the_whole_request(app, data, field):
    shop, user, _advisor = _customer_with_advisor()
    db.session.commit()
    with pytest.raises(DomainError) as raised:
        advisor_requests.send_request(shop, user, data)
    assert raised.value.field == field
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count()).select_from(AdvisorRequest)) == 0
    assert _mail() == []


def test_staff_answer_is_mailed_to_the_sender_in_their_language_then_the_request_is_closed(app):
    shop, user, advisor = _customer_with_advisor()
    row = advisor_requests.send_request(shop, user, RequestData("Precios", "¿Hay descuento anual?", "email"))
    advisor_requests.answer_request(row, advisor, "  Sí: dos meses gratis al pagar el año.  ")
    assert (row.status, row.answer, row.answered_by_id) == ("answered", "Sí: dos meses gratis al pagar el año.",
                                                            advisor.id)
    answer_mail = _mail()[-1]
    assert answer_mail.recipient == user.email and answer_mail.locale == "es"
    assert answer_mail.subject == "Respuesta a tu solicitud: Precios"
    assert "dos meses gratis" in answer_mail.text_body
    assert f"/customer/advisor/requests/{row.id}" in answer_mail.text_body
    advisor_requests.close_request(row, advisor)
    assert row.status == "closed" and row.closed_at is not None
    for change in (lambda: advisor_requests.answer_request(row, advisor, "Otra"),
                   lambda: advisor_requests.close_request(row, advisor)):
        with pytest.raises(DomainError) as raised:
            change()
        assert raised.value.status == 409
    actions = set(db.session.scalars(db.select(AuditEvent.action)))
    assert {"advisor_request_sent", "advisor_request_answered", "advisor_request_closed"} <= actions


def test_an_empty_answer_is_refused(app):
    shop, user, advisor = _customer_with_advisor()
    row = advisor_requests.send_request(shop, user, RequestData("Precios", "Hola", "email"))
    with pytest.raises(DomainError) as raised:
        advisor_requests.answer_request(row, advisor, "   ")
    assert raised.value.field == "answer" and row.status == "open"


def test_an_organisation_reads_only_its_own_requests(app):
    mine, theirs = factories.make_advisor_request(), factories.make_advisor_request()
    assert advisor_requests.customer_request(mine.organisation, theirs.id) is None
    assert advisor_requests.customer_request(mine.organisation, mine.id) is mine
    assert db.session.scalars(advisor_requests.customer_requests(mine.organisation)).all() == [mine]
