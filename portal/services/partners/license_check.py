"""The license check the client's software makes: an authorisation code and the client's tax id → valid,
cancelled or unknown, with the product and the users of the license.

The answer for a code nobody activated costs what the answer for a real one costs: the same single indexed
lookup by code runs either way, and the typed tax id is always compared in constant time (hmac.compare_digest,
padded to one length) with the activation's or, when there is none, with a value no tax id can equal. A real
code sent with another client's tax id is `unknown`, like a code that never existed: the answer never tells
whether a code exists to someone who does not also know the client's tax id.

A client cancelled altogether ("Clientes / ECFs") has its tax id removed from the portal (only a masked form
stays): its codes match no tax id any more and answer `unknown`. A license cancelled on its own keeps its
client, and answers `cancelled` to that client's tax id.
"""

import hmac
import re
from dataclasses import dataclass
from datetime import datetime

from portal.extensions import db
from portal.models import Product
from portal.models.partners import LicenseActivation, PartnerClient
from portal.services.partners import codes

STATUSES = ("valid", "cancelled", "unknown")
MAX_TAX_ID = 20  # the column's width; a CNPJ has 14 characters, a CPF 11, an RFC 13
MAX_TYPED = 64  # what a person may type around a code or a tax id (spaces, dashes, dots, slashes)
_NOT_TAX_ID = re.compile(r"[^0-9A-Z]+")
# Compared with the typed tax id when no activation has the code: a NUL never survives _compact_tax_id.
_NOBODY = b"\x00" * MAX_TAX_ID
# Looked up in place of a code that cannot be one: "0" is outside the codes' alphabet, so no activation has it.
_NO_CODE = "0" * (codes.RANDOM_LENGTH + 1)


@dataclass(frozen=True)
class LicenseCheck:
    status: str  # one of STATUSES
    product: Product | None = None
    users: int | None = None
    activated_at: datetime | None = None
    cancelled_at: datetime | None = None
    well_formed: bool = True  # False: the code cannot be one, whatever the tax id


def _compact_tax_id(typed: str) -> str:
    """The tax id as activations keep it (python-stdnum's compact form: digits, and upper-case letters where a
    country has them), whatever separators were typed: 11.222.333/0001-81 → 11222333000181."""
    return _NOT_TAX_ID.sub("", typed.upper())


def _padded(tax_id: str) -> bytes:
    return tax_id.encode().ljust(MAX_TAX_ID, b"\x00")


def check_license(code: str, tax_id: str) -> LicenseCheck:
    """What the license of `code` is for the client with `tax_id` (both as typed: any case, spaces, dashes, dots).
    A code that cannot be one (wrong length, a character outside the alphabet, a wrong check character) is
    `unknown` and not `well_formed`: a typing mistake. The same lookup runs for it, with a code no activation has."""
    compact = codes.normalise(code) if len(code) <= MAX_TYPED else None
    typed = _compact_tax_id(tax_id) if len(tax_id) <= MAX_TYPED else ""
    fits = 0 < len(typed) <= MAX_TAX_ID
    found = db.session.execute(
        db.select(LicenseActivation, PartnerClient.tax_id)
        .join(PartnerClient, PartnerClient.id == LicenseActivation.client_id)
        .where(LicenseActivation.code == (compact or _NO_CODE))
        .options(db.joinedload(LicenseActivation.product))
    ).first()
    stored = _padded(found.tax_id) if found is not None and found.tax_id else _NOBODY
    matched = hmac.compare_digest(stored, _padded(typed[:MAX_TAX_ID]))
    if not (matched and fits):
        return LicenseCheck("unknown", well_formed=compact is not None)
    activation = found.LicenseActivation
    status = "valid" if activation.status == "active" else "cancelled"
    return LicenseCheck(status, product=activation.product, users=activation.users,
                        activated_at=activation.activated_at, cancelled_at=activation.cancelled_at)
