"""The offline methods as gateways: each issues a reference with instructions ("pending"), paid when a
statement row names it (staff reconciliation) or, in the sandbox, when the sandbox bank's webhook arrives.

- bank transfer: the vendor's account for the payer's country and an ISO 11649 reference (RF…) built from
  the payment's id;
- boleto: a Banco do Brasil boleto of a 7-digit agreement (free field "000000" + agreement + the payment's
  id in 10 digits + wallet), its barcode and typeable line;
- Pix: a static BR Code for the vendor's key with the amount and the payment's reference as txid;
- OXXO: a voucher issued by the sandbox processor (14 digits, expiry of 1 to 7 days).

Their webhooks are the sandbox's (`portal.services.payments.sandbox`): the same signature, the same events.
A real provider for any of them is one more `Gateway` with the same `method_kinds`.
"""

import json
import secrets
import time
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import Payment
from portal.models.offline import OfflineMethod
from portal.orm import utcnow
from portal.services import hooks
from portal.services.payments import sandbox
from portal.services.payments.gateway import ChargeRequest, ChargeResult, Gateway
from portal.services.payments.offline import bank_transfer, boleto, documents, oxxo, pix

BOLETO_DAYS = 3  # a boleto for an invoice already due (or without a due date) falls due this many days on
BOLETO_GRACE_DAYS = 30  # accepted by the bank until this many days after its due date
PIX_DAYS = 7


def method_for(kind: str, country: str) -> OfflineMethod | None:
    """The offline method of `kind` the vendor offers in `country`, if it is enabled."""
    return db.session.scalar(db.select(OfflineMethod).where(OfflineMethod.kind == kind,
                                                            OfflineMethod.country == country,
                                                            OfflineMethod.enabled.is_(True)))


def offered_kinds(country: str, currency: str) -> list[str]:
    """The offline kinds a payer of `country` paying in `currency` may choose, in a stable order."""
    return offered_kinds_by_currency(country, [currency])[currency]


def offered_kinds_by_currency(country: str, currencies) -> dict[str, list[str]]:
    """offered_kinds for each of `currencies`, in one query whatever their number."""
    return offered_from_rows(db.session.execute(enabled_kinds_select(country)).all(), currencies)


def enabled_kinds_select(country: str):
    """What offered_kinds reads (to read it in the statement of other reads: portal.orm.read_together)."""
    return db.select(OfflineMethod.kind).where(OfflineMethod.country == country, OfflineMethod.enabled.is_(True))


def offered_from_rows(rows, currencies) -> dict[str, list[str]]:
    """offered_kinds for each of `currencies`, of the rows of enabled_kinds_select."""
    kinds = {row[0] for row in rows}
    allowed = [kind for kind in ("pix", "boleto", "oxxo", "bank_transfer") if kind in kinds]
    return {currency: [kind for kind in allowed if CURRENCIES.get(kind) in (None, currency)]
            for currency in currencies}


CURRENCIES = {"boleto": "BRL", "pix": "BRL", "oxxo": oxxo.CURRENCY}


def _settings_and_id(kind: str, request: ChargeRequest) -> tuple[dict | None, int | None]:
    """The method's settings for the payer's country and the payment's id, read in a session of their own:
    a gateway is asked with no transaction open and must leave none open (the answer is recorded by a
    writer that begins afterwards)."""
    with Session(db.engine) as session:
        details = session.scalar(db.select(OfflineMethod.details).where(
            OfflineMethod.kind == kind, OfflineMethod.country == request.payer.country,
            OfflineMethod.enabled.is_(True)))
        payment_id = session.scalar(db.select(Payment.id).where(Payment.reference == request.reference))
    return details, payment_id


def _txid(reference: str) -> str:
    return "".join(char for char in reference if char.isalnum())


