"""Which billing notices an organisation receives, and at which of its own e-mails: its users' (accepted
members) and its invoice e-mail (the accountant's). Any other address is refused."""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import NOTICE_KINDS, BillingPreferences, Membership, Organisation, User
from portal.services import audit
from portal.services.errors import DomainError

DEFAULT_RENEWAL_DAYS = 7
RENEWAL_DAYS_RANGE = (1, 60)


@dataclass(frozen=True)
class Preferences:
    renewal_days: int
    recipients: dict[str, tuple[str, ...]]  # notice → e-mails (lower case)
    stored: bool


def organisation_emails(org: Organisation) -> dict[str, str | None]:
    """The e-mails notices may go to, each with its reader's language (None: the organisation's): its accepted
    members' and its invoice e-mail, in that order."""
    found: dict[str, str | None] = {}
    for email, locale in db.session.execute(
            db.select(User.email, User.locale).join(Membership, Membership.user_id == User.id)
            .where(Membership.organisation_id == org.id, Membership.accepted_at.is_not(None), User.is_active)
            .order_by(Membership.role, User.email)):
        found.setdefault(email.lower(), locale)
    if org.accountant_email:
        found.setdefault(org.accountant_email.lower(), None)
    return found


def _admin_emails(org: Organisation) -> tuple[str, ...]:
    return tuple(email.lower() for email in db.session.scalars(
        db.select(User.email).join(Membership, Membership.user_id == User.id)
        .where(Membership.organisation_id == org.id, Membership.role == "admin",
               Membership.accepted_at.is_not(None), User.is_active).order_by(User.email)))


def preferences_for(org: Organisation) -> Preferences:
    """The organisation's choices; without any stored, every notice to its administrators, and so a notice
    offered after the organisation saved its choices."""
    row = db.session.get(BillingPreferences, org.id)
    if row is None:
        admins = _admin_emails(org)
        return Preferences(DEFAULT_RENEWAL_DAYS, {notice: admins for notice in NOTICE_KINDS}, False)
    missing = [notice for notice in NOTICE_KINDS if notice not in row.recipients]
    admins = _admin_emails(org) if missing else ()
    return Preferences(row.renewal_days, {notice: tuple(row.recipients[notice]) if notice in row.recipients
                                          else admins for notice in NOTICE_KINDS}, True)


def recipients_for(org: Organisation, notice: str) -> list[tuple[str, str]]:
    """(e-mail, language) of everyone who receives `notice` now: the chosen e-mails that are still the
    organisation's (someone who left no longer hears from it)."""
    emails = organisation_emails(org)
    chosen = preferences_for(org).recipients.get("overdue" if notice == "blocked" else notice, ())
    return [(email, emails[email] or org.locale) for email in chosen if email in emails]


def save_preferences(org: Organisation, renewal_days: int, recipients: dict[str, list[str]], now: datetime,
                     actor: User | None = None) -> BillingPreferences:
    """Store the organisation's choices. An e-mail that is not the organisation's, an unknown notice or a number
    of days out of range is refused and nothing is written."""
    low, high = RENEWAL_DAYS_RANGE
    if isinstance(renewal_days, bool) or not isinstance(renewal_days, int) or not low <= renewal_days <= high:
        raise DomainError(_l("Choose from %(low)d to %(high)d days.", low=low, high=high), code="invalid_days",
                          field="renewal_days")
    unknown = set(recipients) - set(NOTICE_KINDS)
    if unknown:
        raise DomainError(_l("Unknown notice."), code="invalid_notice", field="recipients")
    allowed = organisation_emails(org)
    cleaned: dict[str, list[str]] = {}
    for notice in NOTICE_KINDS:
        emails = []
        for email in recipients.get(notice, ()):
            email = (email or "").strip().lower()
            if email not in allowed:
                raise DomainError(_l("%(email)s is not an e-mail of your organisation. Choose among your users' "
                                     "e-mails and your invoice e-mail.", email=email[:254]),
                                  code="not_organisation_email", field="recipients")
            if email not in emails:
                emails.append(email)
        cleaned[notice] = emails
    row = db.session.get(BillingPreferences, org.id)
    if row is None:
        row = BillingPreferences(organisation_id=org.id)
        db.session.add(row)
    row.renewal_days, row.recipients = renewal_days, cleaned
    row.updated_by_id, row.updated_at = (actor.id if actor is not None else None), now
    db.session.flush()
    audit.record("billing_preferences_changed", actor=actor, organisation=org, obj=None,
                 details={"renewal_days": renewal_days, "recipients": cleaned})
    return row
