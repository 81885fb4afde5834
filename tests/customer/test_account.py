"""The customer's account area: the billing overview says what is owed and overdue, when each plan renews and
what its next invoice will be (the sweep's own estimate), and the last purchase."""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from portal.extensions import db
from portal.orm import utcnow
from portal.services.billing import subscriptions as subs
from portal.services.billing import usage
from tests import factories
from tests.services.billing_helpers import make_catalog


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def test_the_overview_shows_the_balance_the_overdue_the_cycle_and_the_estimate(app, login_as, count_queries):
    client = login_as("customer", "admin")
    now = utcnow()
    with app.test_request_context(headers={"Accept-Language": "en"}):
        cat = make_catalog()
        org = db.session.merge(client.organisation)
        # Started at noon UTC: its renewal falls on the same day (and year) in Santiago as in UTC.
        started = (now - timedelta(days=3)).replace(hour=12, minute=0, second=0, microsecond=0)
        sub = subs.start_subscription(org, cat.basic, "CLP", "monthly", started, trial_days=0,
                                      items=[(cat.user, 2)])
        usage.record_events(org, [usage.Event("a1", "documents", 130, now - timedelta(days=1))], now)
        late = factories.make_invoice(org, issued_at=now - timedelta(days=60), lines=[("Implementación", 1, 50_000)])
        db.session.commit()
        late_number, renewal = late.display_number, sub.current_period_end
    with count_queries() as counter:
        page = client.get("/customer/account", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    text = _text(page)
    assert "Outstanding balance" in text and "2 pending invoices" in text
    assert re.search(r"Overdue invoices .*" + re.escape(late_number), text), text
    assert "Next renewal" in text and "Plan Básico" in text
    # The overage so far, worded as the invoice will be (in the organisation's language, Spanish).
    assert "Documentos electrónicos por sobre los 100 incluidos × 30" in text, text
    assert re.search(r"Estimated total \D*20,825", text), text  # 10,000 + 2 × 3,000 + 30 × 50, plus 19 %
    assert f"{renewal:%Y}" in text
    assert "Last purchase" in text
    assert "Pay invoice" not in page.get_data(as_text=True)  # no way to pay offered in Chile yet
    assert counter["n"] <= 30, counter["n"]
    with app.test_request_context():
        from portal.models import OfflineMethod

        db.session.add(OfflineMethod(kind="bank_transfer", country="CL", details={"bank": "Banco Estado"}))
        db.session.commit()
    html = client.get("/customer/account", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f'aria-label="Pay invoice {late_number}"' in html and "#pay-offline-title" in html


def test_the_overview_without_a_plan_nor_invoices_says_so_in_spanish(login_as):
    client = login_as("customer", "member")
    text = _text(client.get("/customer/account", headers={"Accept-Language": "es"}))
    assert "Resumen de facturación" in text
    assert "Nada por pagar" in text and "Aún no has comprado nada" in text


def test_the_months_account_lists_services_activations_and_overconsumption(app, login_as):
    client = login_as("customer", "admin", name="Carla Rojas")
    now = utcnow()
    with app.test_request_context(headers={"Accept-Language": "en"}):
        cat = make_catalog()
        org = db.session.merge(client.organisation)
        actor = db.session.merge(client.user)
        sub = subs.start_subscription(org, cat.basic, "CLP", "monthly", now - timedelta(days=10), trial_days=0,
                                      items=[(cat.user, 2)])
        subs.add_addon(sub, cat.module, now - timedelta(days=1), actor=actor)
        usage.record_events(org, [usage.Event("a1", "documents", 130, now - timedelta(days=1))], now)
        db.session.commit()
        charged = sum(c.amount for c in sub_charges(sub) if c.product_id == cat.module.id)  # prorated + setup
    text = _text(client.get("/customer/account/month", headers={"Accept-Language": "en"}))
    assert re.search(r"Plan Básico Plan 1 \D*10,000 \D*10,000", text), text
    assert re.search(r"Usuario adicional Additional user 2 \D*3,000 \D*6,000", text), text
    assert re.search(r"Add-on added Inventario 0 → 1 Carla Rojas \D*" + f"{charged:,}", text), text
    assert re.search(r"Started Plan Básico .* Vitrine \(automatic\)", text), text
    assert re.search(r"Electronic documents 130 100 30 \D*50 \D*1,500", text), text
    csv = client.get("/customer/account/month/activations.csv", headers={"Accept-Language": "es"}, buffered=True)
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    body = csv.get_data(as_text=True)
    assert "Complemento agregado" in body.splitlines()[1] and "Carla Rojas" in body and f",{charged}," in body


def sub_charges(sub):
    from portal.models import SubscriptionCharge

    return list(db.session.scalars(db.select(SubscriptionCharge).where(SubscriptionCharge.subscription_id == sub.id)))


def test_the_balance_counts_credit_notes_and_payments_as_the_amount_due_does(app, login_as):
    from portal.services.billing import account, credit_notes
    from portal.services.payments import checkout

    client = login_as("customer", "admin")
    now = utcnow()
    with app.test_request_context(headers={"Accept-Language": "en"}):
        make_catalog()
        org = db.session.merge(client.organisation)
        late = factories.make_invoice(org, issued_at=now - timedelta(days=60), lines=[("Implementación", 1, 50_000)])
        recent = factories.make_invoice(org, issued_at=now - timedelta(days=1), lines=[("Usuario", 1, 10_000)])
        checkout.record_received(org, late, 20_000, "bank_transfer", "transfer-1", now)
        credit_notes.issue_credit_note(recent, now, amount=1_900)
        db.session.flush()
        [balance] = account.balances(org.id, now)
        assert balance.due == credit_notes.amounts_due(org.id)[0][1] == 59_500 - 20_000 + 11_900 - 1_900
        assert (balance.overdue, balance.overdue_invoices) == (39_500, 1)
        assert balance.due == sum(credit_notes.amount_due(invoice) for invoice in (late, recent))


def test_the_history_lists_every_change_with_who_before_after_and_its_documents(app, login_as):
    from tests.services.billing_helpers import JAN, invoices_of

    client = login_as("customer", "admin", organisation=factories.make_org("customer", "BR"), name="João Lima")
    with app.test_request_context(headers={"Accept-Language": "pt-BR"}):
        cat = make_catalog()
        org = db.session.merge(client.organisation)
        actor = db.session.merge(client.user)
        sub = subs.start_subscription(org, cat.basic, "BRL", "annual", JAN, trial_days=0, actor=actor)
        subs.add_addon(sub, cat.user, JAN + timedelta(days=20), quantity=2, actor=actor)
        subs.change_quantity(sub, cat.user, 1, JAN + timedelta(days=30), actor=actor)
        subs.change_plan(sub, cat.pro, JAN + timedelta(days=40), actor=actor)
        subs.suspend(sub, JAN + timedelta(days=100), actor=actor)
        db.session.commit()
        first, *_pending = invoices_of(org)  # the year in advance; the suspension's invoice of the days used
        note = invoices_of(org, "credit_note")[0]  # the refund of the unused months
        numbers = first.display_number, note.display_number
        other = subs.start_subscription(factories.make_org("customer", "BR"), cat.basic, "BRL", "monthly", JAN,
                                        trial_days=0)
        db.session.commit()
        other_id = other.id
    page = client.get("/customer/account/history", headers={"Accept-Language": "pt-BR"})
    assert page.status_code == 200
    text = _text(page)
    # The suspension of the annual plan: the invoice of the days used, and the credit note of the unused months.
    assert re.search(r"Suspensa Plan Pro — João Lima — F\d+ " + numbers[1], text), text
    assert re.search(r"Plano alterado Plan Pro Plan Básico → Plan Pro João Lima R\$ [\d.,]+", text), text
    assert re.search(r"Quantidade alterada Usuario adicional 2 → 1 João Lima -R\$", text), text
    assert re.search(r"Complemento adicionado Usuario adicional 0 → 2 João Lima R\$", text), text
    assert re.search(r"Iniciada Plan Básico — → Plan Básico João Lima — " + numbers[0], text), text
    assert "5 mudanças" in text
    assert f'href="/customer/invoices/{note.id}"' in page.get_data(as_text=True)
    invoice_page = client.get(f"/customer/invoices/{note.id}", headers={"Accept-Language": "pt-BR"})
    link = f'href="/customer/account/history?subscription={note.subscription_id}"'
    assert link in invoice_page.get_data(as_text=True)
    assert "O histórico da sua assinatura" in _text(invoice_page)
    csv = client.get("/customer/account/history.csv", headers={"Accept-Language": "pt-BR"}, buffered=True)
    lines = csv.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("Data,Assinatura,Mudança") and len(lines) == 6
    assert numbers[1] in lines[1] and "Suspensa" in lines[1]
    assert client.get(f"/customer/account/history?subscription={other_id}").status_code == 404
    assert client.get(f"/customer/account/history.csv?subscription={other_id}").status_code == 404


def _csv_rows(client, path: str, language: str) -> list[list[str]]:
    import csv

    response = client.get(path, headers={"Accept-Language": language}, buffered=True)
    assert response.status_code == 200 and response.mimetype == "text/csv", (path, response.status_code)
    assert re.fullmatch(r'attachment; filename=[a-z-]+-\d{4}-\d{2}-\d{2}\.csv', response.headers["Content-Disposition"])
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(text.lstrip("\ufeff").splitlines()))


def _customer_over_its_quota(app, login_as, cat=None):
    """An administrator of a Chilean customer with a monthly Plan Básico begun 10 days ago, 2 additional users and
    the Inventario module, and 130 documents of the 100 included; and another customer with its own plan and use."""
    client = login_as("customer", "admin", organisation=factories.make_org("customer", name="Ferretería Sur"))
    now = utcnow()
    with app.test_request_context(headers={"Accept-Language": "en"}):
        cat = make_catalog()
        org = db.session.merge(client.organisation)
        sub = subs.start_subscription(org, cat.basic, "CLP", "monthly", now - timedelta(days=10), trial_days=0,
                                      items=[(cat.user, 2)])
        subs.add_addon(sub, cat.module, now - timedelta(days=1))
        usage.record_events(org, [usage.Event("a1", "documents", 130, now - timedelta(days=1))], now)
        other = factories.make_org("customer", name="Panadería Norte")
        subs.start_subscription(other, cat.pro, "CLP", "annual", now - timedelta(days=5), trial_days=0,
                                items=[(cat.user, 7)])
        usage.record_events(other, [usage.Event("b1", "documents", 900, now - timedelta(days=1))], now)
        db.session.commit()
        zone = ZoneInfo(org.timezone or "UTC")
        period = [f"{moment.astimezone(zone).date():%Y-%m-%d}" for moment in (sub.current_period_start,
                                                                              sub.current_period_end)]
        return client, sub.id, period


def test_the_months_services_and_overconsumption_download_as_csv_with_plain_amounts(app, login_as):
    client, sub_id, (start, end) = _customer_over_its_quota(app, login_as)
    services = _csv_rows(client, "/customer/account/month/services.csv", "en")
    assert services == [
        ["Subscription no.", "Service", "Type", "Quantity", "Currency", "Unit price", "Amount", "From", "To"],
        [str(sub_id), "Plan Básico", "Plan", "1", "CLP", "10000", "10000", start, end],
        [str(sub_id), "Usuario adicional", "Additional user", "2", "CLP", "3000", "6000", start, end],
        [str(sub_id), "Inventario", "Module", "1", "CLP", "6000", "6000", start, end],
    ]  # the other customer's Plan Pro and 7 users never appear
    overconsumption = _csv_rows(client, "/customer/account/month/overconsumption.csv", "en")
    assert overconsumption == [
        ["Metric", "From", "To", "Used", "Included", "Excess", "Currency", "Overage unit price", "Amount so far"],
        ["Electronic documents", start, end, "130", "100", "30", "CLP", "50", "1500"],
    ]  # not the other customer's 900 documents
    page = client.get("/customer/account/month").get_data(as_text=True)
    assert 'href="/customer/account/month/services.csv"' in page
    assert 'href="/customer/account/month/overconsumption.csv"' in page


def test_the_active_plans_download_as_csv_and_a_member_reads_them_too(app, login_as):
    client, sub_id, (start, end) = _customer_over_its_quota(app, login_as)
    member = login_as("customer", "member", organisation=client.organisation)
    header, *rows = _csv_rows(member, "/customer/account/plans.csv", "en")
    assert header == ["Subscription no.", "Software", "Plan", "Add-ons", "Billing", "From", "To", "State",
                      "Next renewal", "Ends on", "Changes to", "Who pays", "Discount %", "Currency",
                      "Price per period"]
    assert rows == [[str(sub_id), "ERP", "Plan Básico", "Usuario adicional × 2; Inventario × 1", "Monthly", start,
                     end, "Active", end, "", "", "Ferretería Sur", "0", "CLP", "22000"]]
    assert 'href="/customer/account/plans.csv"' in member.get("/customer/account/plans").get_data(as_text=True)
    for path in ("/customer/account/month/services.csv", "/customer/account/month/overconsumption.csv"):
        assert len(_csv_rows(member, path, "en")) > 1


def test_the_account_csv_headers_follow_the_readers_language(app, login_as):
    client, _sub_id, _period = _customer_over_its_quota(app, login_as)
    expected = {
        "es": ("N.º de suscripción,Servicio,Tipo,Cantidad,Moneda,Precio unitario,Monto,Desde,Hasta",
               "Métrica,Desde,Hasta,Usado,Incluido,Exceso,Moneda,Precio unitario del exceso,Monto hasta ahora",
               "Usuario adicional × 2; Inventario × 1,Mensual"),
        "pt_BR": ("Nº da assinatura,Serviço,Tipo,Quantidade,Moeda,Preço unitário,Valor,De,Até",
                  "Métrica,De,Até,Usado,Incluído,Excedente,Moeda,Preço unitário do excedente,Valor até agora",
                  "Usuario adicional × 2; Inventario × 1,Mensal"),
    }
    for language, (services, overconsumption, plan) in expected.items():
        header = language.replace("_", "-")
        assert ",".join(_csv_rows(client, "/customer/account/month/services.csv", header)[0]) == services
        assert ",".join(_csv_rows(client, "/customer/account/month/overconsumption.csv", header)[0]) == \
            overconsumption
        assert plan in ",".join(_csv_rows(client, "/customer/account/plans.csv", header)[1])


def test_the_overview_shows_the_wallet_its_automatic_recharge_and_a_way_to_add_funds(app, login_as):
    from portal.models import WalletSettings
    from portal.services.payments import wallet

    client = login_as("customer", "admin")
    with app.test_request_context():
        org = db.session.merge(client.organisation)
        db.session.add(WalletSettings(organisation_id=org.id, pay_from_wallet=True, auto_recharge=True,
                                      recharge_threshold=20_000, recharge_amount=50_000))
        wallet.add_entry(org, "top_up", 35_000, utcnow())
        db.session.commit()
    page = client.get("/customer/account", headers={"Accept-Language": "en"})
    text = _text(page)
    assert page.status_code == 200
    assert re.search(r"Wallet Balance \D*35,000", text), text
    assert re.search(r"Automatic recharge On: \D*50,000 is added when the balance falls below \D*20,000", text), text
    assert re.search(r'<a class="button" href="/customer/wallet">\s*Add funds</a>', page.get_data(as_text=True))
    es = _text(client.get("/customer/account", headers={"Accept-Language": "es"}))
    assert re.search(r"Billetera Saldo \D*35\.000", es), es
    assert "Recarga automática Activada" in es and "Agregar fondos" in es
