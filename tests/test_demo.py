"""`flask --app portal demo` builds, from an empty database, demo data every role can log in to and look at."""

from portal import create_app
from portal.extensions import db
from portal.models import Invoice, Organisation, Subscription, UsageEvent
from portal.services import demo
from tests.conftest import fresh_database_url


def _scalars(query):
    return list(db.session.scalars(query))


def test_the_demo_command_builds_every_role_and_their_billing():
    url, drop = fresh_database_url("demo")
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "WTF_CSRF_ENABLED": False})
        runner = app.test_cli_runner()
        result = runner.invoke(args=["demo"])
        assert result.exit_code == 0, result.output
        for email, *_rest in demo.PEOPLE:
            assert email in result.output
        assert demo.PASSWORD in result.output
        again = runner.invoke(args=["demo"])
        assert again.exit_code == 0 and "already there" in again.output

        with app.app_context():
            kinds = {org.kind for org in _scalars(db.select(Organisation))}
            assert kinds == {"vendor", "customer", "reseller", "partner"}
            statuses = {sub.organisation.name: sub.status for sub in _scalars(db.select(Subscription))}
            assert statuses["Abarrotes La Esperanza SA de CV"] == "trial"
            assert statuses["Panadería Los Aromos SpA"] == "active"
            invoices = _scalars(db.select(Invoice).order_by(Invoice.id))
            assert invoices and all(invoice.total == sum(line.total for line in invoice.lines) for invoice in invoices)
            for payer in {invoice.organisation_id for invoice in invoices}:
                mine = [invoice for invoice in invoices if invoice.organisation_id == payer]
                assert [invoice.status for invoice in mine] == ["paid"] * (len(mine) - 1) + ["open"]
            # The reseller pays for Ferretería El Roble; Los Aromos went beyond its plan's documents last month.
            assert any(invoice.organisation.kind == "reseller" for invoice in invoices)
            aromos_latest = [i for i in invoices if i.organisation.name == "Panadería Los Aromos SpA"][-1]
            assert any(line.kind == "overage" for line in aromos_latest.lines)
            assert db.session.scalar(db.select(db.func.count(UsageEvent.id))) > demo.DEMO_DOCUMENTS_LAST_MONTH
            aromos_number = aromos_latest.number
            # Each demo reseller looks after a dozen clients in every contract status; Horizonte's certificates
            # are valid, expiring and expired.
            from portal.services.resellers import clients

            for name in ("Contabilidade Horizonte Ltda", "Contadores Asociados del Sur Ltda."):
                office = db.session.scalar(db.select(Organisation).where(Organisation.name == name))
                rows = [clients.as_client_row(row) for row in
                        db.session.execute(clients.client_rows(office, clients.ClientFilters()))]
                assert len(rows) == 12
                assert {row.contract_status for row in rows} == {"active", "trial", "blocked", "cancelled"}
                assert {row.payer for row in rows} == {"client", "reseller"}
                if office.country == "BR":
                    assert {row.certificate_state for row in rows} == {"valid", "expiring", "expired", "missing"}
            db.session.remove()
            db.engine.dispose()

        client = app.test_client()
        for email, _name, org_key, _role, _locale in demo.PEOPLE[:-1]:
            response = client.post("/login", data={"email": email, "password": demo.PASSWORD})
            assert response.status_code == 303, email
            kind = demo.ORGANISATIONS[org_key]["kind"]
            landing = client.get(response.headers["Location"], follow_redirects=True)
            assert landing.status_code == 200, email
            assert demo.ORGANISATIONS[org_key]["name"] in landing.text or kind == "vendor"
            client.post("/logout")
        client.post("/login", data={"email": "cliente@aromos.demo", "password": demo.PASSWORD})
        listing = client.get("/customer/invoices")
        assert listing.status_code == 200 and str(aromos_number) in listing.text
        with app.app_context():
            db.engine.dispose()
    finally:
        drop()
