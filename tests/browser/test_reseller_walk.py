"""The whole reseller portal walked in a real browser, action by action, as the help centre describes a day:

- a Brazilian manager (pt_BR) finds a client on the Painel by its CNPJ typed without punctuation, filters, pages,
  exports the CSV, opens Gerenciar, opens the client's software (a page that continues to the software's launch
  address with a single-use token: the Content-Security-Policy's form-action would stop a redirect), walks the four
  tabs of Configurações (certificate with a real PFX, integration key shown and regenerated, contract and who pays,
  plan change with its proration), keeps focus inside the dialog and closes it with Escape; then My data's tabs and
  both ways of bringing in a new client;
- the same key flows without JavaScript;
- the Chilean manager (es), with the integration "clave";
- an accountant: the list read-only, no manage buttons, 403 on a manage address.
"""

import csv
import io
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import ClientCertificate, Organisation, ResellerEmail, SoftwareAccessToken, Subscription
from portal.services.accounts import integration
from portal.services.resellers import software_access
from portal.services.resellers.software_access import InvalidAccessToken
from tests import factories
from tests.browser.conftest import log_in
from tests.browser.test_look import layout_problems
from tests.pfx import PASSWORD, make_pfx
from tests.reseller.helpers import make_client

CNPJ = "45398765000160"
RUT = "771234569"
FAZNOTA = "https://app.faznota.test/entrar"
ERP = "https://erp.vitrine.test/ingresar"
SOFTWARE_PAGE = "<!doctype html><html lang='pt'><head><title>Software</title></head><body><p>Software</p></body></html>"


class Office:
    """A reseller with its manager, accountant, a software with two plans and clients in every status."""

    def __init__(self, country: str):
        brazil = country == "BR"
        locale = "pt_BR" if brazil else "es"
        name = "Contabilidade Horizonte Ltda" if brazil else "Contadores Asociados del Sur Ltda."
        self.office = factories.make_org("reseller", country, name=name)
        self.software = factories.make_software(code="faznota" if brazil else "vitrine-erp",
                                                name="FazNota" if brazil else "Vitrine ERP",
                                                launch_url=FAZNOTA if brazil else ERP)
        currency, low, high = ("BRL", 5_990, 11_990) if brazil else ("CLP", 19_990, 39_990)
        names = ("FazNota Essencial", "FazNota Profissional") if brazil else ("Plan Básico", "Plan Pro")
        self.basic = factories.make_product("plan", software=self.software, name=names[0],
                                            prices=((currency, "monthly", low, 0),))
        self.upper = factories.make_product("plan", software=self.software, name=names[1],
                                            prices=((currency, "monthly", high, 0),))
        if brazil:
            self.client = make_client(self.office, "Padaria Pão Dourado Ltda", tax_id=CNPJ, plan=self.basic)
            make_client(self.office, "Oficina Mecânica São Jorge Ltda", status="trial", payer="reseller",
                        plan=self.basic)
            make_client(self.office, "Açougue Boi Gordo Ltda", blocked=True, plan=self.upper)
            make_client(self.office, "Sorveteria Gelato Ltda", status="cancelled", plan=self.basic)
            for n in range(22):  # more than a page (25) of clients
                make_client(self.office, f"Mercado Vila {n:02d} Ltda", plan=self.basic)
        else:
            self.client = make_client(self.office, "Panadería Los Aromos SpA", country="CL", tax_id=RUT,
                                      plan=self.basic)
            make_client(self.office, "Librería El Quijote SpA", country="CL", status="trial", payer="reseller",
                        plan=self.basic)
        self.key = integration.generate_key(self.client, None)
        self.manager = factories.make_member("reseller", "manager", organisation=self.office, locale=locale).user
        self.accountant = factories.make_member("reseller", "accountant", organisation=self.office,
                                                locale=locale).user
        db.session.commit()


