"""Huey tasks. A worker runs them with `huey_consumer portal.jobs.huey`; tests run them immediately.

`init_app` subscribes the tasks to the work services hand on after a commit (`portal.services.hooks`):
jobs call services and workflows, never the reverse.
"""

import logging
from contextlib import ExitStack, contextmanager
from datetime import timedelta

from flask import g, has_app_context, has_request_context
from huey import crontab
from huey.signals import SIGNAL_ENQUEUED

from portal.extensions import huey
from portal.observability import job_request_id
from portal.services import hooks

log = logging.getLogger(__name__)
_app = None
_REQUEST_ID = "_request_id"


def carry_request_ids(queue) -> None:
    """A job queued by a request carries the request's id (portal/observability.py) to the worker that runs
    it, where the job's log records show it."""

    @queue.signal(SIGNAL_ENQUEUED)
    def tag(_signal, task) -> None:
        if has_request_context() and g.get("request_id"):
            task.kwargs[_REQUEST_ID] = g.request_id

    @queue.pre_execute()
    def take(task) -> None:
        job_request_id.set(task.kwargs.pop(_REQUEST_ID, None))

    @queue.post_execute()
    def drop(_task, _value, _exception) -> None:
        job_request_id.set(None)


carry_request_ids(huey)


def init_app(app) -> None:
    """Committed outbox messages go to `send_email`, committed invoices to the PDF renderer, the sandbox's
    webhooks to their delivery; `flask run` consumes the queue in threads of its own."""
    hooks.on_commit("send_email", _send_committed_emails)
    hooks.on_commit("render_invoice_pdfs", _render_committed_invoices)
    hooks.on_commit("deliver_webhook", _deliver_committed_webhooks)
    hooks.on_commit("match_statement", lambda import_ids: [match_statement(import_id) for import_id in import_ids])
    hooks.on_commit("auto_pay", _queue_auto_pay)
    hooks.on_commit("auto_recharge", _queue_auto_recharge)
    consume_beside_dev_server(app)


_consumer = None


def consume_beside_dev_server(app, workers: int = 2, queue=None):
    """Under `flask run` (the README's first command), run a Huey consumer in daemon threads of the serving
    process, so that e-mails, PDFs, the billing sweep and the sandbox's webhooks happen with nothing else
    started. Not under the reloader's watcher process, not in tests, and only once per process. Production
    runs `huey_consumer` beside gunicorn instead."""
    import click
    from flask.cli import get_debug_flag
    from werkzeug.serving import is_running_from_reloader

    global _consumer
    queue = queue or huey
    context = click.get_current_context(silent=True)
    if context is None or context.command.name != "run" or queue.immediate or (queue is huey and (
            _consumer is not None or app.testing)):
        return None
    reload = context.params.get("reload")
    if (get_debug_flag() if reload is None else reload) and not is_running_from_reloader():
        return None
    consumer = queue.create_consumer(workers=workers, worker_type="thread", periodic=True,
                                     check_worker_health=False)
    # The scheduler and the workers only: Consumer.start() would also take over the server's signals.
    consumer.scheduler.start()
    for _name, worker in consumer.worker_threads:
        worker.start()
    if queue is huey:
        _consumer = consumer
    log.info("job queue consumed by %d worker threads beside the development server", workers)
    return consumer


EMAILS_PER_JOB = 100  # a transaction that stored many messages (a batch's receipts) queues one job per 100


def _send_committed_emails(message_ids: list[int]) -> None:
    if len(message_ids) > 1:
        for start in range(0, len(message_ids), EMAILS_PER_JOB):
            chunk = message_ids[start:start + EMAILS_PER_JOB]
            try:
                send_emails(chunk)
            except Exception:
                log.exception("could not hand %d e-mails to the job queue; the periodic job will send them",
                              len(chunk))
        return
    for message_id in message_ids:
        try:
            send_email(message_id)
        except Exception:
            # The change is committed and the message is in the outbox: the periodic job will send it.
            log.exception("could not hand e-mail %s to the job queue; the periodic job will send it", message_id)


def _render_committed_invoices(invoice_ids: list[int]) -> None:
    if len(invoice_ids) > 1:
        render_invoice_pdfs(invoice_ids)
        return
    for invoice_id in invoice_ids:
        render_invoice_pdf(invoice_id)


