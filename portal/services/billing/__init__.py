"""Billing: its rules, subscriptions, invoicing, the billing run (sweep), usage, entitlements and invoice PDFs."""
