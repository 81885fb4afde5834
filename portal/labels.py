"""Translated names of the codes stored in the database (kinds, roles, statuses, periods, metrics): the one home
of each, imported by the views, forms, templates and the services that write them into CSV files and invoices."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

ORGANISATION_KIND_LABELS = {
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

# An organisation's own status (an "organización"/"organização": feminine in es and pt_BR).
ORGANISATION_STATUS_LABELS = {
    "active": lazy_pgettext("organisation", "Active"),
    "blocked": lazy_pgettext("organisation", "Blocked"),
}

# Why an organisation is blocked (services/accounts/blocking.py).
BLOCK_REASON_LABELS = {
    "unpaid": _l("A balance overdue past the grace period"),
    "reseller": _l("Blocked by its reseller"),
    "staff": _l("Blocked by our staff"),
}

# A reseller's client as its manager reads it (seed 002's "Status do cliente": Efetivado, Teste, Bloqueado, Cancelado).
CONTRACT_STATUS_LABELS = {
    "active": lazy_pgettext("contract", "Active"),
    "trial": lazy_pgettext("contract", "Trial"),
    "blocked": lazy_pgettext("contract", "Blocked"),
    "cancelled": lazy_pgettext("contract", "Cancelled"),
}

# Who pays a reseller's client's monthly fee.
PAYER_LABELS = {
    "client": _l("The client"),
    "reseller": _l("The reseller"),
}

SUBSCRIPTION_STATUS_LABELS = {
    "trial": _l("Free trial"),
    "active": _l("Active"),
    "past_due": _l("Payment overdue"),
    "suspended": _l("Suspended"),
    "cancelled": _l("Cancelled"),
}

PRODUCT_KIND_LABELS = {
    "plan": _l("Plan"),
    "module": _l("Module"),
    "additional_user": _l("Additional user"),
    "additional_company": _l("Additional company"),
    "exporter": _l("Exporter"),
    "service": _l("Service"),
}
PERIOD_LABELS = {"monthly": _l("Monthly"), "annual": _l("Annual"), "one_time": _l("One-time")}
METRIC_LABELS = {
    "documents": _l("Electronic documents"),
    "users": _l("Users"),
    "companies": _l("Companies"),
    "api_calls": _l("API calls"),
}

INVOICE_KIND_LABELS = {"invoice": _l("Invoice"), "credit_note": _l("Credit note")}
# The statuses a person reads: the stored ones, and "overdue" for an open invoice past its due date.
INVOICE_STATUS_LABELS = {
    "draft": _l("Draft"),
    "open": _l("Pending"),
    "overdue": _l("Overdue"),
    "paid": _l("Paid"),
    "void": _l("Void"),
    "uncollectible": _l("Uncollectible"),
}

STATEMENT_KIND_LABELS = {
    "bank": _l("Bank account (transfers and Pix)"),
    "boleto": _l("Boleto collection"),
    "oxxo": _l("OXXO payments"),
}
STATEMENT_IMPORT_STATE_LABELS = {
    "processing": _l("Matching"),
    "done": _l("Done"),
    "refused": _l("Refused"),
}
STATEMENT_LINE_STATE_LABELS = {
    "matched": _l("Matched"),
    "unmatched": _l("To match"),
    "dismissed": _l("Dismissed"),
    "already_paid": _l("Already paid"),
}
# Why a statement file, or one of its rows, was refused (portal.services.payments.offline.statement).
STATEMENT_ERROR_LABELS = {
    "size": _l("The file is larger than 50 MB. Split it by date and import each part."),
    "encoding": _l("The file is neither UTF-8 nor Windows (cp1252) text. Save it again as CSV UTF-8."),
    "empty": _l("The file is empty."),
    "header": _l("The first row does not name these columns: %(detail)s."),
    "columns": _l("The row has fewer columns than the first row."),
    "date": _l("The date “%(detail)s” is not a date (write 2026-12-02 or 02/12/2026)."),
    "amount": _l("The amount “%(detail)s” is not an amount received in the statement's currency."),
    "currency": _l("The row is in %(detail)s, not in the statement's currency."),
    "reference": _l("The reference “%(detail)s” is missing or its check digits are wrong."),
}

PAYMENT_METHOD_LABELS = {
    "card": _l("Card"),
    "wallet": _l("Wallet balance"),
    "bank_transfer": _l("Bank transfer"),
    "boleto": _l("Boleto"),
    "pix": _l("Pix"),
    "oxxo": _l("OXXO"),
    "manual": _l("Recorded by staff"),
}
PAYMENT_STATE_LABELS = {
    "pending": lazy_pgettext("payment", "Awaiting payment"),
    "processing": lazy_pgettext("payment", "Processing"),
    "succeeded": lazy_pgettext("payment", "Paid"),
    "failed": lazy_pgettext("payment", "Failed"),
    "expired": lazy_pgettext("payment", "Expired"),
    "cancelled": lazy_pgettext("payment", "Cancelled"),
}
PAYMENT_METHOD_STATE_LABELS = {
    "active": lazy_pgettext("card", "Active"),
    "expired": lazy_pgettext("card", "Expired"),
    "failing": lazy_pgettext("card", "Failing"),
    "removed": lazy_pgettext("card", "Removed"),
}
REFUND_DESTINATION_LABELS = {
    "method": _l("The payment's method"),
    "wallet": _l("The wallet"),
}
# A refund as its payer reads it: where the money went.
REFUND_TO_LABELS = {
    "method": _l("Refund to the payment's method"),
    "wallet": _l("Refund to the wallet"),
}
REFUND_STATE_LABELS = {
    "processing": lazy_pgettext("refund", "Processing"),
    "succeeded": lazy_pgettext("refund", "Refunded"),
    "failed": lazy_pgettext("refund", "Refused"),
}
WALLET_ENTRY_LABELS = {
    "top_up": _l("Funds added"),
    "spend": _l("Paid an invoice"),
    "refund_in": _l("Refund to the wallet"),
    "adjustment": _l("Adjustment"),
}

# What happened to a subscription (SubscriptionEvent.action), as its history reads.
SUBSCRIPTION_EVENT_LABELS = {
    "started": _l("Started"),
    "trial_started": _l("Free trial started"),
    "activated": _l("Trial ended: plan active"),
    "renewed": _l("Renewed"),
    "quantity_changed": _l("Quantity changed"),
    "addon_added": _l("Add-on added"),
    "addon_removed": _l("Add-on removed"),
    "plan_changed": _l("Plan changed"),
    "plan_change_scheduled": _l("Plan change scheduled for the end of the period"),
    "plan_change_cancelled": _l("Scheduled plan change withdrawn"),
    "payer_changed": _l("Payer changed"),
    "suspension_scheduled": _l("Suspension scheduled for the end of the period"),
    "suspended": _l("Suspended"),
    "resumed": _l("Resumed"),
    "cancellation_scheduled": _l("Cancellation scheduled for the end of the period"),
    "cancelled": _l("Cancelled"),
    "purchased": _l("Bought once"),
    "trial_ending_notified": _l("Told that the free trial ends soon"),
}

# Why a payment was not made, as the payer reads it (the gateway's failure codes).
PAYMENT_FAILURE_LABELS = {
    "card_declined": _l("the card was declined. Try another card or another method."),
    "expired_card": _l("the card has expired. Add a new card or choose another method."),
    "gateway_error": _l("the payment provider could not be reached. Nothing was charged; try again in a moment."),
    "method_expired": _l("the automatic payment card has expired, so it was not charged. Add a new card or pay "
                         "another way."),
    # A reference (boleto, Pix, OXXO, transfer) no longer asked for: its invoice was paid by other means.
    "invoice_settled": _l("no longer needed: the invoice was paid another way."),
}


NOTICE_LABELS = {
    "renewal_upcoming": _l("Upcoming renewal"),
    "invoice_issued": _l("Invoice issued"),
    "due_soon": _l("Invoice due soon"),
    "overdue": _l("Invoice overdue, and the account blocked after the grace period"),
    "payment_failed": _l("Automatic payment failed, and when it is tried again"),
    "low_balance": _l("Low wallet balance"),
    "usage_quota": _l("Usage reaching %(first)d%% and %(second)d%% of a quota", first=80, second=100),
}

# A fiscal document's authorisation, from the protocol it carries (portal.models.fiscal).
FISCAL_DOCUMENT_STATUS_LABELS = {
    "authorised": _l("Authorised"),
    "denied": _l("Denied"),
    "rejected": _l("Rejected"),
    "not_authorised": _l("No authorisation"),
}
FISCAL_DOCUMENT_STATUS_TONES = {"authorised": "ok", "denied": "bad", "rejected": "bad", "not_authorised": "warn"}
# A supplier XML seen by the client's reseller (portal.services.fiscal.client_documents).
SUPPLIER_XML_STATE_LABELS = {"pending": lazy_pgettext("supplier XMLs", "Pending"),
                             "recognised": lazy_pgettext("supplier XMLs", "Recognised")}

ORDER_KIND_LABELS = {"purchase": _l("Purchase"), "additional": _l("Additional")}
ORDER_STATUS_LABELS = {
    "draft": _l("Being filled in"),
    "pending": _l("Pending confirmation"),
    "finalised": _l("Finalised"),
    "cancelled": _l("Cancelled"),
}
# The short mark under an order's number in the list of orders (the seed's "(PEND)").
ORDER_STATUS_MARKS = {"draft": "", "pending": _l("PEND"), "finalised": _l("FIN"), "cancelled": _l("CANC")}
ORDER_STATUS_TONES = {"draft": "", "pending": "warn", "finalised": "ok", "cancelled": ""}
STOCK_MOVEMENT_LABELS = {
    "order": _l("Order approved"),
    "activation": _l("Activation"),
    "cancellation": _l("License cancelled"),
    "client_cancellation": _l("Client cancelled"),
}
LICENSE_STATUS_LABELS = {"active": _l("Active"), "cancelled": _l("Cancelled")}

# A customer's request to its commercial advisor (portal/models/advisor_requests.py).
ADVISOR_REQUEST_STATUS_LABELS = {
    "open": lazy_pgettext("advisor request", "Open"),
    "answered": lazy_pgettext("advisor request", "Answered"),
    "closed": lazy_pgettext("advisor request", "Closed"),
}

CONTACT_LABELS = {
    "email": _l("By e-mail"),
    "phone": _l("By phone"),
    "video": _l("By video call"),
}
