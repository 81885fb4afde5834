"""The application as a whole: settings from the environment, error pages in every language (whole, as
htmx fragments, as API JSON), the role gates, and the SQLite rules."""

import os
import re
import stat
import threading

import pytest
from flask import abort
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from portal import config, create_app
from portal.extensions import db
from portal.models import Membership
from portal.services.errors import DomainError

LANDINGS = {"customer": "/customer/", "reseller": "/reseller/", "partner": "/partner/", "vendor": "/backoffice/"}


# Settings


def test_settings_come_from_portal_variables(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_SMTP_PORT", "2525")
    monkeypatch.setenv("PORTAL_SESSION_IDLE_MINUTES", "15")
    monkeypatch.setenv("PORTAL_MAX_UPLOAD_MB", "3")
    monkeypatch.setenv("PORTAL_BASE_URL", "https://portal.example.com/")
    monkeypatch.setenv("PORTAL_DATABASE_URL", "postgres://vitrine@db.internal/vitrine")
    settings = config.load(str(tmp_path))
    assert settings["SMTP_PORT"] == 2525 and settings["SESSION_IDLE"].total_seconds() == 900
    assert settings["MAX_CONTENT_LENGTH"] == 3 * 1024 * 1024
    assert settings["BASE_URL"] == "https://portal.example.com"
    # psycopg 3 is the PostgreSQL driver installed: a URL without a driver uses it.
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://vitrine@db.internal/vitrine"


def test_without_settings_it_runs_on_sqlite_in_the_instance_folder(monkeypatch, tmp_path):
    for name in config.SETTINGS:
        monkeypatch.delenv(name, raising=False)
    settings = config.load(str(tmp_path))
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/vitrine.db"
    assert settings["RATELIMIT_STORAGE_URI"] == "memory://" and not settings["SESSION_COOKIE_SECURE"]


def test_a_wrong_number_in_a_setting_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_SMTP_PORT", "twenty-five")
    with pytest.raises(ValueError, match="PORTAL_SMTP_PORT must be a whole number"):
        config.load(str(tmp_path))


def test_the_readmes_settings_table_lists_every_setting_and_nothing_else():
    readme = (config.PROJECT_ROOT / "README.md").read_text()
    in_table = re.findall(r"^\| `(PORTAL_[A-Z0-9_]+)` \|", readme, flags=re.MULTILINE)
    assert len(in_table) == len(set(in_table)), "a setting is in the README's table twice"
    assert set(in_table) == set(config.SETTINGS), {
        "missing from the README": sorted(set(config.SETTINGS) - set(in_table)),
        "in the README but not a setting": sorted(set(in_table) - set(config.SETTINGS))}


def test_the_generated_secret_key_is_private_and_the_same_for_every_worker(monkeypatch, tmp_path):
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
    keys, start = [], threading.Barrier(8)

    def worker():
        start.wait()
        keys.append(config.load(str(tmp_path))["SECRET_KEY"])

    threads = [threading.Thread(target=worker) for _n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(keys)) == 1 and len(keys[0]) >= 48
    assert stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode) == 0o600
    assert os.listdir(tmp_path) == ["secret_key"]  # no temporary file left behind


@pytest.mark.skipif(not os.environ.get("PORTAL_TEST_DATABASE_URL"), reason="runs with PORTAL_TEST_DATABASE_URL")
def test_postgresql_is_used_when_portal_database_url_names_it(app, database_url, monkeypatch):
    monkeypatch.setenv("PORTAL_DATABASE_URL", database_url.replace("postgresql+psycopg://", "postgresql://"))
    other = create_app({"TESTING": True})
    with other.app_context():
        assert db.engine.dialect.name == "postgresql" and db.engine.dialect.driver == "psycopg"
        assert db.session.scalar(text("SELECT count(*) FROM organisation")) == 0
        db.engine.dispose()


# Error pages


def _with_error_routes(app):
    """Routes that fail on purpose (added before the app's first request)."""

    def forbidden_by_rule():
        raise DomainError("Ignored message", code="blocked", status=403)

    def invalid():
        raise DomainError("This product cannot be bought twice.", code="already_bought", field="product")

    def broken():
        raise RuntimeError("a bug")

    app.add_url_rule("/test/401", "test_401", lambda: abort(401))
    app.add_url_rule("/test/403", "test_403", forbidden_by_rule)
    app.add_url_rule("/test/422", "test_422", invalid)
    app.add_url_rule("/test/500", "test_500", broken)
    app.add_url_rule("/api/v1/test/422", "test_api_422", invalid)
    app.add_url_rule("/api/v1/test/500", "test_api_500", broken)
    return app


TITLES = {
    401: {"en": "Please log in", "es": "Inicia sesión", "pt_BR": "Entre na sua conta"},
    403: {"en": "Not allowed", "es": "No permitido", "pt_BR": "Não permitido"},
    404: {"en": "Page not found", "es": "Página no encontrada", "pt_BR": "Página não encontrada"},
    422: {"en": "Please check the form", "es": "Revisa el formulario", "pt_BR": "Confira o formulário"},
    429: {"en": "Too many attempts", "es": "Demasiados intentos", "pt_BR": "Tentativas demais"},
    500: {"en": "Something went wrong", "es": "Algo salió mal", "pt_BR": "Algo deu errado"},
}
HTML_LANG = {"en": "en", "es": "es", "pt_BR": "pt-BR"}


