"""The customer's account area: the billing overview says what is owed and overdue, when each plan renews and
what its next invoice will be (the sweep's own estimate), and the last purchase."""

import re
from datetime import timedelta

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
        sub = subs.start_subscription(org, cat.basic, "CLP", "monthly", now - timedelta(days=3), trial_days=0,
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
    assert counter["n"] <= 30, counter["n"]


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
