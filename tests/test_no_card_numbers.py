"""Card numbers never reach the portal: after every test card has been entered on the sandbox gateway's page,
saved, charged, declined and confirmed by webhook, no Luhn-valid run of 13 to 19 digits is in any column of
any table, in the outbox (e-mails) or in the log."""

import logging
import re
from urllib.parse import urlsplit

from sqlalchemy import String, Text, text
from sqlalchemy.types import JSON

from portal.extensions import db
from portal.models import Invoice
from portal.orm import utcnow
from portal.services.payments.sandbox import TEST_CARDS, luhn_valid
from tests import factories

# A run stands alone: digits inside a longer word (a hex digest, a UUID's groups) are not a card number.
DIGIT_RUNS = re.compile(r"(?<![0-9A-Za-z])\d{13,19}(?![0-9A-Za-z])")
# Identifiers that are random hex: their digit groups, joined, may pass Luhn's check by chance.
RANDOM_HEX = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|\b[0-9a-f]{32,}\b", re.I)


def card_like(value: str) -> list[str]:
    """The Luhn-valid runs of 13–19 digits in `value` (spaces and dashes between digits are ignored)."""
    joined = re.sub(r"(?<=\d)[ -](?=\d)", "", RANDOM_HEX.sub(" ", value))
    return [run for run in DIGIT_RUNS.findall(joined) if luhn_valid(run)]


def test_the_scanner_finds_a_card_number_however_it_is_written():
    assert card_like("paid with 4242 4242 4242 4242.") == ["4242424242424242"]
    assert card_like("ref 4000-0000-0000-0002") == ["4000000000000002"]
    assert card_like("4242424242424241 and 12345") == []


def _text_columns():
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, (String, Text, JSON))]
        if columns:
            yield table, columns


def test_no_card_number_is_stored_logged_or_mailed(app, login_as, caplog):
    caplog.set_level(logging.DEBUG)
    client = login_as("customer", "admin", locale="es")
    org = client.organisation
    for _ in range(2):
        factories.make_invoice(org)
    db.session.commit()
    for number in TEST_CARDS:
        to_gateway = client.form_post("/customer/payment-methods/new")
        back = client.form_post(to_gateway.headers["Location"], {
            "number": f"{number[:4]} {number[4:8]} {number[8:12]} {number[12:]}", "expiry": "11/32", "cvc": "987",
            "holder": "Rosa Pérez"})
        if back.status_code != 303:
            continue  # declined on the provider's page
        page = client.get(back.headers["Location"]).get_data(as_text=True)
        result = re.search(r'name="result" type="hidden" value="([^"]+)"', page).group(1)
        assert client.form_post(urlsplit(back.headers["Location"]).path, {"result": result}).status_code == 303
    from portal.models import PaymentMethod

    invoices = db.session.scalars(db.select(Invoice).where(Invoice.organisation_id == org.id)).all()
    for n, method in enumerate(db.session.scalars(db.select(PaymentMethod)).all()):
        invoice = invoices[n % len(invoices)]
        page = client.get("/customer/pay").get_data(as_text=True)
        key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', page).group(1)
        client.form_post("/customer/pay", {"idempotency_key": key, "invoice": str(invoice.id),
                                           f"amount-{invoice.id}": "1000", "method": f"card:{method.id}"})
    db.session.commit()
    # Automatic payments: each card pays a renewal by itself (and fails, or is skipped when expired), and the
    # wallet tops itself up from the auto-pay card.
    from portal.models import WalletSettings
    from portal.services.payments import methods, wallet
    from portal.workflows import auto_pay

    cards = db.session.scalars(db.select(PaymentMethod).where(PaymentMethod.organisation_id == org.id)).all()
    for method in cards:
        for card in cards:
            card.auto_pay = card.id == method.id
        renewal = factories.make_invoice(org)
        db.session.commit()
        auto_pay.attempt(renewal.id, 1, utcnow())
    db.session.add(WalletSettings(organisation_id=org.id, auto_recharge=True, recharge_threshold=5_000,
                                  recharge_amount=20_000))
    if methods.auto_pay_method(org) is not None:
        wallet.add_entry(org, "adjustment", 10_000, utcnow(), reason="opening")
        wallet.add_entry(org, "adjustment", -8_000, utcnow(), reason="spent")
    db.session.commit()

    found = []
    with db.engine.connect() as connection:
        for table, columns in _text_columns():
            for row in connection.execute(db.select(*columns)):
                for column, value in zip(columns, row, strict=True):
                    if value is not None and card_like(str(value)):
                        found.append((table.name, column.name, card_like(str(value))))
    # filelock's debug lines name its lock objects by id(), a 15-digit number that may pass Luhn's check.
    found += [("log", record.name, card_like(record.getMessage())) for record in caplog.records
              if record.name != "filelock" and card_like(record.getMessage())]
    assert found == []
    assert db.session.scalar(text("SELECT count(*) FROM payment")) >= 4  # the flow really ran
    assert db.session.scalar(text("SELECT count(*) FROM outbox_message")) >= 1
