"""The sandbox card gateway: a provider for demos and tests that behaves like a real one.

- Cards are entered on the provider's own page (`portal.sandbox`, under /sandbox-gateway/, a blueprint that
  stands in for the provider's site); the portal receives a signed result with a token, the brand, the last
  four digits and the expiry — never the number.
- Test cards (TEST_CARDS) succeed, are declined, have expired, fail on later charges, or are confirmed only
  later by webhook, as Stripe's test cards do.
- Every charge and refund is followed by a webhook, signed the way Stripe signs them: the header
  `Vitrine-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` with the endpoint's secret
  (several v1 may be given while a secret rotates); an event older or newer than TOLERANCE is refused, and
  signatures are compared in constant time. The webhook is handed to a job once the portal's transaction
  commits (`hooks.after_commit("deliver_webhook", ...)`) and retried until the portal accepts it.
- A refund is made once per reference (its idempotency key), as a provider does: asked again, the sandbox
  answers the refund it made and sends no second webhook; the same reference for another charge or amount is
  refused. Its refund id and its webhook's event id derive from the reference, so even a process that does
  not remember it (the sandbox keeps its refunds in memory) answers the same refund, and its webhook is a
  replay the portal ignores.

A token names its card's behaviour (`tok_sb_<behaviour>_<random>`); a real provider keeps that on its side.
"""

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

from portal.services import hooks
from portal.services.payments.gateway import (
    CapturedCard,
    CaptureStart,
    ChargeRequest,
    ChargeResult,
    Gateway,
    GatewayEvent,
    RefundRequest,
    RefundResult,
    WebhookRefused,
)

CODE = "sandbox"
SIGNATURE_HEADER = "Vitrine-Signature"
TOLERANCE_SECONDS = 300
CAPTURE_MAX_AGE = 3600
CONFIRMS_AFTER_SECONDS = 3  # how long a "confirms later" card keeps its charge processing
# number → (behaviour, brand): what the sandbox does with each test card.
TEST_CARDS = {
    "4242424242424242": ("succeeds", "visa"),
    "5555555555554444": ("succeeds", "mastercard"),
    "4000000000000002": ("declined", "visa"),
    "4000000000000069": ("expired", "visa"),
    "4000000000000341": ("fails_later", "visa"),
    "4000000000003220": ("confirms_later", "visa"),
}
BEHAVIOURS = ("succeeds", "declined", "expired", "fails_later", "confirms_later")
EVENT_KINDS = {"charge.succeeded": "succeeded", "charge.failed": "failed", "charge.refunded": "refunded"}
REMEMBERED_REFUNDS = 10_000  # the refunds the sandbox answers again from memory (the oldest forgotten first)
# reference -> (the request, the answer) of each refund made: the provider's side of the idempotency key.
_refunds_made: OrderedDict[str, tuple[RefundRequest, RefundResult]] = OrderedDict()
_refunds_lock = threading.Lock()


def luhn_valid(number: str) -> bool:
    if not number.isdigit():
        return False
    total = 0
    for position, digit in enumerate(reversed(number)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def webhook_secret() -> str:
    """The endpoint's signing secret, derived from the portal's secret key (the sandbox's "dashboard")."""
    key = current_app.config["SECRET_KEY"].encode()
    return "whsec_" + hmac.new(key, b"vitrine sandbox gateway webhooks", hashlib.sha256).hexdigest()


def sign(body: bytes, timestamp: int, secret: str | None = None) -> str:
    """The signature header's value for `body` sent at `timestamp`."""
    secret = secret or webhook_secret()
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"sandbox-gateway-{salt}")


def read_capture_session(session: str) -> dict | None:
    """The capture session a hosted page was opened with (organisation, where to return), if valid."""
    try:
        data = _serializer("capture").loads(session, max_age=CAPTURE_MAX_AGE)
    except BadSignature:
        return None
    return data if isinstance(data, dict) and str(data.get("return", "")).startswith("/") else None


def capture_result(session: dict, number: str, exp_month: int, exp_year: int) -> str:
    """What the hosted page hands back to the portal for a card it accepted: a signed token, no number."""
    behaviour, brand = TEST_CARDS[number]
    token = f"tok_sb_{behaviour}_{secrets.token_urlsafe(12)}"
    return _serializer("result").dumps({"org": session["org"], "token": token, "brand": brand,
                                        "last4": number[-4:], "exp_month": exp_month, "exp_year": exp_year})


def _behaviour(token: str | None) -> str:
    rest = (token or "").removeprefix("tok_sb_")
    return next((b for b in BEHAVIOURS if rest.startswith(b + "_")), "declined")


def _digest(reference: str) -> str:
    return hashlib.sha256(reference.encode()).hexdigest()[:24]


def _event_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(12)}"


