"""Supplier XMLs in a real browser: a Brazilian manager (in Portuguese) opens XMLs de fornecedores from
Gerenciar, recognises one XML, finds it under Reconhecidos, fetches an earlier month with Buscar mais and
downloads an XML named by its access key — with htmx, and again without JavaScript."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import FiscalDocument
from tests import factories
from tests.browser.conftest import log_in
from tests.nfe import RECIPIENT, make_nfe
from tests.reseller.helpers import make_client, supplier_xml


def office_with_xmls():
    office = factories.make_org("reseller", "BR", name="Contabilidade Horizonte Ltda")
    padaria = make_client(office, "Padaria Pão Dourado Ltda", tax_id=RECIPIENT)
    manager = factories.make_member("reseller", "manager", organisation=office, locale="pt_BR")
    db.session.commit()
    aurora = supplier_xml(padaria, 7, issuer_name="DISTRIBUIDORA AURORA LTDA")
    supplier_xml(padaria, 8, issuer_name="LATICÍNIOS SERRA AZUL LTDA", total="89.90")
    old = supplier_xml(padaria, 9, "2025-03-10T09:00:00-03:00", issuer_name="MOINHO SANTA CLARA LTDA")
    return padaria, manager.user.email, aurora, old


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_a_manager_recognises_a_supplier_xml_and_downloads_one(app, new_page, screenshot, javascript):
    padaria, manager, aurora, old = office_with_xmls()
    page = new_page(locale="pt-BR", javascript=javascript, accept_downloads=True)
    log_in(page, manager)
    page.goto(f"/reseller/clients/{padaria.id}")
    page.get_by_role("link", name="XMLs de fornecedores").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("XMLs de fornecedores")
    table = page.locator("#supplier-xmls table")
    expect(table).to_contain_text("DISTRIBUIDORA AURORA LTDA")
    expect(table).to_contain_text("LATICÍNIOS SERRA AZUL LTDA")
    if javascript:
        screenshot(page, "reseller-supplier-xmls")
    page.get_by_role("button", name="Reconhecer a NF-e 7 de DISTRIBUIDORA AURORA LTDA").click()
    # Said in a status region: the page's flash without JavaScript, the toast with it.
    expect(page.get_by_role("status").filter(has_text="1 XML foi reconhecido.").first).to_be_visible()
    expect(table).not_to_contain_text("DISTRIBUIDORA AURORA LTDA")
    page.get_by_role("link", name="Reconhecidos (1)").click()
    expect(page.locator("#supplier-xmls table")).to_contain_text("DISTRIBUIDORA AURORA LTDA")
    expect(page.locator("#supplier-xmls table")).to_contain_text("Reconhecido em")
    db.session.rollback()
    assert db.session.get(FiscalDocument, aurora.id).recognised_at is not None

    page.get_by_label("Ano").select_option("2025")
    page.get_by_label("Mês").select_option("3")
    page.get_by_role("button", name="Buscar mais").click()
    expect(page.get_by_role("heading", level=2, name="Março de 2025")).to_be_visible()
    page.get_by_role("link", name="Pendentes (1)").click()
    expect(page.locator("#supplier-xmls table")).to_contain_text("MOINHO SANTA CLARA LTDA")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Baixar o XML da NF-e 9").click()
    download = download_info.value
    assert download.suggested_filename == f"{old.access_key}.xml"
    assert Path(download.path()).read_bytes() == make_nfe(number=9, issued_at="2025-03-10T09:00:00-03:00",
                                                          year_month="2503", issuer_name="MOINHO SANTA CLARA LTDA")
    if javascript:
        screenshot(page, "reseller-supplier-xmls-march")
