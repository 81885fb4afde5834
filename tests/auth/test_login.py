"""Logging in and out: one message for any wrong credentials, rate limits, renewed and ending sessions."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from portal.extensions import db
from portal.models import AuditEvent, LoginSession
from tests import factories

COOKIE = "vitrine_session"
DEVICE_COOKIE = "vitrine_device"
WRONG = "The e-mail or the password is not correct."


def _member(kind="customer", role="admin", **fields):
    membership = factories.make_member(kind, role, **fields)
    db.session.commit()
    return membership.user.email, membership.organisation


def _login(client, email, password=factories.PASSWORD, headers=None, **fields):
    return client.form_post("/login", {"email": email, "password": password, **fields}, headers=headers or {})


def _cookie(client) -> str | None:
    cookie = client.get_cookie(COOKIE)
    return cookie.value if cookie else None


def _replay(app, cookie_value):
    """A different browser that sends a copy of someone's session cookie."""
    other = app.test_client()
    other.set_cookie(COOKIE, cookie_value)
    return other


def _actions():
    return [e.action for e in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id))]


def test_a_member_logs_in_lands_on_the_role_page_and_logs_out(app, client):
    email, org = _member("partner", "seller")
    response = _login(client, email)
    assert response.status_code == 303 and response.headers["Location"] == "/partner/"
    assert org.name in client.get("/partner/").get_data(as_text=True)

    response = client.form_post("/logout")
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert "You have logged out." in client.get("/login").get_data(as_text=True)
    assert client.get("/partner/").status_code == 302


def _without_csrf(page: str) -> str:
    """The CSRF token is signed with the time: two answers a second apart differ there and only there."""
    return re.sub(r'(X-CSRFToken": "|name="csrf_token"[^>]*?value=")[^"]+', r"\1TOKEN", page)


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(app, client):
    email, _org = _member()
    wrong_password = _login(client, email, "not the password at all")
    unknown_email = _login(client, "nobody@example.test", "not the password at all")
    assert wrong_password.status_code == unknown_email.status_code == 422
    first = _without_csrf(wrong_password.get_data(as_text=True).replace(email, "EMAIL"))
    second = _without_csrf(unknown_email.get_data(as_text=True).replace("nobody@example.test", "EMAIL"))
    assert WRONG in first and first == second


def test_the_wrong_credentials_message_is_translated(app, client):
    email, _org = _member()
    response = _login(client, email, "wrong password!", headers={"Accept-Language": "es"})
    assert response.status_code == 422
    assert "El correo o la contraseña no son correctos." in response.get_data(as_text=True)
    response = _login(client, "x@example.test", "wrong password!", headers={"Accept-Language": "pt-BR"})
    assert "O e-mail ou a senha não estão corretos." in response.get_data(as_text=True)


def test_logins_failed_ones_and_logouts_are_audited_with_the_address(app, client):
    email, org = _member()
    client.environ_base["REMOTE_ADDR"] = "198.51.100.23"
    _login(client, email, "wrong password!")
    _login(client, "ghost@example.test", "wrong password!")
    _login(client, email)
    client.form_post("/logout")
    events = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["login_failed", "login_failed", "login", "logout"]
    failed, unknown, login, logout = events
    assert failed.object_type == "user" and failed.details == {"email": email} and failed.actor_id is None
    assert unknown.object_id is None and unknown.details == {"email": "ghost@example.test"}
    for event in (login, logout):
        assert event.actor.email == email and event.organisation_id == org.id
        assert event.object_type == "user" and event.object_id == str(event.actor_id)
    assert {e.address for e in events} == {"198.51.100.23"}
    assert all(e.at is not None for e in events)


@pytest.fixture
def limited(app):
    app.config["LOGIN_LIMIT"] = "3 per 15 minutes"
    return app


def test_login_is_limited_per_account_whatever_the_address(limited, client):
    email, _org = _member()
    for n in range(3):
        client.environ_base["REMOTE_ADDR"] = f"203.0.113.{n + 1}"
        assert _login(client, email, f"guess number {n}").status_code == 422
    client.environ_base["REMOTE_ADDR"] = "203.0.113.99"
    refused = _login(client, email)  # even the right password waits now
    assert refused.status_code == 429
    page = refused.get_data(as_text=True)
    assert "Too many attempts" in page and "Wait a few minutes" in page
    assert "3 per 15 minute" not in page
    spanish = _login(client, email, headers={"Accept-Language": "es"})
    assert spanish.status_code == 429 and "Demasiados intentos" in spanish.get_data(as_text=True)

    other_email, _org = _member()
    assert _login(client, other_email).status_code == 303  # the address itself is not limited


