"""Issued XMLs and Reports and documents on Manage a client: a month's ZIP streamed to the manager, a large
month prepared by a job with its progress shown; managers only, only the reseller's own clients, and a month
or type that is not offered refused with a translated message."""

import io
import re
import zipfile
from datetime import timedelta

import pytest
from pypdf import PdfReader

from portal.extensions import db
from portal.orm import utcnow
from portal.services.fiscal import prepared, summary_pdf
from tests import factories
from tests.reseller.helpers import logged_in, make_client
from tests.services.fiscal_helpers import CNPJ, issue, this_month


@pytest.fixture
def aurora(office):
    client = make_client(office, "Distribuidora Aurora Ltda", tax_id=CNPJ, timezone="America/Sao_Paulo")
    db.session.commit()
    return client


@pytest.fixture
def manager(login_as, office):
    return logged_in(login_as, "reseller", "manager", organisation=db.session.merge(office), locale="pt_BR")


def text_of(response) -> str:
    return response.get_data(as_text=True)


def post_month(manager, client_id: int, kind: str = "xml", month: str | None = None, model: str = "55",
               htmx: bool = False):
    page = text_of(manager.get(f"/reseller/clients/{client_id}"))
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    if month is None:
        month = re.search(r'<option value="(\d{4}-\d{2})" selected>', page).group(1)
    return manager.post(f"/reseller/clients/{client_id}/fiscal/{kind}",
                        data={"csrf_token": token, "month": month, "model": model},
                        headers={"HX-Request": "true"} if htmx else {}, buffered=True)


def test_the_client_page_offers_both_forms_with_the_months_and_types(manager, aurora):
    page = text_of(manager.get(f"/reseller/clients/{aurora.id}"))
    assert "XMLs emitidos" in page and "Relatórios e documentos" in page
    assert f'action="/reseller/clients/{aurora.id}/fiscal/xml"' in page
    assert f'action="/reseller/clients/{aurora.id}/fiscal/reports"' in page
    assert page.count('<option value="55"') == 2 and page.count('<option value="65"') == 2
    assert len(re.findall(r'<option value="\d{4}-\d{2}"', page)) == 2 * 13


def test_a_manager_downloads_the_months_issued_xmls_streamed(manager, aurora):
    month = this_month(aurora)
    xmls = [issue(aurora, month, 1, number, "10.00") for number in (1, 2)]
    issue(aurora, month, 1, 3, "10.00", model="65")
    db.session.commit()
    response = post_month(manager, aurora.id, "xml", month.code, "55")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "Content-Length" not in response.headers  # streamed as it is zipped: its length is not known ahead
    assert response.headers["Cache-Control"] == "no-store"
    assert f'filename="NFe-{month.code}-{CNPJ}.zip"' in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    assert sorted(archive.read(name) for name in archive.namelist()) == sorted(xmls)


def test_the_reports_zip_has_the_nfces_and_their_summary_in_the_managers_language(manager, aurora):
    month = this_month(aurora)
    issue(aurora, month, 2, 1, "19.90", model="65", cfops=("5102", "5405"))
    db.session.commit()
    response = post_month(manager, aurora.id, "reports", month.code, "65")
    assert response.status_code == 200
    assert f'filename="relatorio-NFCe-{month.code}-{CNPJ}.zip"' in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    names = archive.namelist()
    assert len(names) == 2 and names[-1] == summary_pdf.pdf_filename(month, "65")
    text = " ".join(PdfReader(io.BytesIO(archive.read(names[-1]))).pages[0].extract_text().split())
    assert "R$ 19,90" in text and "5405 1 R$ 1,00" in text and "NFC-e (modelo 65)" in text


@pytest.mark.parametrize("field, value, message", [
    ("month", "1999-01", "Escolha o mês atual ou um dos 12 anteriores."),
    ("month", "nope", "Escolha o mês atual ou um dos 12 anteriores."),
    ("model", "57", "Escolha NF-e (modelo 55) ou NFC-e (modelo 65)."),
])
def test_a_month_or_type_not_offered_is_refused_in_the_managers_language(manager, aurora, field, value, message):
    response = post_month(manager, aurora.id, "xml", **{field: value})
    assert response.status_code == 400 and message in text_of(response)
    assert response.mimetype == "text/html"


def test_an_unknown_report_is_not_found(manager, aurora):
    assert post_month(manager, aurora.id, "pdf").status_code == 404


def test_a_client_of_another_reseller_is_not_found(manager, aurora, login_as):
    other = make_client(factories.make_org("reseller", "BR"), "Outra Empresa Ltda")
    db.session.commit()
    page = text_of(manager.get(f"/reseller/clients/{aurora.id}"))
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = manager.post(f"/reseller/clients/{other.id}/fiscal/xml",
                            data={"csrf_token": token, "month": this_month(other).code, "model": "55"})
    assert response.status_code == 404


