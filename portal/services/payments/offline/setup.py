"""Which offline methods the vendor offers in each country, and with what details (the demo's and tests')."""

from portal.extensions import db
from portal.models.offline import OFFLINE_KINDS, OfflineMethod

# What each kind needs to issue a reference.
REQUIRED = {
    "bank_transfer": ("bank", "holder", "account"),
    "boleto": ("bank", "agreement", "wallet", "beneficiary"),
    "pix": ("key", "merchant_name", "city"),
    "oxxo": (),
}

# The vendor's offline methods in the demo: Chilean and Mexican transfers, boleto and Pix in Brazil, OXXO.
DEMO_METHODS = [
    ("bank_transfer", "CL", {"bank": "Banco de Chile", "holder": "Vitrine Software SpA", "tax_id": "76.543.210-3",
                             "account_type": "Cuenta corriente", "account": "00-123-45678-09"}),
    ("bank_transfer", "MX", {"bank": "BBVA México", "holder": "Vitrine Software México SA de CV",
                             "account": "0123456789", "clabe": "012180001234567897"}),
    ("oxxo", "MX", {"days": 5}),
    ("boleto", "BR", {"bank": "001", "agreement": "1234567", "wallet": "17", "agency_account": "1234-5 / 12345-6",
                      "beneficiary": "Vitrine Software Brasil Ltda", "tax_id": "12.345.678/0001-95"}),
    ("pix", "BR", {"key": "pix@vitrine.com.br", "merchant_name": "Vitrine Software Brasil", "city": "Sao Paulo"}),
]


def configure(kind: str, country: str, details: dict, enabled: bool = True) -> OfflineMethod:
    """Offer (or change) the offline method `kind` in `country`."""
    if kind not in OFFLINE_KINDS:
        raise ValueError(kind)
    missing = [name for name in REQUIRED[kind] if not details.get(name)]
    if missing:
        raise ValueError(f"{kind} needs {', '.join(missing)}")
    method = db.session.scalar(db.select(OfflineMethod).where(OfflineMethod.kind == kind,
                                                              OfflineMethod.country == country))
    if method is None:
        method = OfflineMethod(kind=kind, country=country)
        db.session.add(method)
    method.details, method.enabled = dict(details), enabled
    db.session.flush()
    return method


def configure_demo() -> None:
    for kind, country, details in DEMO_METHODS:
        configure(kind, country, details)
