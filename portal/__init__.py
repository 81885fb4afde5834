"""Vitrine: the self-service store, billing and reseller portal of a SaaS vendor."""

from flask import Flask

from portal import config
from portal.config import PROJECT_ROOT


def create_app(overrides: dict | None = None) -> Flask:
    """Build the portal: settings, extensions, blueprints, error pages, commands."""
    app = Flask(
        __name__,
        instance_path=config.instance_path(),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    load_settings(app, overrides)
    init_extensions(app)
    register_blueprints(app)
    register_errors(app)
    register_commands(app)
    return app


def load_settings(app: Flask, overrides: dict | None) -> None:
    app.config.from_mapping(config.load(app.instance_path))
    app.config.from_mapping(overrides or {})
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", config.engine_options(app.config["SQLALCHEMY_DATABASE_URI"]))
    app.config.setdefault("MAIL_LOG_BODIES", _under_the_development_server())


def _under_the_development_server() -> bool:
    """`flask run` (the README's first command): the log is the demo's mailbox, so e-mails are logged whole."""
    import click

    context = click.get_current_context(silent=True)
    return context is not None and context.command.name == "run"


def init_extensions(app: Flask) -> None:
    from portal import (
        branding,
        database,
        diagnostics,
        htmx,
        intranet,
        jobs,
        observability,
        routing,
        security,
        sessions,
        shell,
        templating,
    )
    from portal.extensions import babel, csrf, db, limiter, migrate
    from portal.i18n import select_locale, select_timezone
    from portal.services import payments

    observability.init_app(app)
    routing.init_app(app)
    db.init_app(app)
    database.init_app(app)
    diagnostics.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    limiter.init_app(app)
    sessions.init_app(app)
    intranet.init_app(app)  # after the session's checks: a sign-on header opens a session of its own
    security.init_app(app)
    htmx.init_app(app)
    branding.init_app(app)
    templating.init_app(app)
    shell.init_app(app)
    jobs.init_app(app)
    payments.register_gateways()
    payments.wire_billing()


def register_blueprints(app: Flask) -> None:
    from portal import (
        api,
        auth,
        backoffice,
        customer,
        health,
        partner,
        reseller,
        sandbox,
        sandbox_bank,
        tenancy,
        webhooks,
    )

    app.register_blueprint(health.bp)
    app.before_request(tenancy.load_membership)
    for blueprint in (auth.bp, customer.bp, reseller.bp, partner.bp, backoffice.bp, api.bp, sandbox.bp, sandbox_bank.bp,
                      webhooks.bp):
        app.register_blueprint(blueprint)


def register_errors(app: Flask) -> None:
    from portal import errors

    errors.init_app(app)


def register_commands(app: Flask) -> None:
    from portal import cli

    cli.init_app(app)
