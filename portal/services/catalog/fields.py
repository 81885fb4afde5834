"""What every catalog change checks and records: codes, names, descriptions, translated names and launch
addresses, unique codes, the values that changed, and the `Author` of the change for the audit log.
"""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.i18n import LOCALES
from portal.models import Organisation, User
from portal.services import audit
from portal.services.errors import DomainError

CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
MAX_CODE = 40
MAX_NAME = 120
MAX_DESCRIPTION = 2000
MAX_URL = 300


@dataclass(frozen=True)
class Author:
    """Who makes a change, for the audit log: the staff member, their organisation and their address."""

    actor: User | None = None
    organisation: Organisation | None = None
    address: str | None = None


SYSTEM = Author()


def record(action: str, obj, by: Author | None, **details) -> None:
    by = by or SYSTEM
    audit.record(action, actor=by.actor, organisation=by.organisation, obj=obj, details=details,
                 address=by.address)


def clean_code(code: str | None) -> str:
    code = (code or "").strip().lower()
    if not code:
        raise DomainError(_l("Enter a code."), code="required", field="code")
    if len(code) > MAX_CODE or not CODE_RE.match(code):
        raise DomainError(
            _l("Use up to %(num)d lowercase letters, digits, hyphens or underscores, e.g. erp-pro.", num=MAX_CODE),
            code="invalid_code", field="code",
        )
    return code


def clean_name(name: str | None, field: str = "name") -> str:
    name = " ".join((name or "").split())
    if not name:
        raise DomainError(_l("Enter a name."), code="required", field=field)
    if len(name) > MAX_NAME:
        raise DomainError(_l("Use at most %(num)d characters.", num=MAX_NAME), code="too_long", field=field)
    return name


def clean_description(text: str | None, field: str = "description") -> str:
    text = (text or "").strip()
    if len(text) > MAX_DESCRIPTION:
        raise DomainError(_l("Use at most %(num)d characters.", num=MAX_DESCRIPTION), code="too_long", field=field)
    return text


def clean_names(names: dict | None) -> dict:
    """Keep the translations of the offered languages that say something: {"es": {"name": …}, …}."""
    cleaned = {}
    for locale in LOCALES:
        entry = (names or {}).get(locale) or {}
        name = " ".join((entry.get("name") or "").split())
        if len(name) > MAX_NAME:
            raise DomainError(_l("Use at most %(num)d characters.", num=MAX_NAME), code="too_long",
                              field=f"name_{locale}")
        description = clean_description(entry.get("description"), field=f"description_{locale}")
        kept = {key: value for key, value in (("name", name), ("description", description)) if value}
        if kept:
            cleaned[locale] = kept
    return cleaned


def clean_launch_url(url: str | None) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > MAX_URL or " " in url:
        raise DomainError(_l("Enter the full address, starting with https:// (or http://)."),
                          code="invalid_url", field="launch_url")
    return url


def check_unique_code(model, code: str) -> None:
    if db.session.scalar(db.select(model.id).where(model.code == code)) is not None:
        raise DomainError(_l("The code %(code)s is already used. Choose another one.", code=code),
                          code="duplicate_code", field="code")


def add_unique(obj) -> None:
    """Add a new row whose code was checked; a concurrent twin still ends as a clear error, not a 500."""
    try:
        with db.session.begin_nested():
            db.session.add(obj)
    except IntegrityError as error:
        raise DomainError(_l("The code %(code)s is already used. Choose another one.", code=obj.code),
                          code="duplicate_code", field="code") from error


def apply_changes(obj, **values) -> dict:
    """Set the values that differ and return them as {field: [before, after]} for the audit log."""
    changed = {}
    for field, value in values.items():
        before = getattr(obj, field)
        if before != value:
            changed[field] = [before, value]
            setattr(obj, field, value)
    return changed
