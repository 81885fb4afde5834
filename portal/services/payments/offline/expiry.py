"""References past their expiry (a boleto's due date, a Pix code's, an OXXO voucher's) are marked expired: the
payment pages no longer offer them as something to pay, and what they reserved of nothing is freed. Money that
still arrives for one (a statement row) is recorded all the same (settlement.succeed)."""

from datetime import datetime

from portal.extensions import db
from portal.models import Payment
from portal.services.payments import settlement

BATCH = 500


def expire_references(now: datetime, limit: int = BATCH) -> int:
    """Mark expired up to `limit` pending references whose expiry has passed; returns how many. Safe to run
    again or twice at once: a payment already ended is left as it is (settlement.end)."""
    ids = list(db.session.scalars(
        db.select(Payment.id).where(Payment.state == "pending", Payment.expires_at.is_not(None),
                                    Payment.expires_at <= now).order_by(Payment.id).limit(limit)))
    expired = 0
    for payment_id in ids:
        if settlement.end(db.session.get(Payment, payment_id), "expired", now, failure_code="reference_expired"):
            expired += 1
    return expired
