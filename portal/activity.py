"""Reading the audit log for the screens: recent activity of one organisation, in words."""

from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import AuditEvent

ACTION_LABELS = {
    "login": _l("Logged in"),
    "logout": _l("Logged out"),
    "login_failed": _l("Failed login"),
    "trusted_header_refused": _l("Sign-on header refused (not from a trusted proxy)"),
    "role_switch": _l("Switched organisation"),
    "invitation_sent": _l("Invited a person"),
    "invitation_accepted": _l("Accepted an invitation"),
    "password_changed": _l("Changed the password"),
    "password_reset": _l("Reset the password"),
    "password_reset_requested": _l("Asked for a password reset"),
    "integration_key_generated": _l("Generated the integration key"),
    "integration_key_revealed": _l("Looked at the integration key"),
    "certificate_uploaded": _l("Sent the digital certificate"),
    "client_software_accessed": _l("Opened the software of a client"),
    "client_contract_changed": _l("Changed the contract of a client"),
    "supplier_document_recognised": _l("Recognised a supplier XML"),
    "client_registered": _l("Registered a new client"),
    "hiring_link_issued": _l("Made a hiring link"),
    "hiring_link_sent": _l("E-mailed a hiring link"),
    "reseller_discount_changed": _l("Changed the reseller discount"),
    "invoice_drafted": _l("Drafted an invoice"),
    "invoice_issued": _l("Invoice issued"),
    "invoice_paid": _l("Invoice paid"),
    "invoice_voided": _l("Invoice voided"),
    "invoice_uncollectible": _l("Invoice marked as uncollectible"),
    "credit_note_issued": _l("Credit note issued"),
    "software_created": _l("Added a software"),
    "software_updated": _l("Edited a software"),
    "software_retired": _l("Retired a software"),
    "software_restored": _l("Restored a software"),
    "category_created": _l("Added a store category"),
    "category_updated": _l("Edited a store category"),
    "category_moved": _l("Moved a store category"),
    "category_retired": _l("Retired a store category"),
    "category_restored": _l("Restored a store category"),
    "product_created": _l("Added a product"),
    "product_updated": _l("Edited a product"),
    "product_retired": _l("Retired a product"),
    "product_restored": _l("Restored a product"),
    "price_set": _l("Set a price"),
    "price_removed": _l("Removed a price"),
    "quota_set": _l("Set an included quota"),
    "quota_removed": _l("Removed an included quota"),
    "store_activated": _l("Activated products from the store"),
    "sign_up_requested": _l("Asked for an account"),
    "sign_up_existing_email": _l("Tried to sign up again with their e-mail"),
    "signed_up": _l("Signed up"),
    "payment_started": _l("Started a payment"),
    "payment_succeeded": _l("Payment received"),
    "payment_failed": _l("A payment failed"),
    "payment_method_added": _l("Added a payment method"),
    "payment_method_removed": _l("Removed a payment method"),
    "payment_method_auto_pay": _l("Chose the payment method for automatic payment"),
    "payment_method_auto_pay_off": _l("Turned automatic payment off"),
    "wallet_adjusted": _l("Adjusted the wallet balance"),
    "wallet_settings_changed": _l("Changed how the wallet pays and tops up"),
    "payment_refunded": _l("Refunded a payment"),
    "refund_failed": _l("A refund was refused by the payment provider"),
    "credit_refunded_to_wallet": _l("Refunded a credit note to the wallet"),
    "credit_refunded_to_method": _l("Refunded a credit note to the card that paid it"),
    "statement_imported": _l("Imported a statement"),
    "statement_line_matched": _l("Matched a statement row to a payment"),
    "statement_line_dismissed": _l("Dismissed a statement row"),
    "reseller_email_linked": _l("Linked an e-mail to the reseller"),
    "reseller_email_unlinked": _l("Removed a linked e-mail"),
    "reseller_basics_updated": _l("Changed the reseller's basic data"),
    "accountant_email_set": _l("Changed the accountant's e-mail"),
    "customer_linked_to_reseller": _l("Linked a customer to its accountant's reseller"),
    "price_list_created": _l("Created a price list"),
    "advisor_request_sent": _l("Wrote to the commercial advisor"),
    "advisor_request_answered": _l("Answered a request to the commercial advisor"),
    "advisor_request_closed": _l("Closed a request to the commercial advisor"),
    "price_list_revised": _l("Made a new version of a price list"),
    "price_list_assigned": _l("Assigned a price list to a partner"),
    "partner_order_confirmed": _l("Confirmed a license order"),
    "partner_order_approved": _l("Approved a license order"),
    "partner_order_cancelled": _l("Cancelled a license order"),
    "license_activated": _l("Activated a license"),
    "license_cancelled": _l("Cancelled a license"),
    "partner_client_cancelled": _l("Cancelled a client and its licenses"),
    "organisation_blocked": _l("Account blocked"),
    "organisation_unblocked": _l("Account unblocked"),
    "member_role_changed": _l("Changed a person's role"),
    "member_removed": _l("Removed a person from the organisation"),
    "admin_handed_over": _l("Handed the admin role to another person"),
    "billing_data_updated": _l("Changed the billing data"),
    "billing_preferences_changed": _l("Changed the billing preferences"),
    "entry_link_issued": _l("The software asked for an entry link"),
    "entry_link_used": _l("Entered the portal from the software"),
}


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action.replace("_", " ")))


def recent_activity(organisation_id: int | None, limit: int = 8):
    """The latest audit events of one organisation (all organisations when None), actors loaded."""
    query = db.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    query = query.options(db.joinedload(AuditEvent.actor))
    if organisation_id is not None:
        query = query.where(AuditEvent.organisation_id == organisation_id)
    else:
        query = query.options(db.joinedload(AuditEvent.organisation))
    return db.session.scalars(query).all()
