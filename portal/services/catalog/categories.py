"""Store categories: created, renamed, moved up or down among their siblings, retired and restored.
"""

from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import Category
from portal.orm import utcnow
from portal.services.catalog.fields import (
    Author,
    add_unique,
    apply_changes,
    check_unique_code,
    clean_code,
    clean_name,
    clean_names,
    record,
)
from portal.services.catalog.search import list_categories
from portal.services.errors import DomainError


def create_category(code: str, name: str, names: dict | None = None, by: Author | None = None) -> Category:
    """Add a row of the store, after the existing ones."""
    code = clean_code(code)
    last = db.session.scalar(db.select(db.func.max(Category.position)))
    category = Category(code=code, name=clean_name(name), names=clean_names(names), position=(last or 0) + 1)
    check_unique_code(Category, code)
    add_unique(category)
    record("category_created", category, by, code=code, name=category.name)
    return category


def update_category(category: Category, name: str, names: dict | None = None,
                    by: Author | None = None) -> Category:
    changed = apply_changes(category, name=clean_name(name), names=clean_names(names))
    if changed:
        db.session.flush()
        record("category_updated", category, by, code=category.code, changed=changed)
    return category


def move_category(category: Category, direction: str, by: Author | None = None) -> Category:
    """Swap a category with its neighbour above or below; positions are renumbered 1…n as a side effect."""
    if direction not in ("up", "down"):
        raise DomainError(_l("Choose up or down."), code="invalid_direction", field="direction")
    ordered = list_categories()
    index = ordered.index(category)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(ordered):
        ordered[index], ordered[other] = ordered[other], ordered[index]
        for position, each in enumerate(ordered, start=1):
            each.position = position
        db.session.flush()
        record("category_moved", category, by, code=category.code, direction=direction,
               position=category.position)
    return category


def retire_category(category: Category, by: Author | None = None) -> Category:
    """Hide a row of the store; its products stay on the subscriptions that have them."""
    if category.retired_at is None:
        category.retired_at = utcnow()
        db.session.flush()
        record("category_retired", category, by, code=category.code)
    return category


def restore_category(category: Category, by: Author | None = None) -> Category:
    if category.retired_at is not None:
        category.retired_at = None
        db.session.flush()
        record("category_restored", category, by, code=category.code)
    return category
