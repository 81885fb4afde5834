"""Active plans: the customer's subscriptions with their add-ons, renewal and payer; its administrators change
quantities, add-ons and plans (an upgrade previewed with its proration, a downgrade at the period's end) and suspend
an annual plan with its refund previewed, through the subscriptions service; bad requests are translated 4xx
answers that write nothing."""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from portal.extensions import db
from portal.models import Invoice, Organisation, Payment, Subscription, SubscriptionCharge
from portal.orm import utcnow
from portal.services import catalog
from portal.services.billing import subscriptions as subs
from tests import factories
from tests.services.billing_helpers import make_catalog


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


@pytest.fixture
def setup(app, login_as):
    """A Chilean customer's administrator, with an annual Plan Básico begun 40 days ago and 2 additional users."""
    client = login_as("customer", "admin")
    with app.test_request_context(headers={"Accept-Language": "en"}):
        cat = make_catalog()
        org = db.session.merge(client.organisation)
        sub = subs.start_subscription(org, cat.basic, "CLP", "annual", utcnow() - timedelta(days=40), trial_days=0,
                                      items=[(cat.user, 2)])
        db.session.commit()
        yield client, cat, sub.id


def _counts():
    db.session.rollback()
    return (db.session.scalar(db.select(db.func.count(Invoice.id))),
            db.session.scalar(db.select(db.func.count(SubscriptionCharge.id))))


def test_the_plans_page_shows_each_plan_its_add_ons_renewal_and_payer(setup, login_as):
    client, _cat, _sub = setup
    text = _text(client.get("/customer/account/plans", headers={"Accept-Language": "en"}))
    assert "Plan Básico" in text and "Annual · CLP" in text and "Next renewal" in text
    assert re.search(r"Who pays .*\(you\)", text) and "Usuario adicional" in text
    assert "Suspend the subscription" in text and "See what it costs" in text


def test_a_member_reads_the_plans_and_changes_nothing(setup, login_as):
    _client, _cat, sub_id = setup
    member = login_as("customer", "member", organisation=db.session.get(Subscription, sub_id).organisation)
    page = member.get("/customer/account/plans")
    assert page.status_code == 200 and "Plan Básico" in _text(page) and "<form" not in _text(page)
    assert "Suspend the subscription" not in _text(page)
    assert member.form_post(f"/customer/account/plans/{sub_id}/suspend").status_code == 403


def test_an_upgrade_is_previewed_with_the_proration_it_then_charges(setup):
    client, cat, sub_id = setup
    preview = client.get(f"/customer/account/plans/{sub_id}/plan?plan={cat.pro.id}", headers={"Accept-Language": "en"})
    assert preview.status_code == 200
    text = _text(preview)
    amount = int(re.search(r"Difference for the rest of the period \D*([\d,]+)", text).group(1).replace(",", ""))
    assert "Confirm the change" in text and amount > 0
    assert client.form_post(f"/customer/account/plans/{sub_id}/plan", {"plan": cat.pro.id}).status_code == 303
    db.session.rollback()
    sub = db.session.get(Subscription, sub_id)
    [charge] = db.session.scalars(db.select(SubscriptionCharge).where(SubscriptionCharge.reason == "upgrade"))
    assert sub.plan_id == cat.pro.id and charge.amount == amount


def test_a_downgrade_waits_for_the_end_of_the_period(setup):
    client, cat, sub_id = setup
    client.form_post(f"/customer/account/plans/{sub_id}/plan", {"plan": cat.pro.id})
    text = _text(client.get(f"/customer/account/plans/{sub_id}/plan?plan={cat.basic.id}"))
    assert "takes effect at the end of the current period" in text
    assert client.form_post(f"/customer/account/plans/{sub_id}/plan", {"plan": cat.basic.id}).status_code == 303
    db.session.rollback()
    sub = db.session.get(Subscription, sub_id)
    assert sub.plan_id == cat.pro.id and sub.pending_plan_id == cat.basic.id