def test_login_is_limited_per_address_whatever_the_account(limited, client):
    emails = [_member()[0] for _n in range(4)]
    client.environ_base["REMOTE_ADDR"] = "192.0.2.10"
    for email in emails[:3]:
        assert _login(client, email, "wrong password!").status_code == 422
    assert _login(client, emails[3]).status_code == 429
    client.environ_base["REMOTE_ADDR"] = "192.0.2.11"
    assert _login(client, emails[3]).status_code == 303


def _owner_browser(app, email):
    """The owner's own browser: it logged in to the account once, then logged out."""
    owner = app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert _login(owner, email).status_code == 303
    assert owner.form_post("/logout").status_code == 303
    return owner


def test_guessing_an_account_locks_out_the_guesser_but_not_the_owners_browser(limited, app):
    email, _org = _member()
    owner = _owner_browser(app, email)
    attacker = app.test_client()
    for n in range(3):
        attacker.environ_base["REMOTE_ADDR"] = f"203.0.113.{n + 1}"
        assert _login(attacker, email, f"guess number {n}").status_code == 422
    for n, password in enumerate(["guess number 4", factories.PASSWORD]):
        attacker.environ_base["REMOTE_ADDR"] = f"203.0.113.{n + 10}"
        assert _login(attacker, email, password).status_code == 429  # even the right guess tells nothing now
    assert _login(app.test_client(), email).status_code == 429  # nor does any other new browser
    assert _login(owner, email).status_code == 303  # the owner's browser is let through
    assert _actions().count("login") == 2


def test_the_owners_browser_is_let_through_behind_an_address_that_is_guessing(limited, app):
    email, _org = _member()
    owner = _owner_browser(app, email)
    neighbour = app.test_client()
    neighbour.environ_base["REMOTE_ADDR"] = owner.environ_base["REMOTE_ADDR"]
    for other in [_member()[0] for _n in range(3)]:
        assert _login(neighbour, other, "wrong password!").status_code == 422
    assert _login(neighbour, email).status_code == 429
    assert _login(owner, email).status_code == 303


def test_a_remembered_browser_has_its_own_allowance_of_wrong_passwords(limited, app):
    email, _org = _member()
    owner = _owner_browser(app, email)
    for n in range(3):
        assert _login(owner, email, f"forgot it {n}").status_code == 422
    assert _login(owner, email).status_code == 429  # a copied cookie guesses no faster than anyone
    assert _login(app.test_client(), email).status_code == 303  # and used none of the account's allowance


def test_a_browser_remembered_for_one_account_or_a_forged_cookie_is_a_stranger_to_another(limited, app):
    email, _org = _member()
    other_email, _org = _member()
    browser = _owner_browser(app, other_email)
    for n in range(3):
        browser.environ_base["REMOTE_ADDR"] = f"203.0.113.{n + 1}"
        assert _login(browser, email, f"guess number {n}").status_code == 422
    assert _login(browser, email).status_code == 429
    forged = app.test_client()
    forged.set_cookie(DEVICE_COOKIE, browser.get_cookie(DEVICE_COOKIE, path="/login").value[:-4] + "AAAA",
                      path="/login")
    assert _login(forged, email).status_code == 429


def test_the_remembered_browser_cookie_is_sent_only_to_the_login_and_names_no_one(app, client):
    email, _org = _member()
    _login(client, email)
    cookie = client.get_cookie(DEVICE_COOKIE, path="/login")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax" and cookie.path == "/login"
    assert email not in cookie.value and email.split("@")[0] not in cookie.value


def test_successful_logins_do_not_use_up_the_limit(limited, app):
    email, _org = _member()
    for _n in range(5):
        client = app.test_client()
        assert _login(client, email).status_code == 303


def test_the_session_is_renewed_at_login(app, client):
    email, _org = _member()
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
        session["locale"] = "es"
    before = _cookie(client)
    assert _login(client, email).status_code == 303
    after = _cookie(client)
    assert after and after != before
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["locale"] == "es"  # the language chosen before logging in is kept
    assert _replay(app, before).get("/customer/").status_code == 302


