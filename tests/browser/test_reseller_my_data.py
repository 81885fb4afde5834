"""My data (Meus dados) > Básicos in a real browser: a Brazilian manager opens it from the sidebar, types a CNPJ
with a wrong check digit and is told so beside the field (nothing saved), then saves the right one; the
Chilean manager does it in Spanish without JavaScript."""

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import Organisation
from tests import factories
from tests.browser.conftest import log_in
from tests.browser.test_look import layout_problems


def test_a_manager_corrects_the_cnpj_and_saves_the_basics(app, new_page, screenshot):
    office = factories.make_org("reseller", "BR", name="Contabilidade Horizonte Ltda")
    manager = factories.make_member("reseller", "manager", organisation=office, locale="pt_BR")
    db.session.commit()
    page = new_page(locale="pt-BR")
    log_in(page, manager.user.email)
    page.get_by_role("link", name="Meus dados").click()
    expect(page.get_by_role("link", name="Básicos")).to_have_attribute("aria-current", "page")
    page.get_by_label("Nome fantasia").fill("Horizonte")
    page.get_by_label("Identificação fiscal").fill("45.398.765/0001-61")
    page.get_by_label("Telefone").fill("+55 11 3456-7890")
    page.get_by_label("Endereço").fill("Rua Augusta 1500, São Paulo - SP")
    page.get_by_role("button", name="Salvar").click()
    expect(page.locator("#tax_id-error")).to_contain_text("dígito verificador")
    db.session.rollback()
    assert db.session.get(Organisation, office.id).phone is None
    page.get_by_label("Identificação fiscal").fill("45.398.765/0001-60")
    page.get_by_role("button", name="Salvar").click()
    expect(page.get_by_role("status").filter(has_text="Seus dados foram salvos.")).to_be_visible()
    expect(page.get_by_label("Identificação fiscal")).to_have_value("45.398.765/0001-60")
    screenshot(page, "reseller-my-data-basics")
    db.session.rollback()
    saved = db.session.get(Organisation, office.id)
    assert (saved.trade_name, saved.tax_id, saved.phone) == ("Horizonte", "45398765000160", "+55 11 3456-7890")


@pytest.mark.parametrize("width", [1280, 390])
def test_a_chilean_manager_saves_the_basics_without_javascript(app, new_page, screenshot, width):
    office = factories.make_org("reseller", "CL", name="Contadores Asociados del Sur Ltda.")
    manager = factories.make_member("reseller", "manager", organisation=office, locale="es")
    db.session.commit()
    page = new_page(width=width, locale="es-CL", javascript=False)
    log_in(page, manager.user.email)
    page.goto("/reseller/my-data")
    page.get_by_label("Teléfono").fill("+56 2 2345 6789")
    page.get_by_role("button", name="Guardar").click()
    expect(page.get_by_role("status").filter(has_text="Tus datos se guardaron.")).to_be_visible()
    assert not layout_problems(page)
    screenshot(page, f"reseller-my-data-basics-no-js-{width}")
    db.session.rollback()
    assert db.session.get(Organisation, office.id).phone == "+56 2 2345 6789"
