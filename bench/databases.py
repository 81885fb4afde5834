"""Databases for a benchmark run: scratch ones, and the generated data set at a scale.

On SQLite (no --database-url) the generated data set is kept in results/data/, keyed by scale, seed, day and
a fingerprint of the schema and the generator, and each run works on a copy of it. With a PostgreSQL
--database-url, that server gets a fresh database per need, dropped at the end (as the tests do).
"""

import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.generate import GenerateError, check_database, generate_into

DATASET_DIR = Path(__file__).resolve().parent / "dataset"


def fingerprint() -> str:
    """Changes when the models' schema or the generator's code changes: a cached data set is then stale."""
    from sqlalchemy.schema import CreateTable

    from portal.extensions import db

    digest = hashlib.sha256()
    for table in db.metadata.sorted_tables:
        digest.update(str(CreateTable(table).compile(compile_kwargs={"literal_binds": True})).encode())
    for source in sorted(DATASET_DIR.glob("*.py")) + [Path(__file__).with_name("generate.py")]:
        digest.update(source.read_bytes())
    return digest.hexdigest()[:12]


@contextmanager
def scratch_database(options, label: str) -> Iterator[str]:
    """A new, empty database for one suite, removed afterwards: a SQLite file under results/, or a database
    on the PostgreSQL server of --database-url."""
    if not options.database_url:
        folder = Path(options.results_dir) / "data"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"scratch-{label}-{os.getpid()}-{secrets.token_hex(3)}.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    server = make_url(options.database_url)
    if server.get_backend_name() != "postgresql":
        raise GenerateError("--database-url must be a PostgreSQL server URL (leave it out for SQLite)")
    check_database(options.database_url)
    name = f"vitrine_bench_{label}_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def generated_database(options, scale: float, report=print) -> Iterator[tuple[str, dict]]:
    """The large data set at `scale`, ready for a run: (URL, the generator's figures)."""
    day = datetime.now(UTC).date()
    if options.database_url:
        with scratch_database(options, f"s{str(scale).replace('.', '_')}") as url:
            yield url, generate_into(url, scale, options.seed, day, report=report)
        return
    folder = Path(options.results_dir) / "data"
    folder.mkdir(parents=True, exist_ok=True)
    key = f"vitrine-s{scale:g}-seed{options.seed}-{day}-{fingerprint()}"
    pristine = folder / f"{key}.db"
    figures_file = folder / f"{key}.json"
    if pristine.exists() and figures_file.exists():
        report(f"using the data set at scale {scale:g} generated earlier ({pristine.name})")
        figures = json.loads(figures_file.read_text()) | {"cached": True}
    else:
        for stale in folder.glob(f"vitrine-s{scale:g}-seed{options.seed}-*"):
            stale.unlink()
        partial = folder / f"{key}.partial.db"
        partial.unlink(missing_ok=True)
        figures = generate_into(f"sqlite:///{partial}", scale, options.seed, day, report=report)
        partial.rename(pristine)
        figures_file.write_text(json.dumps(figures))
    # The run logs in and writes audit events: it works on a copy, so the kept data set stays as generated.
    working = folder / f"run-{os.getpid()}-s{scale:g}.db"
    shutil.copyfile(pristine, working)
    try:
        yield f"sqlite:///{working}", figures
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{working}{suffix}").unlink(missing_ok=True)


LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def postgres_server(database_url: str | None) -> str | None:
    """The PostgreSQL server a suite measures on: the one given, else the local one when it answers, else none
    (the suite then runs on SQLite only, and its figures say so)."""
    if database_url:
        return database_url
    try:
        engine = create_engine(LOCAL_POSTGRES, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return LOCAL_POSTGRES
    except Exception:  # noqa: BLE001 — no local server
        return None


@contextmanager
def scratch_job_queue(folder: Path, name: str):
    """Queue the jobs the measured code hands over (PDFs at issue) in a throwaway queue: nothing consumes them
    here, and the benchmarks' own instance folder must not keep jobs for a dropped database."""
    from portal.extensions import huey, make_huey

    kept = huey.storage
    huey.storage = make_huey("", str(folder), name=name).storage
    try:
        yield
    finally:
        huey.storage = kept
        shutil.rmtree(folder, ignore_errors=True)
