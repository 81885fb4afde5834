"""Novo cliente in a real browser, in Portuguese: a Brazilian manager registers a client directly (Novo cadastro)
paid by the reseller, sees the discounted price before confirming, and sends a hiring link (Enviar link de
contratação) that the client opens to sign up alone; with JavaScript at 1280 px, and without it at 1280 and 390 px."""

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import Organisation, SignUp, Subscription
from tests import factories
from tests.browser.conftest import log_in
from tests.browser.test_look import layout_problems


def _office():
    office = factories.make_org("reseller", "BR", name="Contabilidade Horizonte Ltda")
    manager = factories.make_member("reseller", "manager", organisation=office, locale="pt_BR")
    erp = factories.make_software(name="Vitrine ERP")
    plan = factories.make_product("plan", software=erp, name="Básico", prices=(("BRL", "monthly", 9_990, 0),))
    db.session.commit()
    return office, manager, plan


def _register(page, plan, tax_id: str, email: str, priced: bool = True):
    page.locator("#payer").select_option("reseller")
    page.locator("#software").select_option(str(plan.software_id))
    page.locator("#plan").select_option(str(plan.id))
    page.get_by_label("Razão social do cliente").fill("Padaria Pão Dourado Ltda")
    page.get_by_label("Identificação fiscal do cliente").fill(tax_id)
    page.get_by_label("Pessoa de contato").fill("Maria Souza")
    page.get_by_label("E-mail do cliente").fill(email)
    expect(page.locator("#own-email-warning")).to_contain_text("do próprio cliente")
    page.get_by_role("button", name="Ver o preço").click()
    if priced:
        expect(page.locator("#quote")).to_contain_text("R$ 49,95")
        expect(page.locator("#quote")).to_contain_text("50%")


def _hire(page, new_page, plan, javascript: bool, width: int):
    page.goto("/reseller/clients/new/link")
    page.locator("#payer").select_option("client")
    page.locator("#software").select_option(str(plan.software_id))
    page.locator("#plan").select_option(str(plan.id))
    page.get_by_role("button", name="Criar o link").click()
    link = page.get_by_label("Link para o cliente")
    expect(link).to_be_visible()
    url = link.input_value()
    assert "/signup?hire=" in url
    assert page.get_by_role("link", name="Enviar por WhatsApp").get_attribute("href").startswith("https://wa.me/?text=")
    assert page.get_by_role("link", name="Enviar por SMS").get_attribute("href").startswith("sms:?body=")
    page.get_by_label("Enviar por e-mail para").fill("joao@mercado.com.br")
    page.get_by_role("button", name="Enviar por e-mail", exact=True).click()
    expect(page.get_by_text("O link foi enviado para joao@mercado.com.br.")).to_be_visible()
    visitor = new_page(width=width, locale="pt-BR", javascript=javascript)
    visitor.goto(url)
    expect(visitor.locator("#hiring-offer")).to_contain_text("Contabilidade Horizonte Ltda convida você")
    visitor.locator("#email").fill("joao@mercado.com.br")
    visitor.locator("#name").fill("João Lima")
    visitor.locator("#password").fill("uma senha bem longa")
    visitor.locator("#organisation").fill("Mercado Boa Vista Ltda")
    visitor.locator("#tax_id").fill("11.222.333/0001-81")
    visitor.locator("#signup_form button[type=submit]").click()
    visitor.wait_for_url(lambda u: "/signup/sent" in u)
    return visitor


def test_a_manager_registers_a_client_and_sends_a_hiring_link(app, new_page, screenshot):
    office, manager, plan = _office()
    page = new_page(locale="pt-BR")
    log_in(page, manager.user.email)
    page.get_by_role("link", name="Novo cliente").click()
    expect(page.locator("h1")).to_have_text("Novo cliente")  # the screenshot is of that page, not the Painel
    screenshot(page, "reseller-new-client")
    page.get_by_role("link", name="Novo cadastro").click()
    _register(page, plan, "45.398.765/0001-61", "maria@padaria.com.br", priced=False)
    expect(page.locator("#tax_id-error")).to_contain_text("dígito verificador")
    page.get_by_label("Identificação fiscal do cliente").fill("45.398.765/0001-60")
    page.get_by_role("button", name="Ver o preço").click()
    expect(page.locator("#quote")).to_contain_text("Você paga por mês")
    screenshot(page, "reseller-new-registration-price")
    page.get_by_role("button", name="Cadastrar").click()
    expect(page.get_by_role("status").filter(has_text="foi cadastrado em teste")).to_be_visible()
    db.session.rollback()
    client = db.session.scalar(db.select(Organisation).filter_by(tax_id="45398765000160"))
    sub = db.session.scalar(db.select(Subscription).filter_by(organisation_id=client.id))
    assert (client.reseller_id, sub.payer_id, sub.discount_bp, sub.status) == (office.id, office.id, 5_000, "trial")
    _hire(page, new_page, plan, True, 1280)
    screenshot(page, "reseller-hiring-link")
    db.session.rollback()
    assert db.session.scalar(db.select(SignUp).filter_by(email="joao@mercado.com.br")).reseller_id == office.id


@pytest.mark.parametrize("width", [1280, 390])
def test_both_ways_work_without_javascript(app, new_page, screenshot, width):
    office, manager, plan = _office()
    page = new_page(width=width, locale="pt-BR", javascript=False)
    log_in(page, manager.user.email)
    page.goto("/reseller/clients/new")
    assert not layout_problems(page)
    screenshot(page, f"reseller-new-client-no-js-{width}")
    page.get_by_role("link", name="Novo cadastro").click()
    _register(page, plan, "45.398.765/0001-60", "maria@padaria.com.br")
    assert not layout_problems(page)
    screenshot(page, f"reseller-new-registration-price-no-js-{width}")
    page.get_by_role("button", name="Cadastrar").click()
    expect(page.get_by_role("status").filter(has_text="foi cadastrado em teste")).to_be_visible()
    visitor = _hire(page, new_page, plan, False, width)
    assert not layout_problems(page)
    screenshot(page, f"reseller-hiring-link-no-js-{width}")
    expect(visitor.locator("h1")).to_be_visible()
    db.session.rollback()
    assert db.session.scalar(db.select(Organisation).filter_by(tax_id="45398765000160")).reseller_id == office.id
    assert db.session.scalar(db.select(SignUp).filter_by(email="joao@mercado.com.br")).reseller_id == office.id
