"""Auto-recharge: a wallet that falls under its threshold is topped up from the auto-pay card, once per fall,
and again after it has risen and fallen anew — once, too, when the job runs 8 times at once or 8 spends race, on
SQLite and PostgreSQL; the balance is the ledger's sum and never negative. And the
screens: the wallet's settings, and what the wallet and payment methods pages say will happen."""

import threading

import pytest

from portal.database import writing
from portal.extensions import db
from portal.jobs import auto_recharge
from portal.models import Organisation, Payment, PaymentMethod, WalletEntry, WalletSettings
from portal.services.payments import checkout, wallet
from portal.workflows import auto_pay as auto_pay_flow
from tests import factories
from tests.services.payments.helpers import NOW, make_card


@pytest.fixture
def org(app):
    member = factories.make_member("customer", "admin", locale="es")
    org = member.organisation
    make_card(org)
    db.session.add(WalletSettings(organisation_id=org.id, pay_from_wallet=False, auto_recharge=True,
                                  recharge_threshold=10_000, recharge_amount=30_000))
    wallet.add_entry(org, "top_up", 25_000, NOW)
    db.session.commit()
    return org


def _top_ups(org) -> list[Payment]:
    return list(db.session.scalars(db.select(Payment).where(Payment.organisation_id == org.id,
                                                            Payment.purpose == "top_up").order_by(Payment.id)))


def _spend(org, amount: int) -> WalletEntry:
    entry = wallet.add_entry(org, "adjustment", -amount, NOW, reason="spent")
    db.session.commit()
    return entry


def _assert_ledger(org) -> None:
    assert wallet.balance(org.id, "CLP") == wallet.ledger_sum(org.id, "CLP") >= 0
    assert db.session.scalar(db.select(db.func.min(WalletEntry.balance_after))
                             .where(WalletEntry.organisation_id == org.id)) >= 0


def test_a_spend_above_the_threshold_does_not_recharge(org):
    _spend(org, 10_000)
    assert _top_ups(org) == [] and wallet.balance(org.id, "CLP") == 15_000


def test_a_fall_under_the_threshold_is_topped_up_once_and_credited(org):
    fall = _spend(org, 20_000)
    [top_up] = _top_ups(org)
    assert (top_up.amount, top_up.state, top_up.method_kind, top_up.idempotency_key) == (
        30_000, "succeeded", "card", f"recharge:{fall.id}")
    assert wallet.balance(org.id, "CLP") == 5_000 + 30_000
    assert db.session.get(WalletSettings, org.id).recharged_for_entry_id == fall.id
    # The job run again for the same fall, and a later spend that stays above: nothing more.
    auto_recharge(fall.id)
    auto_recharge(fall.id)
    _spend(org, 1_000)
    assert len(_top_ups(org)) == 1
    _assert_ledger(org)


def test_spends_while_under_the_threshold_answer_the_same_fall(org):
    card = db.session.scalars(db.select(PaymentMethod).where(PaymentMethod.organisation_id == org.id)).one()
    card.token = card.token.replace("succeeds", "declined")
    db.session.commit()
    _spend(org, 20_000)  # under: a recharge is tried, declined
    _spend(org, 2_000)  # still under: the same fall, not tried again
    [failed] = _top_ups(org)
    assert failed.state == "failed" and wallet.balance(org.id, "CLP") == 3_000
    _assert_ledger(org)


def test_a_new_fall_after_the_balance_rose_again_recharges_again(org):
    _spend(org, 20_000)  # 5.000 → +30.000 = 35.000
    _spend(org, 30_000)  # 5.000 again: a new fall
    assert [p.amount for p in _top_ups(org)] == [30_000, 30_000]
    assert wallet.balance(org.id, "CLP") == 35_000
    _assert_ledger(org)


def test_paying_an_invoice_from_the_wallet_triggers_it_too(org):
    invoice = factories.make_invoice(org, lines=(("Plan", 1, 18_000),), tax_rate_bp=0)
    db.session.commit()
    checkout.pay_from_wallet(org, invoice, 18_000, "wallet-pay", NOW)
    db.session.commit()
    assert [p.amount for p in _top_ups(org)] == [30_000]
    assert wallet.balance(org.id, "CLP") == 7_000 + 30_000


def test_without_an_auto_pay_card_nothing_is_charged(org):
    from portal.services.payments import methods

    methods.stop_auto_pay(org)
    db.session.commit()
    _spend(org, 20_000)
    assert _top_ups(org) == [] and wallet.balance(org.id, "CLP") == 5_000


def test_auto_recharge_off_never_charges(org):
    db.session.get(WalletSettings, org.id).auto_recharge = False
    db.session.commit()
    _spend(org, 20_000)
    assert _top_ups(org) == []


# The screens


@pytest.fixture
def admin(login_as):
    client = login_as("customer", "admin", locale="es")
    client.card = make_card(client.organisation)
    db.session.commit()
    return client


def test_an_administrator_turns_on_pay_from_wallet_and_auto_recharge(admin):
    page = admin.get("/customer/wallet").get_data(as_text=True)
    assert "Nada se paga automáticamente" not in page and "La billetera no se recarga automáticamente." in page
    response = admin.form_post("/customer/wallet/settings", {
        "pay_from_wallet": "y", "auto_recharge": "y", "recharge_threshold": "10.000", "recharge_amount": "30.000"})
    assert response.status_code == 303
    stored = db.session.get(WalletSettings, admin.organisation.id)
    assert (stored.pay_from_wallet, stored.auto_recharge, stored.recharge_threshold, stored.recharge_amount) == (
        True, True, 10_000, 30_000)
    page = admin.get("/customer/wallet").get_data(as_text=True)
    assert "el saldo de la billetera paga lo que alcanza y se cobra el resto a Visa •••• 4242" in page
    assert "baja de $10.000, se cobran $30.000 a Visa •••• 4242" in page
    methods_page = admin.get("/customer/payment-methods").get_data(as_text=True)
    assert "Si el cobro falla, se intenta de nuevo 1, 3 y 5 días después" in methods_page


