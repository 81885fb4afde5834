"""The payment gateway interface: what the portal asks of a provider, and what it gets back.

A gateway is one class. It says which method kinds it takes (`method_kinds`) and implements what applies to
them: a hosted card capture (`start_capture`, `finish_capture`), a charge of a stored method or the issue of
a reference to pay elsewhere (`charge`), a refund (`refund`), and the verification and reading of the
webhooks it sends (`parse_webhook`). The portal never sees a card number: the provider's own page collects
it and hands back a token. Gateways are registered once (`register`) and found by code (`get`) or by method
kind (`for_kind`). The sandbox card gateway (`portal.services.payments.sandbox`) is the worked example.

Outcomes a gateway reports:
- a charge: "succeeded" (the money is taken), "processing" (the provider answers later, by webhook),
  "pending" (a reference is issued and the payer pays it elsewhere: instructions and an expiry), or
  "failed" (with a failure code; `method_state` says whether the stored method is now "expired" or
  "failing");
- a refund: "succeeded" (the money went back, with the provider's refund id) or "failed" (with a failure
  code). A refund is idempotent by its `reference`, as a charge is: the provider is asked with it as the
  Idempotency-Key, so asking twice for the same refund (its answer lost, or the safety net asking again a
  refund left "processing") gives the money back once and answers the same refund id;
- a webhook: its event id, a normalised kind ("succeeded", "failed", "expired", "refunded", or None for a
  type the portal does not handle) and the payment it is about (the provider's id and our reference).
"""

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

CHARGE_STATUSES = ("succeeded", "processing", "pending", "failed")
EVENT_KINDS = ("succeeded", "failed", "expired", "refunded")
# Why a webhook is refused before it is read (a gateway raises WebhookRefused with one of these).
REFUSALS = ("bad_signature", "stale", "malformed")


class GatewayError(Exception):
    """The provider could not be reached or answered nonsense: nothing is known to have happened."""


class NotSupported(GatewayError):
    """This gateway does not offer that operation (an offline method has no hosted card page)."""


class WebhookRefused(Exception):
    """A webhook that must not be trusted or cannot be read: `reason` is one of REFUSALS."""

    def __init__(self, reason: str, event_id: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.event_id = event_id


@dataclass(frozen=True)
class CaptureStart:
    """Where to send the payer to enter a card on the provider's own page."""

    url: str


@dataclass(frozen=True)
class CapturedCard:
    """What the provider tells the portal about a card it stored: a token, never the number."""

    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    organisation_id: int


@dataclass(frozen=True)
class Payer:
    organisation_id: int
    name: str
    tax_id: str | None
    country: str
    email: str | None
    locale: str


@dataclass(frozen=True)
class ChargeRequest:
    """One charge: `reference` is unique per payment and doubles as the provider's idempotency key, so asking
    twice takes the money once."""

    reference: str
    amount: int  # minor units
    currency: str
    method_kind: str
    payer: Payer
    description: str
    token: str | None = None  # a stored method's token (cards)
    invoice_number: str | None = None
    due_at: datetime | None = None


@dataclass(frozen=True)
class ChargeResult:
    status: str  # one of CHARGE_STATUSES
    gateway_payment_id: str | None = None
    failure_code: str | None = None
    method_state: str | None = None  # "expired" or "failing" when the stored method can no longer be charged
    instructions: dict = field(default_factory=dict)  # what an offline method shows the payer
    expires_at: datetime | None = None
    # The reference an offline method issued for the payer to quote (kept unique per gateway, matched by
    # statements and webhooks); None when the payment's own reference is the one to quote.
    payer_reference: str | None = None


@dataclass(frozen=True)
class RefundRequest:
    """One refund of a charge: `reference` is unique per refund and is the provider's idempotency key, so asking
    twice for it gives the money back once and answers the same refund."""

    reference: str
    gateway_payment_id: str | None
    amount: int
    currency: str


@dataclass(frozen=True)
class RefundResult:
    status: str  # "succeeded" or "failed"
    gateway_refund_id: str | None = None
    failure_code: str | None = None


@dataclass(frozen=True)
class GatewayEvent:
    """A verified webhook, read into the portal's terms."""

    event_id: str
    event_type: str  # the provider's own name for it
    kind: str | None  # one of EVENT_KINDS, None when the portal does not handle this type
    gateway_payment_id: str | None = None
    reference: str | None = None  # our payment's reference, or the payer reference an offline method issued
    amount: int | None = None
    currency: str | None = None
    failure_code: str | None = None
    data: dict = field(default_factory=dict)


class Gateway(ABC):
    """A payment provider. Subclasses set `code` (stored on payments and methods) and `method_kinds`."""

    code: str = ""
    method_kinds: tuple[str, ...] = ()
    # Whether the payer is sent to the provider's page to store a card (start_capture / finish_capture).
    captures_cards: bool = False

    def start_capture(self, organisation_id: int, return_url: str, locale: str) -> CaptureStart:
        raise NotSupported(self.code)

    def finish_capture(self, params: Mapping[str, str], organisation_id: int) -> CapturedCard:
        raise NotSupported(self.code)

    @abstractmethod
    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Take the money from a stored method, or issue a reference for the payer to pay elsewhere."""

    def refund(self, request: RefundRequest) -> RefundResult:
        """Give back `request.amount` of the charge `request.gateway_payment_id`, once per `request.reference`
        (sent as the provider's Idempotency-Key): asked again for the same reference, the provider refunds
        nothing more and the answer is the same refund. A gateway that cannot give money back leaves this
        out (its payments are refunded to the wallet)."""
        raise NotSupported(self.code)

    def reference_recorded(self, payment) -> None:
        """Called in the transaction that records a reference this gateway issued ("pending"): an offline
        method e-mails its instructions and has the invoice's PDF redrawn with them."""
        return None

    def parse_webhook(self, headers: Mapping[str, str], body: bytes, now: datetime) -> GatewayEvent:
        """Verify a webhook's signature and read it; raise WebhookRefused when it cannot be trusted."""
        raise NotSupported(self.code)


_gateways: dict[str, Gateway] = {}


def register(gateway: Gateway) -> Gateway:
    """Make a gateway available by its code and for its method kinds (a later one for a kind replaces it)."""
    _gateways[gateway.code] = gateway
    return gateway


def get(code: str) -> Gateway | None:
    return _gateways.get(code)


def for_kind(method_kind: str) -> Gateway | None:
    """The gateway that takes payments of `method_kind` (the last registered for it)."""
    found = None
    for gateway in _gateways.values():
        if method_kind in gateway.method_kinds:
            found = gateway
    return found


def registered() -> list[Gateway]:
    return list(_gateways.values())
