"""OXXO: the processor issues an opaque reference with an expiry; the shop's cashier takes the cash.

There is no public check-digit scheme, so the portal treats a reference as opaque. The sandbox processor
issues its own (14 digits) on the terms of the big processors: MXN only, valid 1 to 7 days (5 by default).
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

CURRENCY = "MXN"
DEFAULT_DAYS = 5
MAX_DAYS = 7
MIN_AMOUNT = 10_00  # MXN 10.00
MAX_AMOUNT = 10_000_00  # MXN 10,000.00 per voucher
REFERENCE_DIGITS = 14


class OxxoError(ValueError):
    """A voucher the processor refuses to issue: `code` says why."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Voucher:
    number: str
    amount: int
    currency: str
    expires_at: datetime


def issue_sandbox_voucher(amount: int, currency: str, now: datetime, days: int = DEFAULT_DAYS) -> Voucher:
    """The sandbox processor's voucher: a fresh random reference, valid `days` days from `now`."""
    if currency != CURRENCY:
        raise OxxoError("currency")
    if not MIN_AMOUNT <= amount <= MAX_AMOUNT:
        raise OxxoError("amount")
    if not 1 <= days <= MAX_DAYS:
        raise OxxoError("days")
    number = str(secrets.randbelow(9 * 10 ** (REFERENCE_DIGITS - 1)) + 10 ** (REFERENCE_DIGITS - 1))
    return Voucher(number=number, amount=amount, currency=currency, expires_at=now + timedelta(days=days))


def normalise(reference: str) -> str:
    """A reference as typed or printed on a statement (spaces and dashes are presentation only)."""
    return "".join(char for char in reference if char.isalnum()).upper()


def format_number(number: str) -> str:
    """Grouped in fours as vouchers print it: "1234 5678 9012 34"."""
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))