@pytest.mark.parametrize("form, message", [
    ({"auto_recharge": "y", "recharge_threshold": "-5", "recharge_amount": "1000"}, "negativo"),
    ({"auto_recharge": "y", "recharge_threshold": "1000", "recharge_amount": "0"}, "Ingresa el monto"),
    ({"recharge_threshold": "abc", "recharge_amount": "0"}, ""),
])
def test_bad_settings_are_refused_and_nothing_is_written(admin, form, message):
    response = admin.form_post("/customer/wallet/settings", form)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.get(WalletSettings, admin.organisation.id) is None


def test_auto_recharge_without_an_auto_pay_card_is_refused(admin):
    from portal.services.payments import methods

    methods.stop_auto_pay(admin.organisation)
    db.session.commit()
    response = admin.form_post("/customer/wallet/settings", {
        "auto_recharge": "y", "recharge_threshold": "1000", "recharge_amount": "5000"})
    assert response.status_code == 422
    assert db.session.get(WalletSettings, admin.organisation.id) is None


def test_a_member_who_is_not_an_administrator_reads_but_cannot_change(login_as):
    member = login_as("customer", "member", locale="es")
    page = member.get("/customer/wallet").get_data(as_text=True)
    assert "Pagos automáticos" in page and 'action="/customer/wallet/settings"' not in page
    assert member.form_post("/customer/wallet/settings", {"pay_from_wallet": "y"}).status_code == 403


def test_the_invoice_page_shows_automatic_payments_and_failed_attempts(admin):
    from portal.workflows import auto_pay as auto_pay_flow

    admin.card.token = admin.card.token.replace("succeeds", "declined")
    invoice = factories.make_invoice(admin.organisation)
    db.session.commit()
    auto_pay_flow.attempt(invoice.id, 1, NOW)
    page = admin.get(f"/customer/invoices/{invoice.id}").get_data(as_text=True)
    assert "Visa •••• 4242, automático" in page and "Rechazado" in page and "La tarjeta fue rechazada" in page
    history = admin.get("/customer/payments").get_data(as_text=True)
    assert "Visa •••• 4242, automático" in history and "La tarjeta fue rechazada" in history


# At once (QUALITY.md R1): 8 threads, on SQLite and on PostgreSQL.


def _at_once(app, work, count: int = 8) -> list[Exception]:
    errors, barrier = [], threading.Barrier(count)

    def run(number):
        with app.app_context():
            try:
                barrier.wait()
                work(number)
            except Exception as error:  # noqa: BLE001 — collected and asserted below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def _falls(org_id: int, threshold: int) -> list[WalletEntry]:
    """The movements that brought the wallet under the threshold from at or above it."""
    entries = list(db.session.scalars(db.select(WalletEntry).where(WalletEntry.organisation_id == org_id)
                                      .order_by(WalletEntry.sequence)))
    return [entry for before, entry in zip(entries, entries[1:], strict=False)
            if before.balance_after >= threshold > entry.balance_after]


def test_the_recharge_of_one_fall_run_eight_times_at_once_tops_up_once(app, org):
    fall = wallet.add_entry(org, "adjustment", -20_000, NOW, reason="spent")
    # The movement marks its fall as answered; the job it hands on is held back, to be run 8 times at once.
    assert db.session.get(WalletSettings, org.id).recharged_for_entry_id == fall.id
    db.session.info.pop("after_commit", None)
    db.session.commit()
    org_id, fall_id = org.id, fall.id
    db.session.remove()

    errors = _at_once(app, lambda _number: auto_pay_flow.recharge(fall_id, NOW))

    assert errors == []
    [top_up] = _top_ups(db.session.get(Organisation, org_id))
    assert (top_up.state, top_up.amount, top_up.idempotency_key) == ("succeeded", 30_000, f"recharge:{fall_id}")
    assert wallet.balance(org_id, "CLP") == 5_000 + 30_000
    _assert_ledger(db.session.get(Organisation, org_id))


def test_eight_spends_at_once_recharge_once_per_fall(app, org):
    org_id = org.id
    db.session.remove()

    def spend(number):
        with writing():
            wallet.adjust(db.session.get(Organisation, org_id), -3_000, "spent", NOW, None, key=f"spend-{number}")
            db.session.commit()

    errors = _at_once(app, spend)

    assert errors == []
    org = db.session.get(Organisation, org_id)
    falls = _falls(org_id, 10_000)
    top_ups = _top_ups(org)
    assert len(falls) >= 1
    assert sorted(p.idempotency_key for p in top_ups) == sorted(f"recharge:{entry.id}" for entry in falls)
    assert all(p.state == "succeeded" and p.amount == 30_000 for p in top_ups)
    spent = db.session.scalar(db.select(db.func.count(WalletEntry.id)).where(
        WalletEntry.organisation_id == org_id, WalletEntry.kind == "adjustment"))
    assert spent == 8
    assert wallet.balance(org_id, "CLP") == 25_000 - 8 * 3_000 + 30_000 * len(top_ups)
    _assert_ledger(org)