def test_a_copied_cookie_stops_working_after_logout(app, client):
    email, _org = _member()
    _login(client, email)
    copy = _cookie(client)
    assert _replay(app, copy).get("/customer/").status_code == 200
    client.form_post("/logout")
    response = _replay(app, copy).get("/customer/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert db.session.scalar(db.select(LoginSession.ended_at)) is not None


def test_a_session_ends_after_inactivity(app, client):
    email, _org = _member()
    start = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        _login(client, email)
        clock.move_to(start + timedelta(minutes=29))
        assert client.get("/customer/").status_code == 200
        clock.move_to(start + timedelta(minutes=58))  # 29 minutes after the last request: still in
        assert client.get("/customer/").status_code == 200
        clock.move_to(start + timedelta(minutes=89))  # 31 minutes idle
        response = client.get("/customer/")
        assert response.status_code == 302 and response.headers["Location"] == "/login?next=/customer/"
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "Your session has ended. Please log in again." in page
        assert client.get("/customer/").status_code == 302


def test_the_session_cookie_is_sent_again_only_when_the_session_changed(app, client):
    """A page that changes nothing in the session sends no new cookie (signing it costs every request); the
    idle clock, moved at most once a minute, sends it again, so the cookie outlives the server's limits."""
    email, _org = _member()
    start = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)

    def sets_cookie(response) -> bool:
        return any(header.startswith(f"{COOKIE}=") for header in response.headers.getlist("Set-Cookie"))

    with time_machine.travel(start, tick=False) as clock:
        assert sets_cookie(_login(client, email))
        client.get("/customer/")  # the first page puts the CSRF token in the session
        clock.move_to(start + timedelta(seconds=30))
        assert client.get("/customer/").status_code == 200
        assert not sets_cookie(client.get("/customer/"))
        clock.move_to(start + timedelta(minutes=2))
        assert sets_cookie(client.get("/customer/"))
        assert not sets_cookie(client.get("/customer/"))
        clock.move_to(start + timedelta(minutes=31))  # 29 minutes after the last touch: still in
        assert client.get("/customer/").status_code == 200


def test_an_htmx_request_after_the_session_ended_is_sent_to_the_login(app, client):
    email, _org = _member()
    start = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        _login(client, email)
        clock.move_to(start + timedelta(hours=1))
        response = client.get("/customer/", headers={"HX-Request": "true"})
        assert response.status_code == 401
        assert response.headers["HX-Redirect"] == "/login"


def test_a_session_ends_after_its_absolute_lifetime_even_when_used(app, client):
    app.config["SESSION_MAX"] = timedelta(hours=2)
    email, _org = _member()
    start = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        _login(client, email)
        for minutes in range(20, 120, 20):
            clock.move_to(start + timedelta(minutes=minutes))
            assert client.get("/customer/").status_code == 200, minutes
        clock.move_to(start + timedelta(minutes=125))
        response = client.get("/customer/")
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_changing_the_password_ends_the_other_sessions(app):
    email, _org = _member()
    laptop, phone = app.test_client(), app.test_client()
    _login(laptop, email)
    _login(phone, email)
    response = laptop.form_post("/account/password", {"current": factories.PASSWORD, "password": "a brand new secret",
                                                      "confirm": "a brand new secret"})
    assert response.status_code == 303
    assert laptop.get("/customer/").status_code == 200
    assert phone.get("/customer/").status_code == 302
    assert _login(app.test_client(), email, factories.PASSWORD).status_code == 422
    assert _login(app.test_client(), email, "a brand new secret").status_code == 303
    assert "password_changed" in _actions()


def test_a_wrong_current_password_changes_nothing(app, client):
    email, _org = _member()
    _login(client, email)
    response = client.form_post("/account/password", {"current": "not it at all", "password": "a brand new secret",
                                                      "confirm": "a brand new secret"})
    assert response.status_code == 422
    assert "The current password is not correct." in response.get_data(as_text=True)
    assert _login(app.test_client(), email).status_code == 303


def test_after_login_the_person_goes_back_to_the_page_they_asked_for(app, client):
    email, _org = _member()
    response = client.get("/customer/?tab=people")
    assert response.headers["Location"] == "/login?next=/customer/?tab%3Dpeople"
    assert _login(client, email, next="/customer/?tab=people").headers["Location"] == "/customer/?tab=people"


@pytest.mark.parametrize("target", [
    "//evil.example/", "/\\evil.example/", "https://evil.example/", "javascript:alert(1)", "/\t/evil.example",
    "evil.example", "/\n/evil.example", " //evil.example",
])
def test_login_never_sends_anyone_to_another_site(app, client, target):
    email, _org = _member()
    response = _login(client, email, next=target)
    assert response.status_code == 303
    assert response.headers["Location"] == "/customer/"


def test_a_blocked_or_inactive_account_cannot_log_in(app, client):
    membership = factories.make_member("customer", "admin")
    membership.user.is_active = False
    db.session.commit()
    assert _login(client, membership.user.email).status_code == 422
