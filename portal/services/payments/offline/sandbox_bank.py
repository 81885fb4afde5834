"""The sandbox bank: stands in for the payer's bank app, the bank's cashier and the OXXO till.

Given a Pix code, a boleto's typeable line or barcode, an OXXO reference or a transfer's RF reference that
the sandbox issued and that still waits, it "pays" it: the method's gateway sends its signed webhook to
the portal, as a provider would once the money arrives. It exists only while the sandbox card gateway is
registered (demos and tests).
"""

from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import Payment
from portal.services.errors import DomainError
from portal.services.payments import gateway as gateways
from portal.services.payments.offline import bank_transfer, boleto, oxxo, pix


def enabled() -> bool:
    return gateways.get("sandbox") is not None


def _issued(code: str) -> tuple[str, str] | None:
    """(gateway, the provider's id) that a code names, if it reads as one of the offline methods' codes."""
    text = (code or "").strip()
    if text.startswith("000201"):
        try:
            return "pix", pix.txid(text)
        except pix.PixError:
            return None
    compact = "".join(char for char in text if char.isalnum()).upper()
    if compact.startswith("RF"):
        return ("bank_transfer", compact) if bank_transfer.is_valid(compact) else None
    if compact.isdigit() and len(compact) in (44, 47):
        try:
            code = boleto.barcode_from_line(compact) if len(compact) == 47 else boleto.validate_barcode(compact)
        except boleto.BoletoError:
            return None
        return "boleto", code
    if compact.isdigit() and len(compact) == oxxo.REFERENCE_DIGITS:
        return "oxxo", compact
    return None


def find_pending(code: str) -> Payment:
    """The payment still waiting that `code` names; DomainError when there is none."""
    issued = _issued(code)
    payment = None
    if issued is not None:
        payment = db.session.scalar(db.select(Payment).where(Payment.gateway == issued[0],
                                                             Payment.payer_reference == issued[1]))
    if payment is None:
        raise DomainError(_l("The test bank does not know this code. Paste it exactly as the portal shows it."),
                          code="unknown_code", field="code", status=404)
    if payment.state != "pending":
        raise DomainError(_l("This code was already paid or can no longer be paid."), code="not_payable",
                          field="code", status=409)
    return payment


def pay(code: str) -> Payment:
    """Pay what `code` names: its webhook is sent once the caller commits."""
    if not enabled():
        raise DomainError(_l("The test bank is closed."), code="sandbox_closed", status=404)
    payment = find_pending(code)
    gateways.get(payment.gateway).confirm_in_sandbox(payment.payer_reference, payment.reference, payment.amount,
                                                     payment.currency)
    return payment