def _deliver_committed_webhooks(events: list[tuple[str, str, int]]) -> None:
    now = [(gateway_code, body) for gateway_code, body, delay in events if not delay]
    if len(now) > 1:  # a batch's charges: one job delivers their webhooks
        try:
            deliver_webhooks([list(event) for event in now])
        except Exception:
            log.exception("could not hand %d webhooks to the job queue", len(now))
    for gateway_code, body, delay in events:
        if not delay and len(now) > 1:
            continue
        try:
            if delay:
                deliver_webhook.schedule((gateway_code, body), delay=delay)
            else:
                deliver_webhook(gateway_code, body)
        except Exception:
            log.exception("could not hand a %s webhook to the job queue", gateway_code)


@contextmanager
def _own_app_context():
    """A job queued from a commit hook runs (when the queue is immediate: tests) in an app context and database
    session of its own, never in the session whose commit is being handled."""
    from flask import current_app
    from flask.globals import _cv_app

    if not has_app_context():
        yield
        return
    app = current_app._get_current_object()
    token = _cv_app.set(None)
    try:
        with app.app_context():
            yield
    finally:
        _cv_app.reset(token)


def _queue_auto_pay(attempts: list[tuple[int, int]]) -> None:
    """A billing run's batch of invoices is one job (so the sweep queues one per batch, not per invoice)."""
    with _own_app_context():
        try:
            if len(attempts) > 1:
                auto_pay_invoices([list(attempt) for attempt in attempts])
            else:
                auto_pay_invoice(*attempts[0])
        except Exception:
            # The invoices are committed and open: their customers pay by hand, and dunning reminds them.
            log.exception("could not hand %d auto-pay attempts to the job queue", len(attempts))


def _queue_auto_recharge(entry_ids: list[int]) -> None:
    with _own_app_context():
        for entry_id in entry_ids:
            try:
                auto_recharge(entry_id)
            except Exception:
                log.exception("could not hand the auto-recharge of wallet movement %s to the job queue", entry_id)


@contextmanager
def app_context(writer: bool = True):
    """Tasks run inside the web app's context when called from it, else in one app made per worker;
    their transactions are writers (BEGIN IMMEDIATE on SQLite) unless `writer` is False (a job that only reads
    must not hold the writers' turn)."""
    global _app
    from portal.database import writing

    with ExitStack() as stack:
        if not has_app_context():
            if _app is None:
                from portal import create_app

                _app = create_app()
            stack.enter_context(_app.app_context())
        if writer:
            stack.enter_context(writing())
        yield


@huey.task()
def send_email(message_id: int) -> None:
    """Send one outbox message. A failure is recorded on the message, which stays pending: the periodic
    job below is the retry, so exactly one path sends each message (and the lock keeps two workers from
    sending the same one at once)."""
    from portal.workflows import outbox

    with app_context(), huey.lock_task(f"send-email-{message_id}"):
        outbox.send_outbox_message(message_id)


@huey.task()
def send_emails(message_ids: list[int]) -> None:
    """Send outbox messages stored together, one after the other, as `send_email` sends each (one another
    worker is sending is left to it; one that fails stays pending for the periodic job)."""
    from huey.exceptions import TaskLockedException

    from portal.workflows import outbox

    with app_context():
        for message_id in message_ids:
            try:
                with huey.lock_task(f"send-email-{message_id}"):
                    outbox.send_outbox_message(message_id)
            except TaskLockedException:
                continue
            except Exception:
                log.exception("e-mail %s could not be sent; the periodic job will send it", message_id)


@huey.periodic_task(crontab(minute="*/10"))
def resend_pending_email() -> None:
    """The retry and the safety net: every message still pending (a failure, a worker that died) is sent
    again; the ones written in the last two minutes are left to their own job."""
    from portal.services.mail import outbox

    with app_context():
        message_ids = outbox.pending_message_ids(older_than=timedelta(minutes=2))
    for message_id in message_ids:
        send_email(message_id)


@huey.task()
def send_password_reset(email: str, locale: str, address: str | None) -> None:
    """E-mail a password reset link, if the e-mail belongs to an active user (see auth.request_password_reset)."""
    from flask import current_app

    from portal.extensions import db
    from portal.services.accounts import auth

    with app_context():
        auth.request_password_reset(email, locale, address, current_app.config["RESET_TOKEN_HOURS"])
        db.session.commit()