def watch_software(page, launch_url: str):
    """Serve the software's launch address from the test; returns the addresses opened and the CSP complaints."""
    opened, csp = [], []

    def answer(route):
        opened.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body=SOFTWARE_PAGE)

    page.context.route(launch_url.split("?")[0] + "**", answer)
    page.context.on("console", lambda message: "Content Security Policy" in message.text and csp.append(message.text))
    return opened, csp


def token_in(url: str) -> str:
    return parse_qs(urlsplit(url).query)[software_access.TOKEN_PARAMETER][0]


def assert_single_use(url: str, office: Office) -> None:
    """The token the software received works once, for this client and software."""
    db.session.rollback()
    grant = software_access.verify_token(token_in(url), office.software.code, client_id=office.client.id)
    assert (grant.client_id, grant.user_id) == (office.client.id, office.manager.id)
    db.session.commit()
    with pytest.raises(InvalidAccessToken) as again:
        software_access.verify_token(token_in(url), office.software.code)
    assert again.value.reason == "used"
    db.session.rollback()


def open_software(page, office: Office, button: str, launch_url: str):
    """Click "Access client software": a new tab that ends on the software with a token; nothing refused."""
    opened, csp = watch_software(page, launch_url)
    with page.expect_popup() as popup:
        page.get_by_role("button", name=button).click()
    tab = popup.value
    tab.wait_for_url(lambda url: url.startswith(launch_url))
    expect(tab.get_by_text("Software")).to_be_visible()
    assert not csp, csp
    assert len(opened) == 1
    assert_single_use(opened[0], office)
    tab.close()


def csv_rows(download) -> list[list[str]]:
    with open(download.path(), encoding="utf-8-sig") as file:
        return list(csv.reader(io.StringIO(file.read())))


def test_a_brazilian_manager_walks_the_client_list(app, new_page, screenshot):
    office = Office("BR")
    page = new_page(locale="pt-BR")
    log_in(page, office.manager.email)
    expect(page.get_by_role("heading", name="Painel", exact=True)).to_be_visible()
    expect(page.locator("#clients")).to_contain_text("26 clientes encontrados")
    # The CNPJ typed without its dots, slash and dash finds the one client.
    page.get_by_label("Nome ou CNPJ/CPF").fill(CNPJ)
    page.get_by_role("button", name="Buscar").click()
    expect(page.locator("#clients tbody tr")).to_have_count(1)
    expect(page.locator("#clients")).to_contain_text("45.398.765/0001-60")
    # A filter applies on its own (htmx), the CSV follows the filters.
    page.get_by_label("Nome ou CNPJ/CPF").fill("")
    page.get_by_label("Status do cliente").select_option("trial")
    expect(page.locator("#clients tbody tr")).to_have_count(1)
    expect(page.locator("#clients")).to_contain_text("Oficina Mecânica São Jorge Ltda")
    with page.expect_download() as download:
        page.get_by_role("link", name="Exportar como CSV").click()
    rows = csv_rows(download.value)
    assert len(rows) == 2 and "Oficina Mecânica São Jorge Ltda" in rows[1]
    page.get_by_label("Status do cliente").select_option("")
    expect(page.locator("#clients")).to_contain_text("26 clientes encontrados")
    page.get_by_label("Quem paga").select_option("reseller")
    expect(page.locator("#clients tbody tr")).to_have_count(1)
    page.get_by_label("Quem paga").select_option("")
    expect(page.locator("#clients")).to_contain_text("26 clientes encontrados")
    page.get_by_label("Plano", exact=True).select_option(str(office.upper.id))
    expect(page.locator("#clients tbody tr")).to_have_count(1)
    expect(page.locator("#clients")).to_contain_text("Açougue Boi Gordo Ltda")
    page.get_by_label("Plano", exact=True).select_option("")
    expect(page.locator("#clients")).to_contain_text("26 clientes encontrados")
    # The second page of 26 clients, then back.
    page.get_by_role("link", name="Próxima página").click()
    expect(page.locator("#clients tbody tr")).to_have_count(1)
    assert "page=2" in page.url
    page.get_by_role("link", name="Página anterior").click()
    expect(page.locator("#clients tbody tr")).to_have_count(25)
    screenshot(page, "reseller-walk-list")
    with page.expect_download() as download:
        page.get_by_role("link", name="Exportar como CSV").click()
    assert len(csv_rows(download.value)) == 27


