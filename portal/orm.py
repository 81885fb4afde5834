"""The ORM base: a declarative base with a naming convention, and UTC timestamps."""

from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData
from sqlalchemy.orm import DeclarativeBase, registry
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given for a UTC column")
            value = value.astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Model(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


def read_together(session, *selects, params: dict | None = None, keep: bool = False) -> list[list[tuple]]:
    """Several small reads in one statement: the rows of each select, as tuples of its columns, in one list per
    select. The selects become the branches of one UNION ALL, each wrapped in a subquery (so that each keeps its
    own joins, ORDER BY and LIMIT) with a tag naming it; a column goes in a slot of its type, the slots of another
    branch filled with NULLs cast to that type (PostgreSQL takes an untyped NULL for text), so that both SQLite and
    PostgreSQL read each value as its column's type. The order of a branch's rows is not kept: sort them after.

    keep=True: the selects are the same objects on every call (module constants, their values given in `params`
    as bind parameters), and the union built of them is kept for the process: building it costs more than
    running it."""
    if keep:
        key = tuple(map(id, selects))
        kept = _KEPT_UNIONS.get(key)
        if kept is None:
            kept = _KEPT_UNIONS[key] = (*_union_of(selects), selects)  # held, so that no other object takes their ids
        union, layouts, _held = kept
    else:
        union, layouts = _union_of(selects)
    found: list[list[tuple]] = [[] for _ in selects]
    for row in session.execute(union, params or {}):
        tag = int(row[0])
        found[tag].append(tuple(row[1 + slot] for slot in layouts[tag]))
    return found


_KEPT_UNIONS: dict[tuple[int, ...], tuple] = {}


def _union_of(selects) -> tuple:
    from sqlalchemy import cast, literal_column, null, select, union_all

    slots: list = []  # the type of each slot
    layouts: list[list[int]] = []
    for statement in selects:
        taken: set[int] = set()
        layout = []
        for column in statement.selected_columns:
            kind = type(column.type)
            slot = next((n for n, type_ in enumerate(slots) if type(type_) is kind and n not in taken), None)
            if slot is None:
                slot = len(slots)
                slots.append(column.type)
            taken.add(slot)
            layout.append(slot)
        layouts.append(layout)
    branches = []
    for tag, (statement, layout) in enumerate(zip(selects, layouts, strict=True)):
        inner = list(statement.subquery().c)
        values = {slot: inner[position] for position, slot in enumerate(layout)}
        branches.append(select(literal_column(str(tag)).label("tag"), *[
            values[slot].label(f"v{slot}") if slot in values else cast(null(), type_).label(f"v{slot}")
            for slot, type_ in enumerate(slots)]))
    return union_all(*branches), layouts
