"""Writing to the commercial advisor in a browser, in Spanish: from the top bar's dialog with JavaScript,
from the page without it; then staff answer and the customer reads the answer."""

import pytest

from portal.extensions import db
from portal.models import AdvisorRequest
from tests import factories
from tests.browser.conftest import log_in


def _advised_admin():
    advisor = factories.make_member("vendor", "advisor", name="Camila Soto", locale="es")
    shop = factories.make_org("customer", name="Panadería Los Aromos SpA", advisor_id=advisor.user_id)
    admin = factories.make_member("customer", "admin", organisation=shop, name="Javiera Muñoz", locale="es")
    db.session.commit()
    return admin, advisor


def _fill(box, subject: str) -> None:
    box.locator("#subject").fill(subject)
    box.locator("#message").fill("¿Qué incluye el módulo de inventario y cuánto cuesta al mes?")
    box.get_by_label("Por teléfono").check()
    box.locator("#phone").fill("+56 9 8765 4321")
    box.locator("#preferred_time").fill("martes de 10:00 a 12:00")


def _sent() -> list[AdvisorRequest]:
    db.session.rollback()  # end the test's own snapshot to see what the browser's requests wrote
    return list(db.session.scalars(db.select(AdvisorRequest).order_by(AdvisorRequest.id)))


@pytest.mark.parametrize("width", [1280, 390])
def test_the_advisor_in_the_top_bar_opens_a_dialog_that_sends_the_request(app, new_page, screenshot, width):
    admin, advisor = _advised_admin()
    page = new_page(width=width, height=900, locale="es-CL")
    log_in(page, admin.user.email)
    page.locator(".topbar .advisor").get_by_role("link", name="Camila Soto").click()
    dialog = page.locator("#modal [role=dialog]")
    dialog.wait_for()
    assert dialog.get_by_role("heading", name="Escribe a tu asesor comercial").is_visible()
    assert "No es un canal de soporte en línea" in dialog.inner_text()
    page.wait_for_function("document.activeElement && document.activeElement.id === 'subject'")

    dialog.get_by_role("button", name="Enviar solicitud").click()  # nothing written yet: refused in place
    dialog.locator("#subject-error").wait_for()
    assert dialog.locator("#subject-error").inner_text() == "Escribe el asunto de tu solicitud."
    assert _sent() == []
    _fill(dialog, "Módulo de inventario")
    screenshot(page, f"advisor-dialog-es-{width}")
    dialog.get_by_role("button", name="Enviar solicitud").click()

    page.wait_for_url("**/customer/advisor/requests")
    assert page.locator("#modal [role=dialog]").count() == 0
    assert "Tu solicitud se envió a Camila Soto" in page.locator(".flashes").inner_text()
    row = page.locator("#requests tbody tr").first
    assert "Módulo de inventario" in row.inner_text() and "Abierta" in row.inner_text()
    screenshot(page, f"advisor-requests-es-{width}")
    [sent] = _sent()
    assert (sent.contact, sent.phone, sent.advisor_id) == ("phone", "+56 9 8765 4321", advisor.user_id)


def test_without_javascript_the_advisor_is_a_page_with_the_same_form(app, new_page, screenshot):
    admin, _advisor = _advised_admin()
    page = new_page(locale="es-CL", javascript=False)
    log_in(page, admin.user.email)
    page.locator(".topbar .advisor").get_by_role("link", name="Camila Soto").click()
    page.wait_for_url("**/customer/advisor/requests/new")
    assert page.get_by_role("heading", level=1).inner_text() == "Escribe a tu asesor comercial"
    _fill(page.locator("#advisor_form"), "Plan anual")
    page.locator("#message").fill("x" * 4001)
    page.locator("#advisor_form").get_by_role("button", name="Enviar solicitud").click()
    assert "El mensaje puede tener como máximo 4000 caracteres." in page.locator("#message-error").inner_text()
    assert _sent() == []
    page.locator("#message").fill("¿Hay descuento si pago el año?")
    screenshot(page, "advisor-page-es-1280")
    page.locator("#advisor_form").get_by_role("button", name="Enviar solicitud").click()
    page.wait_for_url("**/customer/advisor/requests")
    assert "Plan anual" in page.locator("#requests").inner_text()
    assert [r.subject for r in _sent()] == ["Plan anual"]


@pytest.mark.parametrize("width", [1280, 390])
def test_staff_answer_and_the_customer_reads_the_answer(app, new_page, screenshot, width):
    admin, advisor = _advised_admin()
    sent = factories.make_advisor_request(admin.organisation, user=admin.user, subject="Plan anual")
    factories.make_advisor_request(factories.make_org("customer", name="Ferretería Sur SpA"), subject="Usuarios")
    db.session.commit()
    staff = new_page(width=width, height=900, locale="es-CL")
    log_in(staff, advisor.user.email)
    staff.locator(".sidebar").get_by_role("link", name="Solicitudes al asesor").click()
    staff.wait_for_url("**/backoffice/advisor-requests")
    assert staff.locator("#requests tbody tr").count() == 2
    screenshot(staff, f"advisor-staff-list-es-{width}")
    staff.locator("#requests").get_by_role("link", name="Plan anual").click()
    staff.locator("#answer").fill("Sí: pagando el año tienes dos meses gratis.")
    staff.get_by_role("button", name="Enviar la respuesta").click()
    assert "La respuesta se envió a Javiera Muñoz." in staff.locator(".flashes").inner_text()

    customer = new_page(width=width, height=900, locale="es-CL")
    log_in(customer, admin.user.email)
    customer.goto(f"/customer/advisor/requests/{sent.id}")
    assert "Sí: pagando el año tienes dos meses gratis." in customer.locator("main").inner_text()
    assert "Respondida" in customer.locator("main").inner_text()
