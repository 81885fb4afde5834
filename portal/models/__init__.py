"""SQLAlchemy models, one module per aggregate. Importing this package registers every table."""

from portal.models.accounts import (
    BLOCK_REASONS,
    LEAST_PRIVILEGED_ROLE,
    ORG_KINDS,
    ROLES,
    AuthToken,
    EntryLinkUse,
    Membership,
    Organisation,
    User,
)
from portal.models.advisor_requests import ADVISOR_REQUEST_STATUSES, CONTACT_CHOICES, AdvisorRequest
from portal.models.audit import AuditEvent
from portal.models.catalog import METRICS, PERIODS, PRODUCT_KINDS, Category, Price, Product, Quota, Software
from portal.models.certificates import ClientCertificate
from portal.models.fiscal import FISCAL_DIRECTIONS, FISCAL_DOCUMENT_STATUSES, FISCAL_MODELS, FiscalDocument
from portal.models.integration import IntegrationKey
from portal.models.invoices import (
    BillingSettings,
    Installment,
    Invoice,
    InvoiceLine,
    InvoicePdf,
    InvoiceSeries,
    TaxRate,
)
from portal.models.mail import OutboxMessage
from portal.models.notices import LOGGED_NOTICES, NOTICE_KINDS, BillingPreferences, NoticeLog
from portal.models.offline import OfflineMethod, StatementImport, StatementLine
from portal.models.partners import (
    LicenseActivation,
    PartnerClient,
    PartnerOrder,
    PartnerOrderLine,
    PartnerStock,
    PriceList,
    PriceListItem,
    StockMovement,
)
from portal.models.payments import Payment, PaymentMethod, Refund, WalletEntry, WalletSettings, WebhookEvent
from portal.models.resellers import HiringLinkUse, ResellerEmail
from portal.models.sessions import LoginSession
from portal.models.signups import SignUp
from portal.models.software_access import SoftwareAccessToken
from portal.models.store import Activation, ActivationLine, CartLine
from portal.models.subscriptions import Subscription, SubscriptionCharge, SubscriptionEvent, SubscriptionItem
from portal.models.usage import UsageEvent, UsageHour

__all__ = [
    "ADVISOR_REQUEST_STATUSES",
    "CONTACT_CHOICES",
    "AdvisorRequest",
    "LOGGED_NOTICES",
    "NOTICE_KINDS",
    "BillingPreferences",
    "NoticeLog",
    "BLOCK_REASONS",
    "ClientCertificate",
    "LEAST_PRIVILEGED_ROLE",
    "METRICS",
    "ORG_KINDS",
    "PERIODS",
    "PRODUCT_KINDS",
    "ROLES",
    "Activation",
    "ActivationLine",
    "AuditEvent",
    "AuthToken",
    "EntryLinkUse",
    "BillingSettings",
    "CartLine",
    "FISCAL_DIRECTIONS",
    "FISCAL_DOCUMENT_STATUSES",
    "FISCAL_MODELS",
    "FiscalDocument",
    "Category",
    "Installment",
    "IntegrationKey",
    "Invoice",
    "InvoiceLine",
    "InvoicePdf",
    "InvoiceSeries",
    "LoginSession",
    "Membership",
    "Organisation",
    "OfflineMethod",
    "OutboxMessage",
    "StockMovement",
    "PriceListItem",
    "PriceList",
    "PartnerStock",
    "PartnerOrderLine",
    "PartnerOrder",
    "PartnerClient",
    "LicenseActivation",
    "Payment",
    "PaymentMethod",
    "Price",
    "SignUp",
    "Product",
    "Quota",
    "Refund",
    "HiringLinkUse",
    "ResellerEmail",
    "Software",
    "SoftwareAccessToken",
    "StatementImport",
    "StatementLine",
    "Subscription",
    "SubscriptionCharge",
    "SubscriptionEvent",
    "SubscriptionItem",
    "TaxRate",
    "UsageEvent",
    "UsageHour",
    "User",
    "WalletEntry",
    "WalletSettings",
    "WebhookEvent",
]