class SandboxGateway(Gateway):
    code = CODE
    method_kinds = ("card",)
    captures_cards = True

    def start_capture(self, organisation_id: int, return_url: str, locale: str) -> CaptureStart:
        session = _serializer("capture").dumps({"org": organisation_id, "return": return_url, "locale": locale})
        return CaptureStart(url=url_for("sandbox.capture", session=session))

    def finish_capture(self, params: Mapping[str, str], organisation_id: int) -> CapturedCard:
        try:
            data = _serializer("result").loads(params.get("result", ""), max_age=CAPTURE_MAX_AGE)
        except BadSignature:
            raise WebhookRefused("bad_signature") from None
        return CapturedCard(token=data["token"], brand=data["brand"], last4=data["last4"],
                            exp_month=int(data["exp_month"]), exp_year=int(data["exp_year"]),
                            organisation_id=int(data["org"]))

    def charge(self, request: ChargeRequest) -> ChargeResult:
        behaviour = _behaviour(request.token)
        charge_id = "ch_sb_" + _digest(request.reference)
        if behaviour in ("succeeds", "confirms_later"):
            self._send("charge.succeeded", charge_id, request.reference, request.amount, request.currency,
                       delay=CONFIRMS_AFTER_SECONDS if behaviour == "confirms_later" else 0)
            return ChargeResult("succeeded" if behaviour == "succeeds" else "processing", charge_id)
        failure, state = {"declined": ("card_declined", None), "expired": ("expired_card", "expired"),
                          "fails_later": ("card_declined", "failing")}[behaviour]
        self._send("charge.failed", charge_id, request.reference, request.amount, request.currency, failure)
        return ChargeResult("failed", charge_id, failure_code=failure, method_state=state)

    def refund(self, request: RefundRequest) -> RefundResult:
        """Refund once per `request.reference` (see the module): asked again, the same answer and no webhook."""
        if not request.gateway_payment_id:  # as a provider answers a refund of a charge it does not know
            return RefundResult("failed", failure_code="charge_unknown")
        with _refunds_lock:
            made = _refunds_made.get(request.reference)
            if made is not None:
                kept, result = made
                return result if kept == request else RefundResult("failed", failure_code="idempotency_key_reused")
            result = RefundResult("succeeded", "re_sb_" + _digest(request.reference))
            _refunds_made[request.reference] = (request, result)
            while len(_refunds_made) > REMEMBERED_REFUNDS:
                _refunds_made.popitem(last=False)
        self._send("charge.refunded", request.gateway_payment_id, request.reference, request.amount,
                   request.currency, event_id="evt_sb_re_" + _digest(request.reference),
                   refund_id=result.gateway_refund_id)
        return result

    def _send(self, event_type: str, charge_id: str | None, reference: str, amount: int, currency: str,
              failure_code: str | None = None, delay: int = 0, event_id: str | None = None, **extra) -> None:
        """Queue the webhook of an event, to be delivered (`delay` seconds) after the portal's transaction
        commits."""
        body = {"id": event_id or _event_id("evt_sb"), "type": event_type, "created": int(time.time()),
                "data": {"charge": charge_id, "reference": reference, "amount": amount, "currency": currency,
                         "failure_code": failure_code, **extra}}
        hooks.after_commit("deliver_webhook", [(CODE, json.dumps(body, separators=(",", ":")), delay)])

    def parse_webhook(self, headers: Mapping[str, str], body: bytes, now: datetime) -> GatewayEvent:
        claimed = _claimed_id(body)
        timestamp, signatures = _parse_header(headers.get(SIGNATURE_HEADER, ""))
        if timestamp is None or not signatures:
            raise WebhookRefused("bad_signature", claimed)
        expected = sign(body, timestamp).split("v1=", 1)[1]
        # Every candidate is compared (no early exit), each in constant time.
        matches = [hmac.compare_digest(expected, candidate) for candidate in signatures]
        if not any(matches):
            raise WebhookRefused("bad_signature", claimed)
        if abs(now.timestamp() - timestamp) > TOLERANCE_SECONDS:
            raise WebhookRefused("stale", claimed)
        try:
            payload = json.loads(body)
            data = payload["data"]
            event = GatewayEvent(
                event_id=str(payload["id"]), event_type=str(payload["type"]),
                kind=EVENT_KINDS.get(payload["type"]), gateway_payment_id=data.get("charge"),
                reference=data.get("reference"), amount=data.get("amount"), currency=data.get("currency"),
                failure_code=data.get("failure_code"), data=data)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise WebhookRefused("malformed", claimed) from None
        if not event.event_id or (event.amount is not None and not isinstance(event.amount, int)):
            raise WebhookRefused("malformed", claimed)
        return event


def _claimed_id(body: bytes) -> str | None:
    try:
        value = json.loads(body).get("id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _parse_header(value: str) -> tuple[int | None, list[str]]:
    timestamp, signatures = None, []
    for part in value.split(","):
        name, _, item = part.strip().partition("=")
        if name == "t" and item.isdigit() and len(item) <= 12:
            timestamp = int(item)
        elif name == "v1" and item:
            signatures.append(item)
    return timestamp, signatures
