"""Flask commands: demo data, staff accounts, the e-mail outbox, the billing run."""

import functools
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate import upgrade

from portal.database import writing
from portal.extensions import db
from portal.models import OutboxMessage
from portal.services.accounts.taxid import COUNTRIES


def writer(command):
    """Run a command's transactions as writers (BEGIN IMMEDIATE on SQLite)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        with writing():
            return command(*args, **kwargs)

    return wrapper


@click.command("demo")
@click.option("--reset", is_flag=True, help="Delete every table first and start again.")
@with_appcontext
@writer
def demo_command(reset: bool) -> None:
    """Create (or bring up to date) the database and fill it with demo data for every role."""
    from portal.services import demo

    if reset:
        db.drop_all()
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    upgrade()
    if demo.already_loaded():
        click.echo("The demo data is already there (use --reset to start again).")
    else:
        demo.load()
        db.session.commit()
    click.echo(demo.logins_text(current_app.config["BASE_URL"]))


@click.command("create-staff")
@click.argument("email")
@click.option("--name", prompt=True, help="The person's full name.")
@click.option("--role", type=click.Choice(["admin", "billing", "advisor"]), default="admin", show_default=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--vendor-name", help="On a new install: the legal name of the vendor organisation to create.")
@click.option("--country", type=click.Choice(COUNTRIES, case_sensitive=False),
              help="On a new install: the vendor's country (its currency, time zone and language follow).")
@with_appcontext
@writer
def create_staff_command(email: str, name: str, role: str, password: str, vendor_name: str | None,
                         country: str | None) -> None:
    """Create a member of the vendor's staff (and, on a new install, the vendor organisation)."""
    from portal.services.accounts import staff
    from portal.services.errors import DomainError

    try:
        user = staff.create_staff(email, name, role, password, vendor_name=vendor_name, country=country)
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(str(error.message)) from error
    vendor = staff.vendor_organisation()
    db.session.commit()
    click.echo(f"{user.email} can now log in to the back office of {vendor.name} as {role}.")


@click.command("vendor-key")
@with_appcontext
@writer
def vendor_key_command() -> None:
    """Generate the vendor's integration key, the one its software sends to check licenses, and print it once;
    the previous one stops working at once."""
    from portal.services.accounts import integration, staff

    vendor = staff.vendor_organisation()
    if vendor is None:
        raise click.ClickException("There is no vendor organisation yet: create it with create-staff first.")
    raw = integration.generate_key(vendor, None)
    db.session.commit()
    click.echo(f"The integration key of {vendor.name} (shown once; the previous one no longer works):")
    click.echo(raw)


@click.command("send-outbox")
@with_appcontext
def send_outbox_command() -> None:
    """Send every e-mail still pending in the outbox, now."""
    from portal.services.mail import outbox
    from portal.workflows.outbox import send_outbox_message

    counts = {"sent": 0, "logged": 0, "pending": 0, "failed": 0}
    message_ids = outbox.pending_message_ids(limit=10_000)
    db.session.rollback()  # a read: each message is then sent in short writing transactions of its own
    for message_id in message_ids:
        with writing():
            status = send_outbox_message(message_id)
        counts[status] = counts.get(status, 0) + 1
        if status in ("pending", "failed"):
            message = db.session.get(OutboxMessage, message_id)
            click.echo(f"message {message_id} to {message.recipient} not sent: {message.last_error}", err=True)
            db.session.rollback()
    not_sent = counts["pending"] + counts["failed"]
    click.echo(f"{counts['sent']} sent, {counts['logged']} written to the log, "
               f"{not_sent} not sent (kept in the outbox)")
    if not_sent:
        raise click.exceptions.Exit(1)


@click.command("billing-run")
@click.option("--now", "moment", default=None, metavar="ISO",
              help="Act as if it were this moment (e.g. 2026-12-01T00:00:00Z); default: the current time.")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 5_000),
              help="Subscriptions per transaction.")
@with_appcontext
@writer
def billing_run_command(moment: str | None, batch_size: int) -> None:
    """Close every subscription period due now: trials, renewals and their invoices, suspensions, cancellations."""
    from datetime import UTC, datetime

    from portal.workflows.billing_run import run_sweep

    now = datetime.now(UTC)
    if moment:
        try:
            now = datetime.fromisoformat(moment)
        except ValueError as error:
            raise click.BadParameter("use an ISO date and time, such as 2026-12-01T00:00:00Z", param_hint="--now") \
                from error
        now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    result = run_sweep(now, batch_size=batch_size)
    click.echo(f"{result.closed} periods closed ({result.activated} trials ended, {result.renewed} renewed, "
               f"{result.suspended} suspended, {result.cancelled} cancelled, {result.plan_changes} plan changes); "
               f"{result.invoices} invoices and {result.credit_notes} credit notes in {result.seconds:.1f} s")
    for subscription_id, reason in sorted(result.skipped.items()):
        click.echo(f"subscription {subscription_id} not renewed: {reason}", err=True)


@click.command("worker")
@click.option("--workers", "-w", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Worker threads running jobs at once.")
def worker_command(workers: int) -> None:
    """Run the background jobs (e-mails, invoice PDFs, the billing sweep, webhooks, notices) and their schedule.

    SIGTERM (or Ctrl-C) stops it cleanly: no new job is taken, the jobs in hand finish, then it exits.
    """
    from portal import jobs  # noqa: F401  (the tasks register on the queue when their module is imported)
    from portal.extensions import huey
    from portal.memory import freeze_long_lived

    freeze_long_lived()  # the app and the tasks are loaded: they live as long as the worker
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=True, graceful_signal="TERM")
    consumer.run()


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    """Write a backup archive of the SQLite database and the instance folder's secret key to PATH (a new file).

    Safe while the portal serves: the copy is a consistent snapshot. On PostgreSQL, back the database up with
    pg_dump (docs/deployment.md); this then keeps the secret key.
    """
    from portal import backup
    from portal.health import head_revision

    try:
        manifest = backup.make_backup(path, database_url=current_app.config["SQLALCHEMY_DATABASE_URI"],
                                      instance_path=Path(current_app.instance_path), revision=head_revision())
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"backup written to {path}: {', '.join(manifest['members'])}")
    if manifest["database"] != "sqlite":
        click.echo("the database is not SQLite: back it up with pg_dump (docs/deployment.md)")


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace the database that is there (stop the portal first).")
@with_appcontext
def restore_command(path: Path, force: bool) -> None:
    """Restore a backup archive made by `backup` into this instance folder."""
    from portal import backup

    db.engine.dispose()  # no connection of ours stays open on the file being replaced
    try:
        manifest = backup.restore_backup(path, database_url=current_app.config["SQLALCHEMY_DATABASE_URI"],
                                         instance_path=Path(current_app.instance_path), force=force)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"restored the backup of {manifest['created_at']} (revision {manifest['revision']}); "
               "run `flask --app portal db upgrade` if this Vitrine is newer")


def init_app(app) -> None:
    for command in (demo_command, create_staff_command, vendor_key_command, send_outbox_command, billing_run_command,
                    worker_command, backup_command, restore_command):
        app.cli.add_command(command)


def main() -> None:
    """The `vitrine` console script: the same commands as `flask --app portal`."""
    from portal import create_app

    group = FlaskGroup(create_app=create_app)
    sys.exit(group.main())
