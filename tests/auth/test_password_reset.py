"""Password reset: an e-mailed, single-use link that expires, and answers that never tell who has an account."""

import itertools
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import time_machine

from portal.extensions import db
from portal.models import AuditEvent, AuthToken, OutboxMessage
from tests import factories
from tests.smtp import SmtpSink, link_in, parts

NEW_PASSWORD = "a fresh and long secret"
_numbers = itertools.count(1)


@pytest.fixture
def smtp(app):
    with SmtpSink() as sink:
        app.config.update(sink.config)
        yield sink


def _user(locale=None):
    # example.com, not example.test: the form's e-mail check refuses special-use domains such as .test
    membership = factories.make_member("customer", "admin", locale=locale, email=f"person{next(_numbers)}@example.com")
    db.session.commit()
    return membership.user.email


def _ask(client, email, **headers):
    return client.form_post("/password/forgot", {"email": email}, headers=headers)


def _path(link: str) -> str:
    parts_ = urlsplit(link)
    assert f"{parts_.scheme}://{parts_.netloc}" == "http://portal.test", link  # PORTAL_BASE_URL, not the Host
    return parts_.path


def _choose(client, path, password=NEW_PASSWORD):
    return client.form_post(path, {"password": password, "confirm": password})


def _login(app, email, password):
    return app.test_client().form_post("/login", {"email": email, "password": password}).status_code


def test_the_link_arrives_by_email_and_sets_a_new_password_once(app, client, smtp):
    email = _user()
    response = _ask(client, email)
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    message = smtp.wait_for(email)
    text, html = parts(message)
    assert message["Subject"] == "Choose a new password for Vitrine"
    link = link_in(message)
    assert link in html and "works once, for 2 hours" in text

    path = _path(link)
    assert client.get(path).status_code == 200
    response = _choose(client, path)
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert "Your password has been changed." in client.get("/login").get_data(as_text=True)
    assert _login(app, email, NEW_PASSWORD) == 303
    assert _login(app, email, factories.PASSWORD) == 422

    used = client.get(path)
    assert used.status_code == 410 and "already been used" in used.get_data(as_text=True)
    assert _choose(client, path, "yet another secret!").status_code == 410
    assert _login(app, email, "yet another secret!") == 422
    actions = db.session.scalars(db.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[:2] == ["password_reset_requested", "password_reset"]


def test_the_email_is_in_the_users_language(app, client, smtp):
    email = _user(locale="pt_BR")
    _ask(client, email)
    message = smtp.wait_for(email)
    assert message["Subject"] == "Escolha uma nova senha para o Vitrine"
    assert parts(message)[0].startswith("Olá, ")


def test_without_a_language_of_their_own_the_email_follows_the_page(app, client, smtp):
    email = _user()
    _ask(client, email, **{"Accept-Language": "es-CL,es;q=0.9"})
    message = smtp.wait_for(email)
    assert message["Subject"] == "Elige una nueva contraseña para Vitrine"


def test_known_and_unknown_emails_get_the_same_answer(app, smtp):
    email = _user()
    known, unknown = app.test_client(), app.test_client()
    answers = [_ask(known, email), _ask(unknown, "nobody-here@example.com")]
    assert [a.status_code for a in answers] == [303, 303]
    assert answers[0].headers["Location"] == answers[1].headers["Location"]
    pages = [c.get("/login").get_data(as_text=True) for c in (known, unknown)]
    assert "If an account exists for this e-mail" in pages[0]
    assert _without_tokens(pages[0]) == _without_tokens(pages[1])
    smtp.wait_for(email)
    assert smtp.to("nobody-here@example.com") == []
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == 1


def _without_tokens(page: str) -> str:
    return re.sub(r'(value=|"X-CSRFToken": )"[^"]+"', "", page)


def test_an_expired_link_is_refused(app, client, smtp):
    email = _user()
    start = datetime(2025, 5, 2, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        _ask(client, email)
        path = _path(link_in(smtp.wait_for(email)))
        clock.move_to(start + timedelta(hours=1, minutes=59))
        assert client.get(path).status_code == 200
        clock.move_to(start + timedelta(hours=2, minutes=1))
        response = client.get(path)
        assert response.status_code == 410 and "This link has expired." in response.get_data(as_text=True)
        assert _choose(client, path).status_code == 410
    assert _login(app, email, factories.PASSWORD) == 303


def test_a_made_up_link_is_not_found(app, client):
    response = client.get("/password/reset/not-a-real-token")
    assert response.status_code == 404 and "This link is not valid." in response.get_data(as_text=True)
    assert _choose(client, "/password/reset/not-a-real-token").status_code == 404
    spanish = client.get("/password/reset/x", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Enlace no válido" in spanish


def test_only_the_latest_link_works(app, client, smtp):
    email = _user()
    _ask(client, email)
    first = _path(link_in(smtp.wait_for(email)))
    _ask(client, email)
    second = _path(link_in(smtp.wait_for(email, count=2)))
    assert first != second
    assert client.get(first).status_code == 410
    assert _choose(client, second).status_code == 303


def test_a_reset_ends_every_session_of_the_account(app, smtp):
    email = _user()
    stolen = app.test_client()
    assert stolen.form_post("/login", {"email": email, "password": factories.PASSWORD}).status_code == 303
    client = app.test_client()
    _ask(client, email)
    _choose(client, _path(link_in(smtp.wait_for(email))))
    assert stolen.get("/customer/").status_code == 302


def test_a_new_password_must_be_long_enough_and_repeated(app, client, smtp):
    email = _user()
    _ask(client, email)
    path = _path(link_in(smtp.wait_for(email)))
    short = client.form_post(path, {"password": "short", "confirm": "short"})
    assert short.status_code == 422 and "Use at least 10 characters." in short.get_data(as_text=True)
    mismatch = client.form_post(path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "!"})
    assert mismatch.status_code == 422 and "The two passwords are not the same." in mismatch.get_data(as_text=True)
    assert db.session.scalar(db.select(AuthToken.used_at)) is None
    assert _choose(client, path).status_code == 303


def test_the_only_thing_stored_is_the_hash_of_the_token(app, client, smtp):
    email = _user()
    _ask(client, email)
    raw = _path(link_in(smtp.wait_for(email))).rsplit("/", 1)[1]
    stored = db.session.scalar(db.select(AuthToken.token_hash))
    assert raw not in stored and len(stored) == 64


def test_reset_requests_are_limited_per_account(app, client, smtp):
    app.config["LOGIN_LIMIT"] = "2 per 15 minutes"
    email = _user()
    for n in range(2):
        client.environ_base["REMOTE_ADDR"] = f"203.0.113.{n + 1}"
        assert _ask(client, email).status_code == 303
    client.environ_base["REMOTE_ADDR"] = "203.0.113.50"
    assert _ask(client, email).status_code == 429
    assert len(smtp.to(email)) <= 2
