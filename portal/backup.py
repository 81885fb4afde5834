"""Backup and restore of a one-box install: the SQLite database and the instance folder's secret key.

A backup is one `.tar.gz` archive holding:
- `vitrine.db`: a copy made with SQLite's online backup API, consistent while the portal keeps serving and
  writing (a snapshot of one moment; WAL writers carry on meanwhile);
- `secret_key`: the key that signs sessions and derives the encryption key of the stored secrets
  (integration keys, certificates: portal/services/crypto.py) — without it they cannot be read back;
- `manifest.json`: what the archive is, the migration revision and when it was made.
Stored invoice PDFs and certificates live in the database, so they travel with it.

The archive is written to a temporary file beside PATH and renamed into place at the end, so a failed
backup leaves nothing. A restore checks the archive and the copy's integrity before it replaces anything,
and refuses to overwrite a database that is there without `force`. On PostgreSQL the database is backed up
with `pg_dump` (docs/deployment.md); `backup` then keeps the instance folder's key only.
"""

import json
import os
import sqlite3
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path

FORMAT = "vitrine-backup"
VERSION = 1
DATABASE_MEMBER, KEY_MEMBER, MANIFEST_MEMBER = "vitrine.db", "secret_key", "manifest.json"


class BackupError(Exception):
    """Said to the operator as it is, with a non-zero exit."""


def sqlite_path(url: str) -> Path | None:
    """The file of a `sqlite:///…` URL (None for another database or an in-memory one)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == prefix or ":memory:" in url:
        return None
    return Path(url[len(prefix):].split("?", 1)[0])


def _target_checked(path: Path) -> None:
    if path.exists():
        raise BackupError(f"{path} already exists: choose a new file name (a backup never overwrites one)")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise BackupError(f"{folder} is not a folder")
    if not os.access(folder, os.W_OK):
        raise BackupError(f"{folder} cannot be written to")


def _copy_sqlite(source: Path, destination: Path) -> None:
    with sqlite3.connect(source, timeout=30) as reader, \
            sqlite3.connect(destination) as writer:
        reader.backup(writer)
    writer.close()
    reader.close()


def integrity_problem(database: Path) -> str | None:
    """None when SQLite's integrity check of `database` says "ok", else what it says."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            answer = connection.execute("PRAGMA integrity_check").fetchall()
        connection.close()
    except sqlite3.DatabaseError as error:
        return str(error)
    lines = [row[0] for row in answer]
    return None if lines == ["ok"] else "; ".join(lines[:5])


def make_backup(path: Path, *, database_url: str, instance_path: Path, revision: str | None) -> dict:
    """Write the archive to `path`; return its manifest."""
    path = Path(path)
    _target_checked(path)
    database = sqlite_path(database_url)
    manifest = {"format": FORMAT, "version": VERSION, "revision": revision,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "database": "sqlite" if database else "external", "members": []}
    key = Path(instance_path) / "secret_key"
    folder = path.parent if str(path.parent) else Path(".")
    try:
        # Root passes os.access whatever the folder's mode; what the folder really allows is known by trying.
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    except OSError as error:
        raise BackupError(f"{folder} cannot be written to ({error.strerror})") from error
    os.close(descriptor)
    try:
        with tempfile.TemporaryDirectory(dir=folder, prefix=".vitrine-backup-") as work, \
                tarfile.open(temporary, "w:gz") as archive:
            if database:
                if not database.exists():
                    raise BackupError(f"there is no database at {database}")
                copy = Path(work) / DATABASE_MEMBER
                _copy_sqlite(database, copy)
                problem = integrity_problem(copy)
                if problem:
                    raise BackupError(f"the copy of the database failed its integrity check: {problem}")
                archive.add(copy, arcname=DATABASE_MEMBER)
                manifest["members"].append(DATABASE_MEMBER)
            if key.exists():
                archive.add(key, arcname=KEY_MEMBER)
                manifest["members"].append(KEY_MEMBER)
            manifest_file = Path(work) / MANIFEST_MEMBER
            manifest_file.write_text(json.dumps(manifest, indent=2))
            archive.add(manifest_file, arcname=MANIFEST_MEMBER)
        os.chmod(temporary, 0o600)  # it holds the secret key
        os.link(temporary, path)  # fails if PATH appeared meanwhile: never overwrites
    except FileExistsError as error:
        raise BackupError(f"{path} already exists: choose a new file name") from error
    except OSError as error:  # the folder filled up or went away while the archive was written
        raise BackupError(f"the backup could not be written to {folder} ({error.strerror})") from error
    finally:
        os.unlink(temporary)
    return manifest


def read_manifest(archive: tarfile.TarFile) -> dict:
    try:
        member = archive.getmember(MANIFEST_MEMBER)
        manifest = json.loads(archive.extractfile(member).read())
    except (KeyError, AttributeError, ValueError) as error:
        raise BackupError("this file is not a Vitrine backup (it has no manifest)") from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("this file is not a Vitrine backup")
    if manifest.get("version") != VERSION:
        raise BackupError(f"this backup is of format version {manifest.get('version')}; this Vitrine reads {VERSION}")
    return manifest


def _extract(archive: tarfile.TarFile, name: str, destination: Path) -> None:
    member = archive.getmember(name)
    if not member.isfile():
        raise BackupError(f"the backup's {name} is not a file")
    with archive.extractfile(member) as source, open(destination, "wb") as target:
        while chunk := source.read(1 << 20):
            target.write(chunk)


def restore_backup(path: Path, *, database_url: str, instance_path: Path, force: bool = False) -> dict:
    """Put the archive's database and key in place; return its manifest."""
    path = Path(path)
    database = sqlite_path(database_url)
    if database is None:
        raise BackupError("the portal runs on PostgreSQL here: restore the database with pg_restore "
                          "(docs/deployment.md); this command restores a SQLite install")
    try:
        archive = tarfile.open(path, "r:gz")  # noqa: SIM115 (closed by the `with` below, once it is known to open)
    except FileNotFoundError as error:
        raise BackupError(f"there is no file at {path}") from error
    except (tarfile.TarError, OSError) as error:
        raise BackupError("this file is not a Vitrine backup (not a .tar.gz archive)") from error
    with archive:
        manifest = read_manifest(archive)
        if DATABASE_MEMBER not in manifest.get("members", []):
            raise BackupError("this backup holds no SQLite database (it was made on PostgreSQL)")
        if database.exists() and database.stat().st_size and not force:
            raise BackupError(f"there is a database at {database} already: stop the portal and add --force to "
                              "replace it with the backup's")
        database.parent.mkdir(parents=True, exist_ok=True)
        key = Path(instance_path) / KEY_MEMBER
        staged_database = database.with_name(f".{database.name}.restoring")
        staged_key = key.with_name(f".{KEY_MEMBER}.restoring")
        try:
            _extract(archive, DATABASE_MEMBER, staged_database)
            problem = integrity_problem(staged_database)
            if problem:
                raise BackupError(f"the backup's database failed its integrity check: {problem}")
            if KEY_MEMBER in manifest["members"]:
                _extract(archive, KEY_MEMBER, staged_key)
                os.chmod(staged_key, 0o600)
            for stale in (Path(f"{database}-wal"), Path(f"{database}-shm")):
                stale.unlink(missing_ok=True)
            os.replace(staged_database, database)
            if staged_key.exists():
                os.replace(staged_key, key)
        finally:
            staged_database.unlink(missing_ok=True)
            staged_key.unlink(missing_ok=True)
    return manifest
