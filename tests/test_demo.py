"""`flask --app portal demo` builds, from an empty database, demo data every role can log in to and look at."""

from datetime import UTC

from portal import create_app
from portal.extensions import db
from portal.models import Invoice, Organisation, Subscription, UsageEvent
from portal.orm import utcnow
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
            everything = _scalars(db.select(Invoice).order_by(Invoice.issued_at, Invoice.id))
            assert everything and all(invoice.total == sum(line.total for line in invoice.lines)
                                      for invoice in everything)
            # A reseller's consolidated invoice of a month not yet ended is a draft (the month so far), never
            # payable; every other invoice but each payer's latest is paid.
            drafts = [invoice for invoice in everything if invoice.status == "draft"]
            assert all(draft.period_key.startswith("reseller:") and draft.period_end > utcnow() for draft in drafts)
            invoices = [invoice for invoice in everything if invoice.status != "draft"]
            for payer in {invoice.organisation_id for invoice in invoices}:
                mine = [invoice for invoice in invoices if invoice.organisation_id == payer]
                assert [invoice.status for invoice in mine] == ["paid"] * (len(mine) - 1) + ["open"]
            # Each paid invoice was paid by payments that succeeded, for all it owed (recorded through the payment
            # services, so the ledger adds up): the payment histories and latest payments of the customers,
            # Horizonte and Moderniza show them.
            from portal.models import Payment
            from portal.services.billing import credit_notes

            paid_by: dict[int, int] = {}
            for payment in _scalars(db.select(Payment).where(Payment.state == "succeeded")):
                assert payment.invoice_id is not None and payment.succeeded_at is not None
                paid_by[payment.invoice_id] = paid_by.get(payment.invoice_id, 0) + payment.amount
            paid = [invoice for invoice in invoices if invoice.kind == "invoice" and invoice.status == "paid"]
            for invoice in paid:
                assert paid_by.get(invoice.id) == invoice.total and credit_notes.amount_due(invoice) == 0, invoice.id
            assert set(paid_by) == {invoice.id for invoice in paid}
            assert {demo.ORGANISATIONS[key]["name"] for key in ("aromos", "paodourado", "horizonte", "moderniza")} \
                <= {invoice.organisation.name for invoice in paid}
            # Contadores del Sur pays for Ferretería El Roble; Horizonte for three clients, one consolidated
            # invoice a month with a line per client, made by the billing sweep: the older ones paid, the
            # latest pending.
            assert any(invoice.organisation.name == "Contadores Asociados del Sur Ltda." for invoice in invoices)
            horizonte = [invoice for invoice in invoices if invoice.organisation.name == "Contabilidade Horizonte Ltda"]
            assert horizonte and all(invoice.period_key.startswith("reseller:") for invoice in horizonte)
            assert {"paid", "open"} <= {invoice.status for invoice in horizonte}
            client_of = dict(db.session.execute(db.select(Subscription.id, Organisation.name).join(
                Organisation, Organisation.id == Subscription.organisation_id)).all())
            for invoice in horizonte:
                assert invoice.number is not None
                names = [client_of[line.subscription_id] for line in invoice.lines]
                assert len(set(names)) == len(names) == 3
                assert all(line.description.startswith(f"{name} (CNPJ ")
                           for line, name in zip(invoice.lines, names, strict=True))
            # Moderniza's invoices (its orders' setup fees, its licenses' subscription): paid ones and an open one.
            moderniza = {invoice.status for invoice in invoices
                         if invoice.organisation.name == demo.ORGANISATIONS["moderniza"]["name"]}
            assert {"paid", "open"} <= moderniza
            # Los Aromos went beyond its plan's documents last month.
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
            # Horizonte's Brazilian clients issued NF-e and NFC-e and received their suppliers' over three months;
            # the supplier XMLs of the months before this one are recognised.
            from portal.models import FiscalDocument

            facts = db.session.execute(db.select(FiscalDocument.direction, FiscalDocument.model,
                                                 FiscalDocument.recognised_at.is_not(None), db.func.count())
                                       .group_by(FiscalDocument.direction, FiscalDocument.model,
                                                 FiscalDocument.recognised_at.is_not(None))).all()
            by = {(direction, model, recognised): count for direction, model, recognised, count in facts}
            assert by[("issued", "55", False)] and by[("issued", "65", False)]
            assert by[("received", "55", True)] and by[("received", "55", False)]
            assert 200 <= sum(by.values()) <= 600
            months = {moment.astimezone(UTC).strftime("%Y-%m") for moment in
                      db.session.scalars(db.select(FiscalDocument.issued_at))}
            assert 3 <= len(months) <= 4
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
        client.post("/login", data={"email": "parceiro@moderniza.demo", "password": demo.PASSWORD})
        partner_invoices = client.get("/partner/invoices", headers={"Accept-Language": "pt-BR"})
        assert partner_invoices.status_code == 200 and "Gerar boleto" in partner_invoices.text
        assert "Ainda não há pagamentos." not in partner_invoices.text and "Boleto ·" in partner_invoices.text
        client.post("/logout")
        client.post("/login", data={"email": "gestor@horizonte.demo", "password": demo.PASSWORD})
        reseller_payment = client.get("/reseller/payment", headers={"Accept-Language": "pt-BR"})
        assert reseller_payment.status_code == 200 and "Ainda não há pagamentos." not in reseller_payment.text
        client.post("/logout")
        client.post("/login", data={"email": "cliente@paodourado.demo", "password": demo.PASSWORD})
        history = client.get("/customer/payments", headers={"Accept-Language": "pt-BR"})
        assert history.status_code == 200 and "Ainda não há pagamentos." not in history.text and "Pix" in history.text
        client.post("/logout")
        client.post("/login", data={"email": "cliente@aromos.demo", "password": demo.PASSWORD})
        listing = client.get("/customer/invoices")
        assert listing.status_code == 200 and str(aromos_number) in listing.text
        with app.app_context():
            db.engine.dispose()
    finally:
        drop()