def test_a_brazilian_manager_manages_a_client(app, new_page, screenshot, tmp_path):
    office = Office("BR")
    pfx = tmp_path / "padaria.pfx"
    pfx.write_bytes(make_pfx(CNPJ))
    page = new_page(locale="pt-BR")
    log_in(page, office.manager.email)
    page.get_by_role("link", name="Gerenciar Padaria Pão Dourado Ltda").click()
    expect(page.get_by_role("heading", name="Padaria Pão Dourado Ltda")).to_be_visible()
    open_software(page, office, "Acessar software do cliente", FAZNOTA)

    opener = page.get_by_role("link", name="Configurações")
    opener.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("link", name="Certificado digital")).to_have_attribute("aria-current", "page")
    dialog.get_by_label("Arquivo do certificado (PFX)").set_input_files(str(pfx))
    dialog.get_by_label("Senha do arquivo PFX").fill(PASSWORD)
    dialog.get_by_role("button", name="Enviar certificado").click()
    expect(dialog).to_contain_text("Parabéns! O certificado digital de Padaria Pão Dourado Ltda está válido.")
    expect(dialog).to_contain_text("AC TESTE RFB v5")

    dialog.get_by_role("link", name="Chave de integração").click()
    key = dialog.get_by_label("Chave de integração")
    expect(key).not_to_have_value(office.key)
    dialog.get_by_role("button", name="Mostrar").click()
    expect(dialog.get_by_label("Chave de integração")).to_have_value(office.key)
    dialog.get_by_role("link", name="Gerar nova chave").click()
    expect(dialog.get_by_role("alert")).to_contain_text("para de funcionar na hora")
    dialog.get_by_role("button", name="Gerar nova chave").click()
    expect(dialog.get_by_role("status")).to_be_visible()
    fresh = dialog.get_by_label("Chave de integração").input_value()
    assert fresh and fresh != office.key

    dialog.get_by_role("link", name="Contrato").click()
    dialog.get_by_label("Status do cliente").select_option("blocked")
    dialog.get_by_label("A revenda").check()
    dialog.get_by_role("button", name="Salvar").click()
    expect(dialog.get_by_role("status")).to_contain_text("O contrato foi salvo.")

    dialog.get_by_role("link", name="Software").click()
    dialog.get_by_label("Plano").select_option(str(office.upper.id))
    dialog.get_by_role("button", name="Ver a mudança").click()
    expect(dialog.get_by_role("status")).to_contain_text("FazNota Profissional")
    expect(dialog.get_by_role("status")).to_contain_text("R$")
    screenshot(page, "reseller-walk-software-proration")
    dialog.get_by_role("button", name="Salvar software").click()
    expect(dialog.get_by_role("status")).to_contain_text("O plano foi alterado.")

    # Focus stays inside the dialog both ways; Escape closes it and focus returns to Configurações.
    for key_name in ["Tab"] * 25 + ["Shift+Tab"] * 25:
        page.keyboard.press(key_name)
        assert page.evaluate("document.querySelector('#modal [role=dialog]').contains(document.activeElement)")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(opener).to_be_focused()

    db.session.rollback()
    client = db.session.get(Organisation, office.client.id)
    assert db.session.scalar(db.select(ClientCertificate.tax_id).filter_by(organisation_id=client.id)) == CNPJ
    assert integration.organisation_for_key(office.key) is None
    assert integration.organisation_for_key(fresh).id == client.id
    assert client.status == "blocked"
    sub = db.session.scalar(db.select(Subscription).filter_by(organisation_id=client.id))
    assert (sub.payer_id, sub.plan_id) == (office.office.id, office.upper.id)