@huey.task(retries=3, retry_delay=60)
def render_invoice_pdf(invoice_id: int) -> None:
    """Render an issued invoice's PDF once and keep it; a second run finds it kept and does nothing."""
    from portal.workflows import invoice_pdfs

    with app_context():
        invoice_pdfs.render_and_store(invoice_id)


@huey.task(retries=3, retry_delay=60)
def render_invoice_pdfs(invoice_ids: list[int]) -> None:
    """Render the PDFs of a batch of issued invoices (a billing run's): one failure does not stop the others,
    and a retry skips those already kept."""
    from portal.workflows import invoice_pdfs

    with app_context():
        failed = invoice_pdfs.render_and_store_many(invoice_ids)
    if failed:
        raise RuntimeError(f"{len(failed)} invoice PDF(s) not rendered: {failed[:20]}")


@huey.task(retries=3, retry_delay=30)
def match_statement(import_id: int) -> None:
    """Match an imported statement's rows to payments, batch by batch (a retry resumes where it stopped)."""
    from portal.workflows import statements

    with app_context(), huey.lock_task(f"match-statement-{import_id}"):
        statements.match_statement(import_id)


@huey.periodic_task(crontab(minute="7,37"))
def render_missing_invoice_pdfs() -> None:
    """Safety net: a recent issued invoice whose PDF job never finished gets it rendered."""
    from portal.services.billing import pdf as invoice_pdf

    with app_context():
        invoice_ids = invoice_pdf.recent_invoices_without_pdf()
    for invoice_id in invoice_ids:
        render_invoice_pdf(invoice_id)


@huey.periodic_task(crontab(minute="5"))
def run_billing_sweep() -> None:
    """Hourly: close every subscription period that has ended — trials, renewals with their invoices, downgrades,
    suspensions and cancellations. Safe to run twice or alongside another worker; a run killed halfway is
    finished by the next."""
    import logging

    from portal.orm import utcnow
    from portal.workflows.billing_run import run_sweep

    with app_context():
        result = run_sweep(utcnow())
    logging.getLogger(__name__).info("billing sweep: %s", result.as_dict())


@huey.task(retries=8, retry_delay=15)
def deliver_webhook(gateway_code: str, body: str) -> None:
    """The sandbox gateway delivers one webhook to the portal; an answer other than accepted (or replayed) is
    retried, as providers retry, 8 times 15 s apart."""
    from portal.workflows import webhook_delivery

    with app_context():
        status = webhook_delivery.deliver(gateway_code, body)
    if status not in webhook_delivery.DELIVERED:
        raise RuntimeError(f"{gateway_code} webhook answered {status}; it will be sent again")


@huey.task()
def deliver_webhooks(events: list[list[str]]) -> None:
    """The sandbox gateway delivers several webhooks (a batch's charges) one after the other, as
    `deliver_webhook` does each; one not accepted is handed to `deliver_webhook` 15 s later, which retries it as
    providers retry."""
    from portal.workflows import webhook_delivery

    failed = []
    with app_context():
        for gateway_code, body in events:
            try:
                status = webhook_delivery.deliver(gateway_code, body)
            except Exception:
                log.exception("a %s webhook could not be delivered; it will be sent again", gateway_code)
                status = None
            if status not in webhook_delivery.DELIVERED:
                failed.append((gateway_code, body))
    for gateway_code, body in failed:
        deliver_webhook.schedule((gateway_code, body), delay=15)


@huey.periodic_task(crontab(minute="15"))
def send_trial_notices() -> None:
    """Tell the customers whose free month ends within a week what comes next (once per trial)."""
    from portal.extensions import db
    from portal.orm import utcnow
    from portal.services import trial_notices

    with app_context():
        trial_notices.send_trial_notices(utcnow())
        db.session.commit()


@huey.periodic_task(crontab(minute="25"))
def run_dunning() -> None:
    """Hourly: reminders before renewals and due dates, invoice and overdue notices, and blocking the accounts
    still unpaid PORTAL_DUNNING_GRACE_DAYS after a due date; each notice once per trigger."""
    from flask import current_app

    from portal.extensions import db
    from portal.orm import utcnow
    from portal.services.notices import dunning

    with app_context():
        result = dunning.run_dunning(utcnow(), current_app.config["DUNNING_GRACE_DAYS"])
        db.session.commit()
    log.info("dunning: %s notices, %d accounts blocked", result.sent, result.blocked)


