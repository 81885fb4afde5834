"""Reconciliation in the back office: statement files imported and matched to payments, the rows left for a
person to match or dismiss, each list paged and exportable as CSV. Administrators and billing staff only.
"""

import csv
import io

from flask import Response, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.backoffice.reconciliation_forms import MatchLineForm, StatementUploadForm
from portal.backoffice.views import bp
from portal.extensions import db
from portal.htmx import redirect_to, render
from portal.i18n import to_major
from portal.labels import (
    STATEMENT_ERROR_LABELS,
    STATEMENT_IMPORT_STATE_LABELS,
    STATEMENT_KIND_LABELS,
    STATEMENT_LINE_STATE_LABELS,
)
from portal.models.offline import LINE_STATES, StatementImport, StatementLine
from portal.orm import utcnow
from portal.pagination import page_of
from portal.routing import page_arg
from portal.services.errors import DomainError
from portal.services.payments.offline import reconciliation
from portal.services.payments.offline import statement as statements
from portal.services.payments.offline.statement import RowError
from portal.tenancy import roles

RECONCILERS = ("admin", "billing")
# The form's own fields and multipart boundaries around a statement of the largest size.
FORM_OVERHEAD = 64 * 1024


def _allow_statements() -> None:
    """A statement may be larger than other uploads (PORTAL_MAX_UPLOAD_MB): its import's body may be up to
    50 MB. Set before any reader of the form (the CSRF check) runs; a larger body is answered 413."""
    if request.endpoint == "backoffice.reconciliation_import":
        request.max_content_length = statements.MAX_BYTES + FORM_OVERHEAD


bp.record_once(lambda state: state.app.before_request_funcs.setdefault(None, []).insert(0, _allow_statements))


def statement_error(error: RowError) -> str:
    """What is wrong with a file or one of its rows, in the reader's language."""
    return str(STATEMENT_ERROR_LABELS[error.code]) % {"detail": error.detail[:60]}


LABELS = {"statement_kind_labels": STATEMENT_KIND_LABELS, "statement_state_labels": STATEMENT_IMPORT_STATE_LABELS,
          "state_labels": STATEMENT_LINE_STATE_LABELS, "statement_error": statement_error}


def _imports_page():
    query = db.select(StatementImport).order_by(StatementImport.id.desc())
    return page_of(query, page_arg(), count=False)


def _list(form: StatementUploadForm, status: int = 200, report=None):
    return render("backoffice/reconciliation.html", "statements", status=status, form=form, page=_imports_page(),
                  report=report, **LABELS)


@bp.get("/reconciliation")
@roles(*RECONCILERS)
def reconciliation_index():
    """List the imported statements, newest first, with the form to import another."""
    return _list(StatementUploadForm())


@bp.post("/reconciliation")
@roles(*RECONCILERS)
def reconciliation_import():
    """Import a statement file: refused whole with a report of its bad rows, or kept and matched by a job."""
    form = StatementUploadForm()
    if not form.validate():
        return _list(form, 422)
    raw = form.file.data.read(statements.MAX_BYTES + 1)
    try:
        checked = reconciliation.check_statement(raw, form.kind.data, form.currency.data)
        if not checked.statement.ok:
            return _list(form, 422, report=_report(checked.statement.errors, checked.statement.error_count))
        record = reconciliation.create_import(checked, form.file.data.filename or "statement.csv", len(raw),
                                              current_user._get_current_object(), utcnow())
    except DomainError as error:
        db.session.rollback()
        form.file.errors.append(str(error.message))
        return _list(form, error.status)
    reconciliation.queue_matching(record)
    db.session.commit()
    flash(_("The statement was imported: its %(rows)d rows are being matched.", rows=record.total_rows), "success")
    return redirect_to(url_for("backoffice.statement", import_id=record.id))


def _report(errors: list[RowError], count: int) -> dict:
    return {"errors": errors, "count": count}


def _state_arg() -> str | None:
    state = request.args.get("state") or None
    return state if state in LINE_STATES else None


def _lines_query(record: StatementImport, state: str | None):
    query = db.select(StatementLine).where(StatementLine.import_id == record.id).order_by(StatementLine.line)
    return query.where(StatementLine.state == state) if state else query


@bp.get("/reconciliation/<int:import_id>")
@roles(*RECONCILERS)
def statement(import_id: int):
    """Show an import: its progress while it is matched, then its rows by state, to match or dismiss."""
    record = db.session.get(StatementImport, import_id) or abort(404)
    state = _state_arg()
    page = page_of(_lines_query(record, state), page_arg(), count=False)
    block = "statement_progress" if request.args.get("progress") else "statement_lines"
    return render("backoffice/statement.html", block, record=record, state=state, page=page,
                  counts=reconciliation.line_counts(record.id), payments=reconciliation.named_payments(page.items),
                  **LABELS)


@bp.get("/reconciliation/<int:import_id>.csv")
@roles(*RECONCILERS)
def statement_csv(import_id: int):
    """Download the import's rows (of one state, or all) with what each was matched to."""
    record = db.session.get(StatementImport, import_id) or abort(404)
    state = _state_arg()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Line"), _("Date"), _("Amount"), _("Currency"), _("Text"), _("State"), _("Payment")])
    lines = list(db.session.scalars(_lines_query(record, state)))
    named = reconciliation.named_payments(lines)
    for line in lines:
        payment = named.get(line.named_payment_id)
        writer.writerow([line.line, line.paid_on.isoformat(), to_major(line.amount, line.currency),
                         line.currency, line.text, str(STATEMENT_LINE_STATE_LABELS[line.state]),
                         payment.reference if payment is not None else ""])
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename=statement-{record.id}.csv"
    return response


def _line(import_id: int, row_id: int) -> StatementLine:
    line = db.session.get(StatementLine, row_id)
    if line is None or line.import_id != import_id:
        abort(404)
    return line


@bp.post("/reconciliation/<int:import_id>/lines/<int:row_id>/match")
@roles(*RECONCILERS)
def statement_line_match(import_id: int, row_id: int):
    """Match a row by hand to the payment a reference names."""
    line = _line(import_id, row_id)
    form = MatchLineForm()
    back = url_for("backoffice.statement", import_id=import_id, state=request.args.get("state") or None)
    if form.validate():
        try:
            payment = reconciliation.match_line(line, form.reference.data, current_user._get_current_object(),
                                                utcnow())
        except DomainError as error:
            db.session.rollback()
            flash(_("Row %(line)d: %(message)s", line=line.line, message=error.message), "error")
            return redirect_to(back)
        db.session.commit()
        flash(_("Row %(line)d paid %(reference)s.", line=line.line, reference=payment.reference), "success")
    else:
        flash(_("Row %(line)d: %(message)s", line=line.line, message=" ".join(form.reference.errors)
                or _("The form has expired. Reload the page and send it again.")), "error")
    return redirect_to(back)


@bp.post("/reconciliation/<int:import_id>/lines/<int:row_id>/dismiss")
@roles(*RECONCILERS)
def statement_line_dismiss(import_id: int, row_id: int):
    """Dismiss a row that pays nothing of ours."""
    line = _line(import_id, row_id)
    back = url_for("backoffice.statement", import_id=import_id, state=request.args.get("state") or None)
    try:
        reconciliation.dismiss_line(line, current_user._get_current_object(), utcnow())
    except DomainError as error:
        db.session.rollback()
        flash(_("Row %(line)d: %(message)s", line=line.line, message=error.message), "error")
        return redirect_to(back)
    db.session.commit()
    flash(_("Row %(line)d dismissed.", line=line.line), "success")
    return redirect_to(back)