def test_a_brazilian_manager_keeps_its_data_and_brings_in_clients(app, new_page, screenshot):
    office = Office("BR")
    page = new_page(locale="pt-BR")
    log_in(page, office.manager.email)
    page.get_by_role("link", name="Meus dados").click()
    expect(page.get_by_role("link", name="Básicos")).to_have_attribute("aria-current", "page")
    tabs = page.get_by_role("navigation", name="Meus dados")
    tabs.get_by_role("link", name="E-mails", exact=True).click()
    page.get_by_label("Novo e-mail").fill("fiscal@horizonte.com.br")
    page.get_by_role("button", name="Adicionar").click()
    expect(page.locator("#linked_emails")).to_contain_text("fiscal@horizonte.com.br")
    page.get_by_role("button", name="Remover fiscal@horizonte.com.br").click()
    expect(page.locator("#linked_emails")).not_to_contain_text("fiscal@horizonte.com.br")
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count()).select_from(ResellerEmail)) == 0
    page.get_by_role("navigation", name="Meus dados").get_by_role("link", name="Senha").click()
    page.wait_for_url(lambda url: url.endswith("/account/password"))
    expect(page.locator("h1")).to_be_visible()
    page.goto("/reseller/my-data")
    page.get_by_role("navigation", name="Meus dados").get_by_role("link", name="Pagamento").click()
    page.wait_for_url(lambda url: url.endswith("/reseller/payment"))
    expect(page.locator("h1")).to_contain_text("Pagamento")

    page.goto("/reseller/")
    page.get_by_role("link", name="Novo cliente").click()
    page.get_by_role("link", name="Enviar link de contratação").click()
    page.locator("#payer").select_option("client")
    page.locator("#software").select_option(str(office.software.id))
    page.locator("#plan").select_option(str(office.basic.id))
    page.get_by_role("button", name="Criar o link").click()
    assert "/signup?hire=" in page.get_by_label("Link para o cliente").input_value()

    page.goto("/reseller/clients/new")
    page.get_by_role("link", name="Novo cadastro").click()
    page.locator("#payer").select_option("reseller")
    page.locator("#software").select_option(str(office.software.id))
    page.locator("#plan").select_option(str(office.basic.id))
    page.get_by_label("Razão social do cliente").fill("Mercado Bom Preço Ltda")
    page.get_by_label("Identificação fiscal do cliente").fill("11.222.333/0001-81")
    page.get_by_label("Pessoa de contato").fill("Rita Gomes")
    page.get_by_label("E-mail do cliente").fill("rita@bompreco.com.br")
    page.get_by_role("button", name="Ver o preço").click()
    expect(page.locator("#quote")).to_contain_text("R$ 29,95")  # the reseller price: half of R$ 59,90
    page.get_by_role("button", name="Cadastrar").click()
    expect(page.get_by_role("status").filter(has_text="foi cadastrado em teste")).to_be_visible()
    db.session.rollback()
    client = db.session.scalar(db.select(Organisation).filter_by(tax_id="11222333000181"))
    assert client.reseller_id == office.office.id


