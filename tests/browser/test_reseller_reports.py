"""Issued XMLs and Reports and documents in a real browser: a Brazilian manager (in Portuguese) downloads a
month's ZIP from Gerenciar, with JavaScript and without; a large month shows its progress while the job
prepares it, then offers the file."""

import io
import zipfile

import pytest
from playwright.sync_api import expect

from portal import jobs
from portal.extensions import db
from portal.services.fiscal import prepared
from portal.workflows import fiscal_zips
from tests import factories
from tests.browser.conftest import log_in
from tests.reseller.helpers import make_client
from tests.services.fiscal_helpers import CNPJ, issue, this_month


def office_with_a_month():
    office = factories.make_org("reseller", "BR", name="Contabilidade Horizonte Ltda")
    aurora = make_client(office, "Distribuidora Aurora Ltda", tax_id=CNPJ, timezone="America/Sao_Paulo")
    manager = factories.make_member("reseller", "manager", organisation=office, locale="pt_BR")
    month = this_month(aurora)
    xmls = [issue(aurora, month, 1, number, "120.50", cfops=("5102",)) for number in (1, 2)]
    issue(aurora, month, 1, 3, "9.90", model="65")
    db.session.commit()
    return aurora, manager.user.email, month, xmls


def zip_of(download) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(open(download.path(), "rb").read()))


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_a_manager_downloads_the_months_issued_xmls_and_its_report(new_page, screenshot, javascript):
    aurora, manager, month, xmls = office_with_a_month()
    page = new_page(locale="pt-BR", javascript=javascript, accept_downloads=True)
    log_in(page, manager)
    page.goto(f"/reseller/clients/{aurora.id}")
    issued = page.locator("#fiscal-xml")
    expect(issued.get_by_role("heading")).to_have_text("XMLs emitidos")
    issued.get_by_label("Mês").select_option(month.code)
    issued.get_by_label("Tipo").select_option(label="NF-e (modelo 55)")
    if javascript:
        screenshot(page, "reseller-client-fiscal-forms")
    with page.expect_download() as caught:
        issued.get_by_role("button", name="Baixar os XMLs").click()
    download = caught.value
    assert download.suggested_filename == f"NFe-{month.code}-{CNPJ}.zip"
    assert sorted(zip_of(download).read(name) for name in zip_of(download).namelist()) == sorted(xmls)
    reports = page.locator("#fiscal-reports")
    expect(reports.get_by_role("heading")).to_have_text("Relatórios e documentos")
    reports.get_by_label("Tipo").select_option("65")
    with page.expect_download() as caught:
        reports.get_by_role("button", name="Baixar o relatório").click()
    names = zip_of(caught.value).namelist()
    assert len(names) == 2 and names[-1] == f"resumo-NFCe-{month.code}.pdf"
    expect(page.locator("h1")).to_have_text("Distribuidora Aurora Ltda")  # the page stays where it was


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_a_large_month_shows_its_progress_then_downloads(app, new_page, screenshot, monkeypatch, javascript):
    aurora, manager, month, xmls = office_with_a_month()
    monkeypatch.setitem(app.config, "FISCAL_ZIP_PREPARE_FROM", 2)
    queued = []
    monkeypatch.setattr(jobs, "prepare_fiscal_zip", queued.append)  # the worker runs it below, when the test says
    page = new_page(locale="pt-BR", javascript=javascript, accept_downloads=True)
    log_in(page, manager)
    page.goto(f"/reseller/clients/{aurora.id}")
    page.locator("#fiscal-xml").get_by_role("button", name="Baixar os XMLs").click()
    progress = page.locator("#fiscal-progress")
    expect(progress).to_contain_text("Preparando o ZIP…")
    expect(progress).to_contain_text("Este mês tem 2 XMLs")
    expect(progress).to_contain_text("0 de 2 XMLs compactados (0%).")
    if javascript:
        screenshot(page, "reseller-client-fiscal-progress")
    assert len(queued) == 1
    assert fiscal_zips.prepare(queued[0]).state == prepared.READY
    link = progress.get_by_role("link", name=f"Baixar NFe-{month.code}-{CNPJ}.zip")
    expect(link).to_be_visible(timeout=8_000)  # htmx polls every second; the page without JS refreshes itself
    expect(progress).to_contain_text("2 XMLs estão nele.")
    if javascript:
        screenshot(page, "reseller-client-fiscal-ready")
    with page.expect_download() as caught:
        link.click()
    assert sorted(zip_of(caught.value).read(name) for name in zip_of(caught.value).namelist()) == sorted(xmls)
