"""Translated names of the codes stored in the database (kinds, roles, statuses)."""

from flask_babel import lazy_gettext as _l

KIND_LABELS = {
    "vendor": _l("Vendor"),
    "customer": _l("Customer"),
    "reseller": _l("Reseller"),
    "partner": _l("License partner"),
}

ROLE_LABELS = {
    ("vendor", "admin"): _l("Administrator"),
    ("vendor", "billing"): _l("Billing"),
    ("vendor", "advisor"): _l("Commercial advisor"),
    ("customer", "admin"): _l("Administrator"),
    ("customer", "member"): _l("Member"),
    ("reseller", "manager"): _l("Manager"),
    ("reseller", "accountant"): _l("Accountant"),
    ("partner", "admin"): _l("Administrator"),
    ("partner", "seller"): _l("Seller"),
}

# The roles that may invite people into their own organisation.
TEAM_ADMIN_ROLES = {("vendor", "admin"), ("customer", "admin"), ("reseller", "manager"), ("partner", "admin")}


def role_label(kind: str, role: str) -> str:
    return str(ROLE_LABELS.get((kind, role), role))

SUBSCRIPTION_STATUS_LABELS = {
    "trial": _l("Free trial"),
    "active": _l("Active"),
    "past_due": _l("Payment overdue"),
    "suspended": _l("Suspended"),
    "cancelled": _l("Cancelled"),
}