@pytest.mark.parametrize("width", [1280, 390])
def test_the_key_flows_work_without_javascript(app, new_page, screenshot, tmp_path, width):
    office = Office("BR")
    pfx = tmp_path / "padaria.pfx"
    pfx.write_bytes(make_pfx(CNPJ))
    page = new_page(width=width, locale="pt-BR", javascript=False)
    log_in(page, office.manager.email)
    page.get_by_label("Nome ou CNPJ/CPF").fill(CNPJ)
    page.get_by_role("button", name="Buscar").click()
    expect(page.locator("#clients tbody tr")).to_have_count(1)
    with page.expect_download() as download:
        page.get_by_role("link", name="Exportar como CSV").click()
    assert len(csv_rows(download.value)) == 2
    page.get_by_role("link", name="Gerenciar Padaria Pão Dourado Ltda").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Padaria Pão Dourado")
    assert not layout_problems(page)

    # Without JavaScript the page stops on its link; the click continues to the software.
    opened, csp = watch_software(page, FAZNOTA)
    with page.expect_popup() as popup:
        page.get_by_role("button", name="Acessar software do cliente").click()
    tab = popup.value
    expect(tab.get_by_role("heading", name="Abrindo FazNota")).to_be_visible()
    assert not layout_problems(tab)
    screenshot(tab, f"reseller-walk-software-open-no-js-{width}")
    assert not opened
    tab.get_by_role("link", name="Continuar para FazNota").click()
    tab.wait_for_url(lambda url: url.startswith(FAZNOTA))
    assert not csp, csp
    assert_single_use(opened[0], office)
    tab.close()

    page.get_by_role("link", name="Configurações").click()
    page.get_by_label("Arquivo do certificado (PFX)").set_input_files(str(pfx))
    page.get_by_label("Senha do arquivo PFX").fill(PASSWORD)
    page.get_by_role("button", name="Enviar certificado").click()
    expect(page.get_by_role("main")).to_contain_text("Parabéns!")
    page.get_by_role("link", name="Chave de integração").click()
    page.get_by_role("button", name="Mostrar").click()
    expect(page.get_by_label("Chave de integração")).to_have_value(office.key)
    page.get_by_role("link", name="Gerar nova chave").click()
    page.get_by_role("button", name="Gerar nova chave").click()
    fresh = page.get_by_label("Chave de integração").input_value()
    assert fresh != office.key
    page.get_by_role("link", name="Software", exact=True).click()
    page.get_by_label("Plano").select_option(str(office.upper.id))
    page.get_by_role("button", name="Ver a mudança").click()
    expect(page.get_by_role("status").filter(has_text="R$")).to_be_visible()
    assert not layout_problems(page)
    screenshot(page, f"reseller-walk-software-no-js-{width}")
    page.get_by_role("button", name="Salvar software").click()
    expect(page.get_by_role("status").filter(has_text="O plano foi alterado.")).to_be_visible()
    db.session.rollback()
    assert integration.organisation_for_key(fresh).id == office.client.id
    sub = db.session.scalar(db.select(Subscription).filter_by(organisation_id=office.client.id))
    assert sub.plan_id == office.upper.id


