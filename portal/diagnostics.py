"""Benchmark diagnostics: with PORTAL_BENCH_SQL_COUNT=1, every response says how many SQL statements it ran.

The count (an `X-SQL-Count` header) lets bench/latency.py show that a page runs the same statements
whatever the size of the data. Off by default: nothing is registered unless the variable is set.
"""

import os

from flask import g, has_app_context
from sqlalchemy import event

from portal.extensions import db

HEADER = "X-SQL-Count"


def _count_statement(*_args) -> None:
    if has_app_context():
        g.sql_statements = g.get("sql_statements", 0) + 1


def init_app(app) -> None:
    if os.environ.get("PORTAL_BENCH_SQL_COUNT") != "1":
        return
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", _count_statement)

    @app.after_request
    def report_sql_count(response):
        response.headers[HEADER] = str(g.get("sql_statements", 0))
        return response
