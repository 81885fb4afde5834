"""A client's fiscal months for its reseller's manager: *Issued XMLs* ("XMLs emitidos") — the month's issued
NF-e or NFC-e as a ZIP — and *Reports and documents* ("Relatórios e documentos") — the same ZIP with the
month's summary PDF. A month is streamed as it is zipped; a large one (FISCAL_ZIP_PREPARE_FROM documents or
more) is prepared by a job whose progress the page shows (htmx polls it, a page without JavaScript refreshes
itself), then downloaded."""

from flask import Response, abort, current_app, g, request, send_file, stream_with_context, url_for
from flask_babel import format_date, get_locale
from flask_login import current_user

from portal import jobs
from portal.htmx import redirect_to, render
from portal.orm import utcnow
from portal.reseller import client_views
from portal.reseller.views import bp
from portal.services.errors import DomainError
from portal.services.fiscal import month_zip, months, prepared
from portal.services.resellers import clients
from portal.tenancy import roles

PROGRESS = "reseller/fiscal_progress.html"


def fiscal_forms(client, now) -> dict:
    """What the client page's two forms offer: the months (current first) and the two types."""
    return {"months": [(month.code, format_date(month.first_day, "MMMM y")) for month in
                       months.month_choices(client, now)],
            "models": [(code, str(label)) for code, label in months.MODEL_LABELS.items()],
            "month": months.current_month(client, now).code, "model": "55", "errors": {}}


def _client(client_id: int):
    return clients.client_of(g.organisation, client_id) or abort(404)


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"  # a client's fiscal documents stay out of every cache
    return response


@bp.post("/clients/<int:client_id>/fiscal/<kind>")
@roles("manager")
def fiscal_month_zip(client_id: int, kind: str):
    """The month's ZIP of issued XMLs (with its summary PDF for the reports), streamed; for a large month, a job
    prepares it and the answer is the page of its progress."""
    client = _client(client_id)
    if kind not in month_zip.KINDS:
        abort(404)
    now = utcnow()
    try:
        month = months.parse_month(request.form.get("month"), client, now)
        model = months.parse_model(request.form.get("model"))
    except DomainError as error:
        fiscal = {"kind": kind, "month": request.form.get("month", ""), "model": request.form.get("model", ""),
                  "errors": {kind: str(error.message)}}
        return client_views.client_page(client, status=error.status, fiscal=fiscal)
    locale = str(get_locale() or "en")
    filename = month_zip.zip_filename(client, month, model, kind)
    count = months.count_issued(client, month, model)
    if count >= current_app.config["FISCAL_ZIP_PREPARE_FROM"]:
        job = prepared.create(g.organisation.id, client.id, current_user.id, kind, month.code, model, locale, count,
                              filename, now)
        jobs.prepare_fiscal_zip(job.id)
        return redirect_to(url_for("reseller.fiscal_zip_progress", client_id=client.id, job_id=job.id))
    chunks = month_zip.month_zip(client, month, model, kind, locale=locale)
    response = Response(stream_with_context(chunks), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return _no_store(response)


def _job(client, job_id: str) -> prepared.Prepared:
    return prepared.load(job_id, g.organisation.id, client.id, current_user.id) or abort(404)


@bp.get("/clients/<int:client_id>/fiscal/jobs/<job_id>")
@roles("manager")
def fiscal_zip_progress(client_id: int, job_id: str):
    """How far the preparation of a large month's ZIP is; the link to the file once it is ready."""
    client = _client(client_id)
    job = _job(client, job_id)
    month = next((label for code, label in fiscal_forms(client, utcnow())["months"] if code == job.month),
                 job.month)
    return _no_store(render(PROGRESS, "progress", client=client, job=job, month_label=month,
                            model_label=months.MODEL_LABELS.get(job.model, job.model)))


@bp.get("/clients/<int:client_id>/fiscal/jobs/<job_id>/download")
@roles("manager")
def fiscal_zip_download(client_id: int, job_id: str):
    """The prepared ZIP, read from its file in chunks."""
    client = _client(client_id)
    job = _job(client, job_id)
    path = prepared.zip_path(job)
    if job.state != prepared.READY or not path.is_file():
        abort(404)
    return _no_store(send_file(path, mimetype="application/zip", as_attachment=True, download_name=job.filename,
                               conditional=False, etag=False))
