"""The reseller portal in a real browser: a Brazilian manager (in Portuguese) finds a client on the Painel,
opens Gerenciar and its Configurações dialog, sends a wrong then the right certificate, walks the tabs,
changes who pays, and closes the dialog with Escape; a Chilean manager (in Spanish) does the same without
JavaScript; an accountant reads the list and cannot manage."""

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import ClientCertificate, Subscription
from tests import factories
from tests.browser.conftest import log_in
from tests.browser.test_look import layout_problems
from tests.pfx import PASSWORD, make_pfx
from tests.reseller.helpers import make_client

CNPJ = "45398765000160"


def brazilian_office():
    office = factories.make_org("reseller", "BR", name="Contabilidade Horizonte Ltda")
    padaria = make_client(office, "Padaria Pão Dourado Ltda", tax_id=CNPJ)
    make_client(office, "Oficina Boa Vista Ltda", status="trial")
    manager = factories.make_member("reseller", "manager", organisation=office, locale="pt_BR")
    accountant = factories.make_member("reseller", "accountant", organisation=office, locale="pt_BR")
    db.session.commit()
    return padaria, manager.user.email, accountant.user.email


def test_a_manager_sends_the_certificate_and_changes_who_pays_in_the_dialog(app, new_page, screenshot, tmp_path):
    padaria, manager, _accountant = brazilian_office()
    wrong, right = tmp_path / "outro.pfx", tmp_path / "padaria.pfx"
    wrong.write_bytes(make_pfx("11222333000181"))
    right.write_bytes(make_pfx(CNPJ))
    page = new_page(locale="pt-BR")
    log_in(page, manager)
    page.get_by_label("Nome ou CNPJ/CPF").fill("45398765000160")
    page.get_by_role("button", name="Buscar").click()
    expect(page.locator("#clients")).not_to_contain_text("Oficina Boa Vista")
    page.get_by_role("link", name="Gerenciar Padaria Pão Dourado Ltda").click()
    opener = page.get_by_role("link", name="Configurações")
    opener.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Arquivo do certificado (PFX)").set_input_files(str(wrong))
    dialog.get_by_label("Senha do arquivo PFX").fill(PASSWORD)
    dialog.get_by_role("button", name="Enviar certificado").click()
    expect(dialog.get_by_role("alert")).to_contain_text("pertence a outro titular")
    dialog.get_by_label("Arquivo do certificado (PFX)").set_input_files(str(right))
    dialog.get_by_label("Senha do arquivo PFX").fill(PASSWORD)
    dialog.get_by_role("button", name="Enviar certificado").click()
    expect(dialog).to_contain_text("Parabéns!")
    dialog.get_by_role("link", name="Contrato").click()
    dialog.get_by_label("A revenda").check()
    dialog.get_by_role("button", name="Salvar").click()
    expect(dialog.get_by_role("status")).to_contain_text("O contrato foi salvo.")
    screenshot(page, "reseller-settings-contract")
    for _ in range(10):
        page.keyboard.press("Tab")
    assert page.evaluate("document.querySelector('#modal [role=dialog]').contains(document.activeElement)")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(opener).to_be_focused()
    db.session.rollback()
    assert db.session.scalar(db.select(ClientCertificate.tax_id)) == CNPJ
    sub = db.session.scalar(db.select(Subscription).where(Subscription.organisation_id == padaria.id))
    assert sub.payer_id == padaria.reseller_id


@pytest.mark.parametrize("width", [1280, 390])
def test_a_chilean_manager_changes_who_pays_without_javascript(app, new_page, screenshot, width):
    office = factories.make_org("reseller", "CL", name="Contadores Asociados del Sur Ltda.")
    aromos = make_client(office, "Panadería Los Aromos SpA", country="CL")
    manager = factories.make_member("reseller", "manager", organisation=office, locale="es")
    db.session.commit()
    page = new_page(width=width, locale="es-CL", javascript=False)
    log_in(page, manager.user.email)
    page.get_by_role("link", name="Gestionar Panadería Los Aromos SpA").click()
    page.get_by_role("link", name="Configuración").click()
    page.get_by_role("link", name="Contrato").click()
    page.get_by_label("El revendedor").check()
    page.get_by_role("button", name="Guardar").click()
    expect(page.get_by_role("status").filter(has_text="El contrato fue guardado.")).to_be_visible()
    assert not layout_problems(page)
    screenshot(page, f"reseller-contract-no-js-{width}")
    db.session.rollback()
    sub = db.session.scalar(db.select(Subscription).where(Subscription.organisation_id == aromos.id))
    assert sub.payer_id == office.id


def test_an_accountant_reads_the_list_and_cannot_manage(app, page):
    padaria, _manager, accountant = brazilian_office()
    log_in(page, accountant)
    expect(page.locator("#clients")).to_contain_text("Padaria Pão Dourado Ltda")
    expect(page.get_by_role("link", name="Gerenciar Padaria Pão Dourado Ltda")).to_have_count(0)
    response = page.goto(f"/reseller/clients/{padaria.id}")
    assert response.status == 403