def test_the_chilean_manager_walks_it_in_spanish(app, new_page, screenshot):
    office = Office("CL")
    page = new_page(locale="es-CL")
    log_in(page, office.manager.email)
    expect(page.get_by_role("heading", name="Panel", exact=True)).to_be_visible()
    page.get_by_label("Nombre o RUT").fill(RUT)
    page.get_by_role("button", name="Buscar").click()
    expect(page.locator("#clients tbody tr")).to_have_count(1)
    expect(page.locator("#clients")).to_contain_text("77.123.456-9")
    page.get_by_label("Quién paga").select_option("reseller")
    page.get_by_label("Nombre o RUT").fill("")
    page.get_by_role("button", name="Buscar").click()
    expect(page.locator("#clients tbody tr")).to_have_count(1)
    expect(page.locator("#clients")).to_contain_text("Librería El Quijote SpA")
    page.goto("/reseller/")
    page.get_by_role("link", name="Gestionar Panadería Los Aromos SpA").click()
    open_software(page, office, "Acceder al software del cliente", ERP)

    opener = page.get_by_role("link", name="Configuración")
    opener.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Archivo del certificado (PFX)")).to_be_visible()
    dialog.get_by_role("link", name="Clave de integración").click()
    # "No llave" holds on the certificate's tab as well: read the key's tab once it is the one shown.
    expect(dialog.get_by_role("link", name="Clave de integración")).to_have_attribute("aria-current", "page")
    expect(dialog).to_contain_text("clave")
    expect(dialog).not_to_contain_text("llave")
    dialog.get_by_role("button", name="Mostrar").click()
    expect(dialog.get_by_label("Clave de integración")).to_have_value(office.key)
    dialog.get_by_role("link", name="Generar nueva clave").click()
    expect(dialog.get_by_role("alert")).to_contain_text("La clave actual")
    dialog.get_by_role("button", name="Generar nueva clave").click()
    expect(dialog.get_by_role("status")).to_contain_text("nueva clave")
    screenshot(page, "reseller-walk-es-key")
    dialog.get_by_role("link", name="Contrato").click()
    dialog.get_by_label("El revendedor").check()
    dialog.get_by_role("button", name="Guardar").click()
    expect(dialog.get_by_role("status")).to_contain_text("El contrato fue guardado.")
    dialog.get_by_role("link", name="Software").click()
    dialog.get_by_label("Plan").select_option(str(office.upper.id))
    dialog.get_by_role("button", name="Ver el cambio").click()
    expect(dialog.get_by_role("status")).to_contain_text("Plan Pro")
    dialog.get_by_role("button", name="Guardar software").click()
    expect(dialog.get_by_role("status")).to_contain_text("El plan fue cambiado.")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(opener).to_be_focused()

    page.get_by_role("link", name="Mis datos").click()
    page.get_by_role("navigation", name="Mis datos").get_by_role("link", name="Correos", exact=True).click()
    page.get_by_label("Nuevo correo").fill("sii@contasur.cl")
    page.get_by_role("button", name="Agregar").click()
    expect(page.locator("#linked_emails")).to_contain_text("sii@contasur.cl")
    page.goto("/reseller/")
    page.get_by_role("link", name="Nuevo cliente").click()
    expect(page.get_by_role("link", name="Enviar enlace de contratación")).to_be_visible()
    expect(page.get_by_role("link", name="Nuevo registro")).to_be_visible()
    db.session.rollback()
    sub = db.session.scalar(db.select(Subscription).filter_by(organisation_id=office.client.id))
    assert (sub.payer_id, sub.plan_id) == (office.office.id, office.upper.id)


@pytest.mark.parametrize("javascript", [True, False])
def test_an_accountant_reads_the_list_and_nothing_else(app, new_page, javascript):
    office = Office("BR")
    page = new_page(locale="pt-BR", javascript=javascript)
    log_in(page, office.accountant.email)
    expect(page.locator("#clients")).to_contain_text("Padaria Pão Dourado Ltda")
    page.get_by_label("Nome ou CNPJ/CPF").fill(CNPJ)
    page.get_by_role("button", name="Buscar").click()
    expect(page.locator("#clients tbody tr")).to_have_count(1)
    with page.expect_download() as download:
        page.get_by_role("link", name="Exportar como CSV").click()
    assert len(csv_rows(download.value)) == 2
    expect(page.get_by_role("link", name="Gerenciar Padaria Pão Dourado Ltda")).to_have_count(0)
    expect(page.locator("#clients th", has_text="Gerenciar")).to_have_count(0)
    expect(page.get_by_role("link", name="Novo cliente")).to_have_count(0)
    token = page.locator("body").get_attribute("hx-headers").split('"X-CSRFToken": "', 1)[1].split('"', 1)[0]
    client = office.client.id
    for path in (f"/reseller/clients/{client}", f"/reseller/clients/{client}/settings/integration",
                 f"/reseller/clients/{client}/settings/integration/generate", "/reseller/clients/new"):
        assert page.goto(path).status == 403, path
    for path in (f"/reseller/clients/{client}/software", f"/reseller/clients/{client}/settings/integration/reveal"):
        assert page.request.post(path, form={"csrf_token": token}).status == 403, path
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count()).select_from(SoftwareAccessToken)) == 0
