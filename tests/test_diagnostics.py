"""The benchmark's SQL statement count (portal/diagnostics.py)."""

from portal import create_app
from portal.extensions import db
from tests import factories


def _bench_app(app, monkeypatch):
    monkeypatch.setenv("PORTAL_BENCH_SQL_COUNT", "1")
    bench_app = create_app({key: app.config[key] for key in ("TESTING", "SQLALCHEMY_DATABASE_URI", "SECRET_KEY",
                                                             "BASE_URL", "SMTP_HOST")})
    bench_app.test_client_class = app.test_client_class
    return bench_app


def test_benchmark_mode_tells_each_response_its_sql_statements(app, monkeypatch):
    membership = factories.make_member("customer", "admin")
    db.session.commit()
    bench_app = _bench_app(app, monkeypatch)
    client = bench_app.test_client()
    client.login(membership.user.email)

    home = client.get("/customer/")
    again = client.get("/customer/")

    assert home.status_code == 200
    assert int(home.headers["X-SQL-Count"]) > 0
    assert again.headers["X-SQL-Count"] == home.headers["X-SQL-Count"]
    with bench_app.app_context():
        db.engine.dispose()


def test_the_count_covers_error_pages_too(app, monkeypatch):
    client = _bench_app(app, monkeypatch).test_client()

    missing = client.get("/no-such-page")

    assert missing.status_code == 404
    assert missing.headers["X-SQL-Count"].isdigit()


def test_responses_carry_no_sql_count_normally(client, login_as):
    customer = login_as("customer", "admin")

    assert "X-SQL-Count" not in customer.get("/customer/").headers
    assert "X-SQL-Count" not in client.get("/login").headers
