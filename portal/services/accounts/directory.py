"""The back office's directory of organisations: every customer, reseller and partner, found by name or tax id
and by kind and status; and the block staff set or lift by hand (services/accounts/blocking.py does the
blocking itself)."""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.models import ORG_KINDS, Organisation, User
from portal.models.accounts import ORG_STATUSES
from portal.services.accounts import blocking
from portal.services.errors import DomainError
from portal.text import folded

MAX_NOTE = 500
LISTED_KINDS = tuple(kind for kind in ORG_KINDS if kind != "vendor")


def name_or_tax_id(needle: str):
    """The SQL condition an organisation meets when `needle` is part of its legal or trade name (accents and
    case aside) or of its tax id (punctuation aside: "45398765000160" finds "45.398.765/0001-60")."""
    needle = needle.strip()
    compact = "".join(character for character in needle if character.isalnum())
    return db.or_(Organisation.search_name.contains(folded(needle), autoescape=True),
                  *([Organisation.tax_id.icontains(compact, autoescape=True)] if compact else []))


def organisations(text: str = "", kind: str = "", status: str = ""):
    """Every organisation but the vendor, by name, matching the search and the kind and status chosen (an
    unknown kind or status is no filter)."""
    query = (db.select(Organisation).where(Organisation.kind.in_(LISTED_KINDS))
             .options(joinedload(Organisation.advisor)).order_by(Organisation.name, Organisation.id))
    if text.strip():
        query = query.where(name_or_tax_id(text))
    if kind in LISTED_KINDS:
        query = query.where(Organisation.kind == kind)
    if status in ORG_STATUSES:
        query = query.where(Organisation.status == status)
    return query


def listed_organisation(organisation_id: int) -> Organisation | None:
    org = db.session.get(Organisation, organisation_id)
    return org if org is not None and org.kind in LISTED_KINDS else None


def block_by_staff(org: Organisation, note: str | None, now: datetime, actor: User) -> None:
    """Block `org` by staff decision, with a note saying why (kept in the audit trail). A block for an unpaid
    balance becomes a staff one: paying no longer lifts it."""
    note = " ".join((note or "").split())
    if not note:
        raise DomainError(_l("Say why the account is blocked: the note is kept in the activity log."),
                          code="invalid_note", field="note")
    if len(note) > MAX_NOTE:
        raise DomainError(_l("The note can have at most %(max)s characters.", max=MAX_NOTE), code="invalid_note",
                          field="note")
    if not blocking.block(org, "staff", now, actor=actor, note=note):
        raise DomainError(_l("This account is already blocked by our staff."), code="already_blocked", status=409)


def unblock_by_staff(org: Organisation, now: datetime, actor: User) -> None:
    """Lift a block set by staff or by the organisation's reseller. A block for an unpaid balance is lifted by
    paying it (or recording the payment received), never by hand."""
    if org.status != "blocked":
        raise DomainError(_l("This account is not blocked."), code="not_blocked", status=409)
    if org.blocked_reason == "unpaid":
        raise DomainError(_l("This block lifts itself as soon as the overdue balance is paid: record the payment "
                             "received on the account's payments."), code="unpaid_block", status=409)
    blocking.unblock(org, now, actor=actor)
