"""A large month's ZIP prepared by a job: its state (queued, running with how many XMLs written, ready, failed)
and the file, kept in the instance folder (`fiscal-zips/`) for KEEP_HOURS, then removed by the next
preparation. The state is a small JSON file replaced whole at each step, so that the page that shows the
progress (any web process on the machine) never reads half of one.

A job belongs to one reseller, one of its clients and the manager who asked: `load` finds it only for them."""

import json
import os
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app

FOLDER = "fiscal-zips"
KEEP_HOURS = 24
QUEUED, RUNNING, READY, FAILED = "queued", "running", "ready", "failed"
_ID = re.compile(r"[A-Za-z0-9_-]{22}")


@dataclass
class Prepared:
    id: str
    reseller_id: int
    client_id: int
    user_id: int
    kind: str
    month: str
    model: str
    locale: str
    total: int  # XMLs in the month when it was asked
    done: int
    state: str
    filename: str
    created_at: str  # ISO 8601, UTC

    @property
    def percent(self) -> int:
        if self.state == READY:
            return 100
        return min(99, self.done * 100 // self.total) if self.total else 0


def folder() -> Path:
    path = Path(current_app.instance_path) / FOLDER
    path.mkdir(parents=True, exist_ok=True)
    return path


def state_path(job_id: str) -> Path:
    return folder() / f"{job_id}.json"


def zip_path(job: Prepared) -> Path:
    return folder() / f"{job.id}.zip"


def part_path(job: Prepared) -> Path:
    return folder() / f"{job.id}.zip.part"


def save(job: Prepared) -> None:
    """Replace the job's state whole (a reader sees the old state or the new one)."""
    target = state_path(job.id)
    temporary = target.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(asdict(job)), encoding="utf-8")
    os.replace(temporary, target)


def create(reseller_id: int, client_id: int, user_id: int, kind: str, month: str, model: str, locale: str,
           total: int, filename: str, now: datetime) -> Prepared:
    """A new queued job (and the expired ones removed)."""
    remove_expired(now)
    job = Prepared(id=secrets.token_urlsafe(16), reseller_id=reseller_id, client_id=client_id, user_id=user_id,
                   kind=kind, month=month, model=model, locale=locale, total=total, done=0, state=QUEUED,
                   filename=filename, created_at=now.isoformat())
    save(job)
    return job


def read(job_id: str) -> Prepared | None:
    """The job with this id, whoever it belongs to (the job runner's view); None if there is none."""
    if not _ID.fullmatch(job_id or ""):
        return None
    try:
        return Prepared(**json.loads(state_path(job_id).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def load(job_id: str, reseller_id: int, client_id: int, user_id: int) -> Prepared | None:
    """The job if it is this manager's, for this client of this reseller; None otherwise (the view's 404)."""
    job = read(job_id)
    if job is None or (job.reseller_id, job.client_id, job.user_id) != (reseller_id, client_id, user_id):
        return None
    return job


def remove_expired(now: datetime) -> int:
    """Remove the jobs (state and files) older than KEEP_HOURS; how many."""
    removed = 0
    limit = now - timedelta(hours=KEEP_HOURS)
    for path in folder().glob("*.json"):
        job = read(path.stem)
        if job is None or datetime.fromisoformat(job.created_at) >= limit:
            continue
        for leftover in (zip_path(job), part_path(job), path):
            leftover.unlink(missing_ok=True)
        removed += 1
    return removed
