"""Software product lines (ERP, e-invoicing, ...) that customers open from the portal: created, changed, retired
and restored.
"""

from portal.extensions import db
from portal.models import Product, Software, Subscription, SubscriptionItem
from portal.orm import utcnow
from portal.services.billing.rules import LIVE_STATUSES
from portal.services.catalog.fields import (
    Author,
    add_unique,
    apply_changes,
    check_unique_code,
    clean_code,
    clean_description,
    clean_launch_url,
    clean_name,
    clean_names,
    record,
)


def create_software(code: str, name: str, launch_url: str, description: str = "", names: dict | None = None,
                    by: Author | None = None) -> Software:
    """Add a software product line (ERP, e-invoicing, …) that customers open from the portal."""
    code = clean_code(code)
    software = Software(code=code, name=clean_name(name), launch_url=clean_launch_url(launch_url),
                        description=clean_description(description), names=clean_names(names))
    check_unique_code(Software, code)
    add_unique(software)
    record("software_created", software, by, code=code, name=software.name)
    return software


def update_software(software: Software, name: str, launch_url: str, description: str = "",
                    names: dict | None = None, by: Author | None = None) -> Software:
    changed = apply_changes(software, name=clean_name(name), launch_url=clean_launch_url(launch_url),
                            description=clean_description(description), names=clean_names(names))
    if changed:
        db.session.flush()
        record("software_updated", software, by, code=software.code, changed=changed)
    return software


def retire_software(software: Software, by: Author | None = None) -> Software:
    """Stop selling everything of this software; what customers already have stays theirs."""
    if software.retired_at is None:
        software.retired_at = utcnow()
        db.session.flush()
        record("software_retired", software, by, code=software.code)
    return software


def restore_software(software: Software, by: Author | None = None) -> Software:
    if software.retired_at is not None:
        software.retired_at = None
        db.session.flush()
        record("software_restored", software, by, code=software.code)
    return software


def subscribed_software(organisation_id: int) -> list[Software]:
    """The software the organisation subscribes to (a plan or add-on of it in a trial, active or past-due
    subscription), not retired, by name: what its people open from the portal."""
    live = db.select(Subscription.id).where(Subscription.organisation_id == organisation_id,
                                            Subscription.status.in_(LIVE_STATUSES))
    plans = db.select(Subscription.plan_id).where(Subscription.id.in_(live))
    items = db.select(SubscriptionItem.product_id).where(SubscriptionItem.subscription_id.in_(live))
    software_ids = db.select(Product.software_id).where(Product.id.in_(plans.union(items)))
    return list(db.session.scalars(
        db.select(Software).where(Software.id.in_(software_ids), Software.retired_at.is_(None))
        .order_by(Software.name)
    ))