def _error(client, status, locale, **headers):
    headers = {"Accept-Language": locale.replace("_", "-"), **headers}
    if status == 404:
        return client.get("/no/such/page", headers=headers)
    if status == 429:
        client.application.config["LOGIN_LIMIT"] = "1 per hour"
        client.form_post("/login", {"email": "a@example.com", "password": "wrong password"}, headers=headers)
        return client.form_post("/login", {"email": "a@example.com", "password": "wrong password"}, headers=headers)
    return client.get(f"/test/{status}", headers=headers)


@pytest.mark.parametrize("locale", ["en", "es", "pt_BR"])
@pytest.mark.parametrize("status", sorted(TITLES))
def test_error_pages_in_every_language(app, locale, status):
    client = _with_error_routes(app).test_client()
    response = _error(client, status, locale)
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert f'<html lang="{HTML_LANG[locale]}">' in page
    assert TITLES[status][locale] in page
    assert 'id="error"' in page and "a bug" not in page


@pytest.mark.parametrize("status", sorted(TITLES))
def test_an_htmx_request_gets_only_the_error_block(app, status):
    client = _with_error_routes(app).test_client()
    response = _error(client, status, "en", **{"HX-Request": "true"})
    assert response.status_code == status
    body = response.get_data(as_text=True).strip()
    assert body.startswith('<section id="error"') and body.endswith("</section>")
    assert TITLES[status]["en"] in body
    assert "HX-Request" in response.headers["Vary"]


def test_boosted_navigation_gets_the_whole_error_page(app, client):
    response = client.get("/no/such/page", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert response.status_code == 404 and "<html" in response.get_data(as_text=True)


def test_a_401_for_htmx_tells_it_to_load_the_login_page(app):
    response = _with_error_routes(app).test_client().get("/test/401", headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"] == "/login"


def test_a_rule_broken_outside_a_form_shows_its_own_message(app):
    client = _with_error_routes(app).test_client()
    page = client.get("/test/422").get_data(as_text=True)
    assert "This product cannot be bought twice." in page


def test_the_api_answers_errors_in_json(app, client):
    client = _with_error_routes(app).test_client()
    response = client.get("/api/v1/anything")
    assert response.status_code == 401 and response.is_json
    error = response.get_json()["error"]
    assert error["code"] == "unauthorized" and "X-Api-Key" in error["message"]
    assert client.post("/api/v1/anything/else", json={}).get_json()["error"]["code"] == "unauthorized"

    with_key = client.get("/api/v1/anything", headers={"X-Api-Key": "vk_live_whatever"})
    assert with_key.status_code == 404 and with_key.get_json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/me").get_json()["error"]["code"] == "unauthorized"
    spanish = client.get("/api/v1/anything", headers={"Accept-Language": "es"}).get_json()
    assert spanish["error"]["code"] == "unauthorized" and spanish["error"]["message"] != error["message"]

    invalid = client.get("/api/v1/test/422")
    assert invalid.status_code == 422 and invalid.get_json() == {"error": {
        "code": "already_bought", "message": "This product cannot be bought twice.", "field": "product"}}
    broken = client.get("/api/v1/test/500")
    assert broken.status_code == 500 and broken.get_json()["error"]["code"] == "internal_server_error"
    assert "a bug" not in broken.get_data(as_text=True)


def test_an_unexpected_error_is_logged_and_rolls_back(app, caplog):
    client = _with_error_routes(app).test_client()
    with caplog.at_level("ERROR", logger="portal.errors"):
        assert client.get("/test/500").status_code == 500
    assert "unexpected error on GET /test/500" in caplog.text and "RuntimeError: a bug" in caplog.text


# The role gates


@pytest.mark.parametrize("kind", sorted(LANDINGS))
def test_each_landing_page_is_for_its_own_kind_only(app, login_as, kind):
    landing = LANDINGS[kind]
    assert login_as(kind).get(landing).status_code == 200
    for other in sorted(set(LANDINGS) - {kind}):
        response = login_as(other).get(landing)
        assert response.status_code == 403, other
        assert "Your role cannot open this page." in response.get_data(as_text=True)

    visitor = app.test_client()
    response = visitor.get(landing)
    assert response.status_code == 302 and response.headers["Location"] == f"/login?next={landing}"
    htmx = visitor.get(landing, headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"] == "/login"


def test_a_member_of_a_blocked_organisation_lands_on_its_billing(app, login_as):
    from portal.orm import utcnow
    from portal.services.accounts import blocking

    client = login_as("customer", "admin")
    blocking.block(client.organisation, "unpaid", utcnow())
    db.session.commit()
    assert client.get("/").headers["Location"] == "/customer/"
    assert client.get("/customer/").headers["Location"] == "/customer/pay"
    assert client.get("/customer/store").status_code == 403


# SQLite


@pytest.fixture
def sqlite(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite rules (this run is on PostgreSQL)")
    return app


def test_sqlite_runs_in_wal_with_a_busy_timeout_and_foreign_keys(sqlite):
    connection = db.session.connection()
    assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000
    assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    db.session.rollback()
    db.session.add(Membership(user_id=424242, organisation_id=434343, role="admin"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