def test_an_annual_suspension_refunds_the_previewed_amount_once(setup):
    client, _cat, sub_id = setup
    text = _text(client.get(f"/customer/account/plans/{sub_id}/suspend", headers={"Accept-Language": "en"}))
    months = int(re.search(r"Months refunded (\d+)", text).group(1))
    refund = int(re.search(r"Refund, taxes included \D*([\d,]+)", text).group(1).replace(",", ""))
    assert months == 10  # 40 days in: two months begun, ten whole months not used
    assert client.form_post(f"/customer/account/plans/{sub_id}/suspend").status_code == 303
    again = client.form_post(f"/customer/account/plans/{sub_id}/suspend", headers={"Accept-Language": "en"})
    assert again.status_code == 422 and "suspended" in _text(again)
    db.session.rollback()
    notes = list(db.session.scalars(db.select(Invoice).where(Invoice.kind == "credit_note")))
    assert sum(note.total for note in notes) == refund and db.session.get(Subscription, sub_id).status == "suspended"
    assert client.form_post(f"/customer/account/plans/{sub_id}/resume").status_code == 303
    assert client.form_post(f"/customer/account/plans/{sub_id}/resume").status_code == 422  # active already


@pytest.mark.parametrize("case", ["same plan", "retired plan", "unknown plan", "no plan", "huge id"])
def test_a_bad_plan_change_is_refused_and_writes_nothing(setup, case):
    client, cat, sub_id = setup
    plan = {"same plan": cat.basic.id, "retired plan": cat.old.id, "unknown plan": 999_999, "no plan": "",
            "huge id": "9" * 30}[case]
    before = _counts()
    for response in (client.get(f"/customer/account/plans/{sub_id}/plan?plan={plan}",
                                headers={"Accept-Language": "es"}),
                     client.form_post(f"/customer/account/plans/{sub_id}/plan", {"plan": plan},
                                      headers={"Accept-Language": "es"})):
        assert response.status_code == 422, case
        assert any(phrase in _text(response) for phrase in ("ya es el plan", "ya no se vende", "Elige uno")), case
    assert _counts() == before


def test_quantities_change_add_and_remove_add_ons_but_not_below_the_users_in_use(app, setup, login_as):
    client, cat, sub_id = setup
    sub = db.session.get(Subscription, sub_id)
    with app.test_request_context():
        catalog.set_quota(cat.basic, "users", 1)  # 1 user + 2 additional users = 3 included
        for _n in range(2):
            factories.make_member("customer", "member", organisation=sub.organisation)
        db.session.commit()  # 3 members now
    url = f"/customer/account/plans/{sub_id}/quantity"
    before = _counts()
    refused = client.form_post(url, {"product_id": cat.user.id, "quantity": "1"}, headers={"Accept-Language": "en"})
    assert refused.status_code == 422 and "3 users are active" in _text(refused)
    assert _counts() == before
    assert client.form_post(url, {"product_id": cat.user.id, "quantity": "4"}).status_code == 303
    assert client.form_post(url, {"product_id": cat.module.id, "quantity": "1"}).status_code == 303
    assert client.form_post(url, {"product_id": cat.module.id, "quantity": "0"}).status_code == 303
    for bad in ({"product_id": cat.user.id, "quantity": "-1"}, {"product_id": cat.user.id, "quantity": "dos"},
                {"product_id": cat.basic.id, "quantity": "1"}, {"product_id": "x", "quantity": "1"}):
        assert client.form_post(url, bad).status_code == 422, bad
    db.session.rollback()
    sub = db.session.get(Subscription, sub_id)
    assert {item.product_id: item.quantity for item in sub.items} == {cat.user.id: 4}


def test_a_paid_annual_plan_suspended_shows_and_puts_the_refund_in_the_wallet(setup):
    from portal.services.billing import invoicing
    from portal.services.payments import wallet

    client, _cat, sub_id = setup
    org_id = db.session.get(Subscription, sub_id).payer_id
    [invoice] = db.session.scalars(db.select(Invoice).where(Invoice.kind == "invoice")).all()
    invoicing.mark_paid(invoice, utcnow() - timedelta(days=39))
    db.session.commit()
    text = _text(client.get(f"/customer/account/plans/{sub_id}/suspend", headers={"Accept-Language": "es"}))
    refund = int(re.search(r"Reembolso, impuestos incluidos \D*([\d.]+)", text).group(1).replace(".", ""))
    assert "Tu billetera, de inmediato" in text
    assert client.form_post(f"/customer/account/plans/{sub_id}/suspend").status_code == 303
    db.session.rollback()
    assert wallet.balance(org_id, "CLP") == refund