def test_accountants_get_neither_the_forms_nor_the_routes(login_as, office, aurora):
    accountant = logged_in(login_as, "reseller", "accountant", organisation=db.session.merge(office))
    job = prepared.create(office.id, aurora.id, accountant.user.id, "xml", this_month(aurora).code, "55", "en", 1,
                          "x.zip", utcnow())
    assert accountant.get(f"/reseller/clients/{aurora.id}").status_code == 403
    assert "fiscal" not in text_of(accountant.get("/reseller/"))
    assert accountant.post(f"/reseller/clients/{aurora.id}/fiscal/xml", data={}).status_code in (400, 403)
    assert accountant.get(f"/reseller/clients/{aurora.id}/fiscal/jobs/{job.id}").status_code == 403
    assert accountant.get(f"/reseller/clients/{aurora.id}/fiscal/jobs/{job.id}/download").status_code == 403


def test_a_large_month_is_prepared_by_a_job_then_downloaded(app, manager, aurora, monkeypatch):
    monkeypatch.setitem(app.config, "FISCAL_ZIP_PREPARE_FROM", 3)
    month = this_month(aurora)
    xmls = [issue(aurora, month, 1, number, "1.00") for number in (1, 2, 3)]
    db.session.commit()
    response = post_month(manager, aurora.id, "reports", month.code, "55")
    assert response.status_code == 303
    progress = response.headers["Location"]
    assert re.fullmatch(rf"/reseller/clients/{aurora.id}/fiscal/jobs/[A-Za-z0-9_-]{{22}}", progress)
    page = text_of(manager.get(progress))  # the test queue runs the job at once: it is ready
    assert "O ZIP está pronto" in page and "3 XMLs estão nele." in page and 'http-equiv="refresh"' not in page
    fragment = text_of(manager.get(progress, headers={"HX-Request": "true"}))
    assert "<html" not in fragment and 'id="fiscal-progress"' in fragment and "hx-trigger" not in fragment
    download = manager.get(progress + "/download")
    assert download.status_code == 200 and download.headers["Cache-Control"] == "no-store"
    assert f"relatorio-NFe-{month.code}-{CNPJ}.zip" in download.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(download.get_data()))
    assert sorted(archive.read(name) for name in archive.namelist()[:-1]) == sorted(xmls)
    assert archive.namelist()[-1].endswith(".pdf")


def test_a_job_still_running_shows_its_progress_and_polls(manager, aurora, office):
    job = prepared.create(office.id, aurora.id, manager.user.id, "xml", this_month(aurora).code, "55", "pt_BR",
                          2500, "NFe.zip", utcnow())
    job.state, job.done = prepared.RUNNING, 1000
    prepared.save(job)
    url = f"/reseller/clients/{aurora.id}/fiscal/jobs/{job.id}"
    page = text_of(manager.get(url))
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    assert 'hx-trigger="every 1s"' in page and 'value="1000"' in page and "1.000 de 2.500 XMLs" in page
    assert manager.get(url + "/download").status_code == 404  # not ready yet
    job.state = prepared.FAILED
    prepared.save(job)
    assert "não pôde ser preparado" in text_of(manager.get(url))


def test_a_job_is_only_its_managers_for_its_client(manager, aurora, office, login_as):
    job = prepared.create(office.id, aurora.id, manager.user.id, "xml", this_month(aurora).code, "55", "en", 1,
                          "x.zip", utcnow())
    other_client = make_client(db.session.merge(office), "Oficina Boa Vista Ltda")
    colleague = logged_in(login_as, "reseller", "manager", organisation=db.session.merge(office))
    assert manager.get(f"/reseller/clients/{other_client.id}/fiscal/jobs/{job.id}").status_code == 404
    assert colleague.get(f"/reseller/clients/{aurora.id}/fiscal/jobs/{job.id}").status_code == 404
    assert manager.get(f"/reseller/clients/{aurora.id}/fiscal/jobs/..%2Fsecret_key").status_code == 404
    assert manager.get(f"/reseller/clients/{aurora.id}/fiscal/jobs/{'a' * 22}").status_code == 404


def test_prepared_files_are_removed_after_a_day(app, aurora, office):
    old = prepared.create(office.id, aurora.id, 1, "xml", "2026-01", "55", "en", 1, "x.zip",
                          utcnow() - timedelta(hours=prepared.KEEP_HOURS + 1))
    prepared.zip_path(old).write_bytes(b"PK")
    fresh = prepared.create(office.id, aurora.id, 1, "xml", "2026-01", "55", "en", 1, "x.zip", utcnow())
    assert prepared.read(old.id) is None and not prepared.zip_path(old).exists()
    assert prepared.read(fresh.id) is not None
