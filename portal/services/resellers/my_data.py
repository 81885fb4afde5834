"""My data > Basics ("Básicos"): the reseller's own legal name, trade name, tax id, phone and address, which its
managers change (accountants read them). The tax id is checked for the reseller's country and is one
organisation's only; a refused change writes nothing."""

import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from portal.models import Organisation, User
from portal.services.accounts import taxid
from portal.services.accounts.billing_data import keep_organisation_fields
from portal.services.errors import DomainError

MAX_NAME = 200
MAX_ADDRESS = 300
MAX_PHONE = 40
# What a phone number is written with: digits, a leading +, spaces, dots, dashes and parentheses.
_PHONE = re.compile(r"\+?[\d\s().-]+")
# E.164: at most 15 digits with the country code; fewer than 8 is no number of the region.
PHONE_DIGITS = (8, 15)


@dataclass(frozen=True)
class Basics:
    legal_name: str
    trade_name: str
    tax_id: str
    phone: str
    address: str


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def _phone(text: str | None) -> str | None:
    phone = _one_line(text)
    if not phone:
        return None
    digits = sum(ch.isdigit() for ch in phone)
    if len(phone) > MAX_PHONE or not _PHONE.fullmatch(phone) or not PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1]:
        raise DomainError(_l("Enter the phone number with its country and area code, in digits."),
                          code="invalid_phone", field="phone")
    return phone


def _values(reseller: Organisation, data: Basics) -> dict:
    legal_name = _one_line(data.legal_name)
    if not legal_name:
        raise DomainError(_l("Enter the legal name."), code="missing_name", field="legal_name")
    if len(legal_name) > MAX_NAME:
        raise DomainError(_l("Use at most %(num)d characters.", num=MAX_NAME), code="too_long", field="legal_name")
    trade_name = _one_line(data.trade_name)
    if len(trade_name) > MAX_NAME:
        raise DomainError(_l("Use at most %(num)d characters.", num=MAX_NAME), code="too_long", field="trade_name")
    address = (data.address or "").strip()
    if len(address) > MAX_ADDRESS:
        raise DomainError(_l("Use at most %(num)d characters.", num=MAX_ADDRESS), code="too_long", field="address")
    if "\x00" in address:
        raise DomainError(_l("The address holds a character that is not allowed."), code="invalid_address",
                          field="address")
    try:
        tax_id = taxid.normalise_tax_id(reseller.country, data.tax_id or "")
    except taxid.TaxIdError as error:
        raise DomainError(error.args[0], code="invalid_tax_id", field="tax_id") from error
    return {"name": legal_name, "trade_name": trade_name or None, "tax_id": tax_id, "phone": _phone(data.phone),
            "address": address or None}


def update_basics(reseller: Organisation, data: Basics, actor: User | None, address: str | None = None) -> dict:
    """Check and keep the reseller's basic data; returns what changed ({field: [before, after]}), audited.

    Refused whole (nothing written) for a missing legal name, a tax id not valid in the reseller's country or
    another organisation's (409, also when two requests take it at once), or a phone that is no number."""
    if reseller.kind != "reseller":
        raise DomainError(_l("Only a reseller has this data."), code="not_a_reseller", status=403)
    return keep_organisation_fields(reseller, _values(reseller, data), "reseller_basics_updated", actor, address)
