"""After-commit hooks: work a service hands on once the current transaction has committed.

A service names the work and its items (`after_commit("send_email", [message.id])`); the application's wiring
(`portal.jobs.init_app`) says who does it (`on_commit("send_email", handler)`). So services never import jobs
or workflows, nothing is handed on for a transaction that rolls back, and nothing committed waits for a
transaction still open: a SAVEPOINT released or rolled back leaves the outer transaction's items alone.
"""

from collections.abc import Callable
from contextlib import contextmanager

from sqlalchemy import event

from portal.extensions import db

_KEY = "after_commit"
_handlers: dict[str, Callable[[list], None]] = {}


def on_commit(name: str, handler: Callable[[list], None]) -> None:
    """Have `handler(items)` called with the items queued under `name` once their transaction commits."""
    _handlers[name] = handler
    if not event.contains(db.session, "after_commit", _committed):
        event.listen(db.session, "after_commit", _committed)
        event.listen(db.session, "after_rollback", _rolled_back)


def after_commit(name: str, items: list) -> None:
    """Queue `items` for the `name` handler, to be handed to it when the current transaction commits."""
    db.session.info.setdefault(_KEY, {}).setdefault(name, []).extend(items)


def _committed(session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT released: the transaction that queued the items is still open
    for name, items in session.info.pop(_KEY, {}).items():
        handler = _handlers.get(name)
        if handler is not None and items:
            handler(items)


def _rolled_back(session) -> None:
    if not session.in_nested_transaction():  # a SAVEPOINT rolled back leaves the outer transaction's queue
        session.info.pop(_KEY, None)


@contextmanager
def handled_by(name: str, handler: Callable[[list], None]):
    """Inside the block, `handler` takes the items of `name` instead of the application's (a benchmark that runs
    the work itself, timed apart)."""
    kept = _handlers.get(name)
    on_commit(name, handler)
    try:
        yield
    finally:
        if kept is None:
            _handlers.pop(name, None)
        else:
            _handlers[name] = kept