class OfflineGateway(Gateway):
    """What the built-in offline methods share: the method's settings for the payer's country, the
    sandbox's webhooks."""

    kind = ""

    def charge(self, request: ChargeRequest) -> ChargeResult:
        details, payment_id = _settings_and_id(self.kind, request)
        if details is None or payment_id is None or CURRENCIES.get(self.kind, request.currency) != request.currency:
            return ChargeResult("failed", failure_code="method_not_offered")
        try:
            return self.issue(request, details, payment_id, utcnow())
        except (ValueError, KeyError):  # a code the method cannot make (an amount beyond its range, …)
            return ChargeResult("failed", failure_code="not_issuable")

    def issue(self, request: ChargeRequest, details: dict, payment_id: int, now: datetime) -> ChargeResult:
        raise NotImplementedError

    def reference_recorded(self, payment) -> None:
        documents.reference_issued(payment)

    def parse_webhook(self, headers, body: bytes, now: datetime):
        return sandbox.SandboxGateway().parse_webhook(headers, body, now)

    def confirm_in_sandbox(self, payer_reference: str, reference: str, amount: int, currency: str) -> None:
        """The sandbox bank says the payer paid: queue its signed webhook, as the card sandbox does."""
        body = {"id": f"evt_sb_{secrets.token_urlsafe(12)}", "type": "charge.succeeded", "created": int(time.time()),
                "data": {"charge": None, "reference": reference, "payer_reference": payer_reference, "amount": amount,
                         "currency": currency, "failure_code": None, "method": self.kind}}
        hooks.after_commit("deliver_webhook", [(self.code, json.dumps(body, separators=(",", ":")), 0)])


class BankTransferGateway(OfflineGateway):
    code = "bank_transfer"
    kind = "bank_transfer"
    method_kinds = ("bank_transfer",)

    def issue(self, request, details, payment_id, now):
        reference = bank_transfer.creditor_reference(str(payment_id))
        account = {key: details[key] for key in ("bank", "holder", "tax_id", "account_type", "account", "clabe",
                                                 "swift") if details.get(key)}
        return ChargeResult("pending", payer_reference=reference, instructions={
            "kind": self.kind, "reference": reference, "reference_printed": bank_transfer.format_reference(reference),
            "amount": request.amount, "currency": request.currency, **account})


class BoletoGateway(OfflineGateway):
    code = "boleto"
    kind = "boleto"
    method_kinds = ("boleto",)

    def issue(self, request, details, payment_id, now):
        today = now.date()
        due = request.due_at.date() if request.due_at is not None else None
        if due is None or due < today + timedelta(days=1):
            due = today + timedelta(days=BOLETO_DAYS)
        agreement, wallet = f"{int(details['agreement']):07d}", f"{int(details['wallet']):02d}"
        our_number = f"{payment_id:010d}"
        free_field = "000000" + agreement + our_number + wallet
        code = boleto.barcode(details["bank"], request.amount, due, free_field)
        line = boleto.typeable_line(code)
        return ChargeResult("pending", payer_reference=code, expires_at=_end_of(due + timedelta(
            days=BOLETO_GRACE_DAYS)), instructions={
            "kind": self.kind, "barcode": code, "line": line, "line_printed": boleto.format_line(line),
            "due": due.isoformat(), "our_number": agreement + our_number, "amount": request.amount,
            "currency": request.currency, "bank": details["bank"], "beneficiary": details.get("beneficiary", ""),
            "tax_id": details.get("tax_id", ""), "agency_account": details.get("agency_account", "")})


class PixGateway(OfflineGateway):
    code = "pix"
    kind = "pix"
    method_kinds = ("pix",)

    def issue(self, request, details, payment_id, now):
        txid = _txid(request.reference)
        code = pix.brcode(details["key"], details["merchant_name"], details["city"], request.amount, txid=txid)
        return ChargeResult("pending", payer_reference=txid, expires_at=now + timedelta(days=PIX_DAYS),
                            instructions={"kind": self.kind, "code": code, "txid": txid, "key": details["key"],
                                          "merchant_name": details["merchant_name"], "amount": request.amount,
                                          "currency": request.currency})


class OxxoGateway(OfflineGateway):
    code = "oxxo"
    kind = "oxxo"
    method_kinds = ("oxxo",)

    def issue(self, request, details, payment_id, now):
        try:
            voucher = oxxo.issue_sandbox_voucher(request.amount, request.currency, now,
                                                 int(details.get("days", oxxo.DEFAULT_DAYS)))
        except oxxo.OxxoError as refused:
            return ChargeResult("failed", failure_code=f"oxxo_{refused.code}")
        return ChargeResult("pending", payer_reference=voucher.number, expires_at=voucher.expires_at,
                            instructions={"kind": self.kind, "number": voucher.number,
                                          "number_printed": oxxo.format_number(voucher.number),
                                          "expires_at": voucher.expires_at.isoformat(), "amount": request.amount,
                                          "currency": request.currency})


def _end_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC)


GATEWAY_PATHS = [f"portal.services.payments.offline.gateways:{name}" for name in
                 ("BankTransferGateway", "BoletoGateway", "PixGateway", "OxxoGateway")]