def test_a_plan_paid_by_card_is_refunded_to_the_card_when_the_customer_chooses_it(setup):
    """The preview offers the wallet or the card that paid; chosen, the card's gateway gives the money back
    (a refund of the payment, tied to the suspension's credit note: no second note), and the wallet is
    untouched. A destination that is neither is refused and nothing is written."""
    from portal.models import Refund
    from portal.services.payments import wallet
    from tests.services.payments.helpers import make_card, pay_by_card

    client, _cat, sub_id = setup
    sub = db.session.get(Subscription, sub_id)
    org = db.session.get(Organisation, sub.payer_id)
    [invoice] = db.session.scalars(db.select(Invoice).where(Invoice.kind == "invoice")).all()
    card = make_card(org, last4="4242")
    db.session.commit()
    payment = pay_by_card(org.id, invoice.id, invoice.total, card.id, "pay-all", now=utcnow() - timedelta(days=39))
    assert payment.state == "succeeded"
    url = f"/customer/account/plans/{sub_id}/suspend"
    text = _text(client.get(url, headers={"Accept-Language": "es"}))
    assert "La tarjeta con que pagaste: Visa •••• 4242" in text and "Tu billetera, de inmediato" in text
    refused = client.form_post(url, {"destination": "cheque"}, headers={"Accept-Language": "es"})
    assert refused.status_code == 422
    db.session.rollback()
    assert db.session.get(Subscription, sub_id).status == "active" and not db.session.scalars(
        db.select(Invoice).where(Invoice.kind == "credit_note")).all()
    assert client.form_post(url, {"destination": "method"}).status_code == 303
    db.session.rollback()
    [note] = db.session.scalars(db.select(Invoice).where(Invoice.kind == "credit_note")).all()
    [refund] = db.session.scalars(db.select(Refund)).all()
    assert (refund.destination, refund.state, refund.credit_note_id, refund.amount) == (
        "method", "succeeded", note.id, note.total)
    assert refund.gateway_refund_id and note.status == "paid" and wallet.balance(org.id, "CLP") == 0
    assert db.session.get(Payment, payment.id).refunded_amount == note.total
    assert db.session.get(Subscription, sub_id).status == "suspended"


def _plan_row(client) -> dict:
    import csv

    text = client.get("/customer/account/plans.csv", headers={"Accept-Language": "en"}, buffered=True).get_data(
        as_text=True)
    header, row = csv.reader(text.lstrip("\ufeff").splitlines())
    return dict(zip(header, row, strict=True))


def test_the_plans_csv_says_what_a_plan_changes_to_and_when_a_suspended_one_stopped(setup):
    client, cat, sub_id = setup
    client.form_post(f"/customer/account/plans/{sub_id}/plan", {"plan": cat.pro.id})
    client.form_post(f"/customer/account/plans/{sub_id}/plan", {"plan": cat.basic.id})
    db.session.rollback()
    sub = db.session.get(Subscription, sub_id)
    end = f"{sub.current_period_end.astimezone(ZoneInfo(sub.organisation.timezone or 'UTC')).date():%Y-%m-%d}"
    row = _plan_row(client)
    assert (row["Plan"], row["Changes to"], row["State"], row["Next renewal"], row["Ends on"]) == (
        "Plan Pro", "Plan Básico", "Active", end, "")
    assert row["Add-ons"] == "Usuario adicional × 2" and row["Billing"] == "Annual"
    assert client.form_post(f"/customer/account/plans/{sub_id}/suspend").status_code == 303
    db.session.rollback()
    sub = db.session.get(Subscription, sub_id)
    stopped = f"{sub.suspended_at.astimezone(ZoneInfo(sub.organisation.timezone or 'UTC')).date():%Y-%m-%d}"
    row = _plan_row(client)
    assert (row["State"], row["Next renewal"], row["Ends on"]) == ("Suspended", "", stopped)


def test_suspending_a_cancelled_plan_is_refused_in_the_customers_language_and_writes_nothing(setup):
    client, _cat, sub_id = setup
    subs.cancel(db.session.get(Subscription, sub_id), utcnow(), at_period_end=False)
    db.session.commit()
    before = _counts()
    refused = client.form_post(f"/customer/account/plans/{sub_id}/suspend", headers={"Accept-Language": "es"})
    assert refused.status_code == 422
    assert "Esta suscripción está cancelada: ya no se puede cambiar." in _text(refused)
    assert _counts() == before
    sub = db.session.get(Subscription, sub_id)
    assert (sub.status, sub.suspended_at, sub.suspend_at_period_end) == ("cancelled", None, False)
