"""Health checks for a process manager or a load balancer: unauthenticated, cheap, and saying nothing else.

- `/healthz`: the process answers (no database, no queue): 200 "ok".
- `/readyz`: the database answers and is migrated to the newest revision, and — when Redis is set — the
  job queue answers: 200 "ready", otherwise 503 "not ready". Which part failed is logged, not told.

Neither is rate limited, and their requests are logged at debug level (portal/observability.py).
"""

import logging
from functools import cache

from alembic.script import ScriptDirectory
from flask import Blueprint, current_app
from sqlalchemy import text

from portal.config import PROJECT_ROOT
from portal.extensions import db, limiter

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@cache
def head_revision() -> str:
    """The newest migration in migrations/versions (read once per process)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return ScriptDirectory.from_config(config).get_current_head()


def _plain(body: str, status: int):
    return body + "\n", status, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}


@bp.get("/healthz")
@limiter.exempt
def healthz():
    return _plain("ok", 200)


def _database_problem() -> str | None:
    try:
        with db.engine.connect() as connection:
            version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception as error:  # unreachable, or no schema at all
        return f"database: {type(error).__name__}"
    if version != head_revision():
        return f"database at revision {version}, the code expects {head_revision()}"
    return None


def _queue_problem() -> str | None:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None  # jobs on the instance folder's SQLite file: the database check covers the machine
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
    except Exception as error:
        return f"queue: {type(error).__name__}"
    return None


@bp.get("/readyz")
@limiter.exempt
def readyz():
    problem = _database_problem() or _queue_problem()
    if problem:
        log.warning("not ready: %s", problem)
        return _plain("not ready", 503)
    return _plain("ready", 200)