@huey.periodic_task(crontab(minute="35"))
def send_threshold_notices() -> None:
    """Hourly: tell the organisations whose wallet fell below its threshold, and those whose usage reached 80 %
    or 100 % of a quota in the current period; each notice once per trigger."""
    from portal.extensions import db
    from portal.orm import utcnow
    from portal.services.notices import thresholds

    with app_context():
        result = thresholds.run_threshold_notices(utcnow())
        db.session.commit()
    log.info("threshold notices: %s", result.sent)


@huey.periodic_task(crontab(hour="8", minute="45"))
def send_certificate_reminders() -> None:
    """Daily: remind the clients and their resellers of the digital certificates expiring in 30 and in 7 days."""
    from portal.extensions import db
    from portal.orm import utcnow
    from portal.services.notices import certificates

    with app_context():
        result = certificates.run_certificate_reminders(utcnow())
        db.session.commit()
    log.info("certificate reminders: %s", result.sent)


@huey.periodic_task(crontab(minute="*/15"))
def expire_offline_references() -> None:
    """Every 15 minutes: boleto, Pix and OXXO references past their expiry are marked expired."""
    from portal.extensions import db
    from portal.orm import utcnow
    from portal.services.payments.offline import expiry

    with app_context():
        count = expiry.expire_references(utcnow())
        db.session.commit()
    if count:
        log.info("offline references expired: %d", count)


@huey.periodic_task(crontab(minute="*/10"))
def ask_again_unasked_payments() -> None:
    """Every 10 minutes: a payment claimed but never put to its gateway (the worker asking it stopped in
    between) is asked again, so it neither stays "processing" nor holds its invoice for ever."""
    from portal.orm import utcnow
    from portal.workflows import payments

    with app_context():
        payments.ask_again_unasked(utcnow())


@huey.periodic_task(crontab(minute="*/10"))
def ask_again_unasked_refunds() -> None:
    """Every 10 minutes: a refund to a card claimed but never put to its gateway, or whose answer was lost, is
    asked again (once: its reference is the gateway's idempotency key), so it does not stay "processing"."""
    from portal.orm import utcnow
    from portal.workflows import refunds

    with app_context():
        refunds.ask_again_unasked(utcnow())


@huey.task()
def auto_pay_invoice(invoice_id: int, attempt: int) -> None:
    """One attempt at paying an invoice the sweep issued, from the wallet and the auto-pay card. Run again, it
    finds the attempt's payments made and charges nothing more."""
    from portal.orm import utcnow
    from portal.workflows import auto_pay

    with app_context():
        auto_pay.attempt(invoice_id, attempt, utcnow())


@huey.task()
def auto_pay_invoices(attempts: list[list[int]]) -> None:
    """The attempts of a billing run's batch, one after the other; one that fails does not stop the others
    (and is safe to run again: each attempt's payments are made once)."""
    from portal.orm import utcnow
    from portal.workflows import auto_pay

    with app_context():
        auto_pay.attempt_batch([(invoice_id, attempt) for invoice_id, attempt in attempts], utcnow())


@huey.periodic_task(crontab(minute="35"))
def retry_auto_pay() -> None:
    """Hourly: the automatic payments that failed and whose next attempt is due (1, 3 and 5 days after the
    first) are tried again."""
    from portal.orm import utcnow
    from portal.workflows import auto_pay

    with app_context():
        due = auto_pay.retry_due(utcnow())
    for invoice_id, attempt in due:
        auto_pay_invoice(invoice_id, attempt)
    if due:
        log.info("auto-pay retries: %d", len(due))


@huey.task()
def auto_recharge(entry_id: int) -> None:
    """Top up a wallet that fell under its threshold with the auto-pay card (once per fall)."""
    from portal.orm import utcnow
    from portal.workflows import auto_pay

    with app_context():
        auto_pay.recharge(entry_id, utcnow())


@huey.task()
def prepare_fiscal_zip(job_id: str) -> None:
    """Write a large month's ZIP of issued XMLs (and its summary) to the instance folder, its progress as it goes;
    the manager's page shows it and then offers the file."""
    from portal.workflows import fiscal_zips

    with app_context(writer=False), huey.lock_task(f"fiscal-zip-{job_id}"):
        fiscal_zips.prepare(job_id)
