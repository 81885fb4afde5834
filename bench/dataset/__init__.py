"""The large data set of QUALITY.md, one generator per model group (see bench/generate.py).

Each group is a function `generate_<group>(ctx: Context) -> None` that writes its rows with
`ctx.insert(Model, rows)` — bulk, in chunks, through the portal's own tables — and leaves in `ctx.made`
what later groups need (ids, countries, …). Every group draws from its own random stream
(`ctx.rng("<group>")`), so adding a group never changes the rows of another one.
"""

import json
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice

from sqlalchemy import JSON, Boolean

from portal.extensions import db
from portal.orm import UTCDateTime

CHUNK = 5_000

# The large data set at scale 1 (QUALITY.md); `--scale` multiplies every count.
BASE_COUNTS = {
    "customers": 50_000,
    "resellers": 1_000,
    "partners": 500,
    "staff": 40,
    "audit_events": 500_000,
    "subscriptions": 200_000,
    "usage_events": 2_000_000,
    "invoices": 1_000_000,
    "licenses": 500_000,
    "bench_reseller_clients": 5_000,  # of the customers, the ones the bench reseller looks after
}

BENCH_PASSWORD = "vitrine-bench"
# One known user per role, each in the "bench" organisation of its kind (the first, and busiest, one).
BENCH_USERS: dict[tuple[str, str], str] = {
    ("customer", "admin"): "bench.customer.admin@vitrine.bench",
    ("customer", "member"): "bench.customer.member@vitrine.bench",
    ("reseller", "manager"): "bench.reseller.manager@vitrine.bench",
    ("reseller", "accountant"): "bench.reseller.accountant@vitrine.bench",
    ("partner", "admin"): "bench.partner.admin@vitrine.bench",
    ("partner", "seller"): "bench.partner.seller@vitrine.bench",
    ("vendor", "admin"): "bench.vendor.admin@vitrine.bench",
    ("vendor", "billing"): "bench.vendor.billing@vitrine.bench",
    ("vendor", "advisor"): "bench.vendor.advisor@vitrine.bench",
}


def chunks(rows: Iterable[dict], size: int = CHUNK) -> Iterator[list[dict]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


@dataclass
class Context:
    scale: float
    seed: int
    today: datetime  # midnight UTC: every date is relative to it, so one seed and day give the same rows
    made: dict = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)  # table → rows written
    seconds: dict[str, float] = field(default_factory=dict)  # group → seconds spent
    report: Callable[[str], None] = print

    def count(self, name: str) -> int:
        """How many of `name` at this scale (at least one)."""
        return max(1, round(BASE_COUNTS[name] * self.scale))

    def rng(self, stream: str) -> random.Random:
        return random.Random(f"{self.seed}:{stream}")

    def insert(self, model, rows: Iterable[dict]) -> int:
        """Bulk-insert `rows` (dicts with a value for every column) into `model`'s table, in chunks.

        The values are converted once here the way the portal's column types store them, then written
        with the driver's fastest bulk path inside the session's transaction: executemany on SQLite,
        COPY on PostgreSQL. Going through SQLAlchemy's per-value bind processing is ten times slower.
        """
        table = model.__table__
        connection = db.session.connection()
        dialect = connection.dialect.name
        names = [column.name for column in table.columns]
        converters = [_converter(column.type, dialect) for column in table.columns]
        raw = connection.connection.driver_connection
        quoted = ", ".join(f'"{name}"' for name in names)
        written = 0
        defaults: dict | None = None
        for chunk in chunks(rows):
            if defaults is None:  # columns a generator does not know yet (added to a model later)
                defaults = {column.name: _default(column) for column in table.columns if column.name not in chunk[0]}
            if defaults:
                chunk = [defaults | row for row in chunk]
            values = [tuple(convert(row[name]) if convert else row[name]
                            for name, convert in zip(names, converters, strict=True)) for row in chunk]
            if dialect == "postgresql":
                with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
                    for value in values:
                        copy.write_row(value)
            else:
                marks = ", ".join("?" * len(names))
                statement = f'INSERT INTO "{table.name}" ({quoted}) VALUES ({marks})'  # noqa: S608 — names from the models
                raw.executemany(statement, values)
            written += len(chunk)
        self.rows[table.name] = self.rows.get(table.name, 0) + written
        return written


def _default(column):
    """The value the portal would give a column left out: its Python default, else NULL if it may be."""
    default = column.default
    if default is not None and default.is_scalar:
        return default.arg
    if default is not None and default.is_callable:
        return default.arg(None)
    if column.nullable:
        return None
    raise ValueError(f"the generator of {column.table.name} must give {column.name} (no default, not nullable)")


def _sqlite_datetime(value: datetime | None) -> str | None:
    # SQLAlchemy's SQLite storage format, in UTC without offset (what portal.orm.UTCDateTime writes).
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _converter(column_type, dialect: str):
    """How one column's Python value is written by the bulk path (None: as it is)."""
    if isinstance(column_type, UTCDateTime):
        return _sqlite_datetime if dialect == "sqlite" else None
    if isinstance(column_type, JSON):
        return json.dumps
    if isinstance(column_type, Boolean) and dialect == "sqlite":
        return int
    return None


def skewed_weights(n: int, exponent: float = 0.5) -> list[float]:
    """Cumulative weights where rank 1 is busiest (1/rank^exponent): a few big tenants, a long tail."""
    total = 0.0
    cumulative = []
    for rank in range(1, n + 1):
        total += 1.0 / rank**exponent
        cumulative.append(total)
    return cumulative


def spread(rng: random.Random, total: int, n: int, minimum: int = 0, cum_weights: list[float] | None = None
           ) -> list[int]:
    """Split `total` items over `n` owners: `minimum` each (while it lasts), the rest drawn by weight."""
    counts = [0] * n
    base = min(minimum, total // n) if n else 0
    for i in range(n):
        counts[i] = base
    rest = total - base * n
    if rest > 0 and n:
        for index in rng.choices(range(n), cum_weights=cum_weights, k=rest):
            counts[index] += 1
    return counts


def timed(group: Callable[[Context], None], ctx: Context) -> None:
    """Run one group in its own transaction and report its rows per second."""
    before = dict(ctx.rows)
    started = time.perf_counter()
    group(ctx)
    db.session.commit()
    elapsed = time.perf_counter() - started
    name = group.__name__.removeprefix("generate_")
    ctx.seconds[name] = elapsed
    written = {table: n - before.get(table, 0) for table, n in ctx.rows.items() if n != before.get(table, 0)}
    total = sum(written.values())
    detail = ", ".join(f"{n:,} {table}" for table, n in written.items())
    ctx.report(f"  {name:<14} {total:>10,} rows in {elapsed:6.1f} s = {total / max(elapsed, 1e-9):>9,.0f} rows/s"
               f"  ({detail})")
