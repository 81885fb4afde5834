"""The floor of bench/latency.py: the least a Flask + SQLAlchemy page can cost on this machine.

One small template, one query by primary key against the same generated database, served by the same
gunicorn settings as the portal in the same run. A portal page's req/s is judged against this one's.
`gunicorn bench.floor_app:app` with BENCH_FLOOR_DATABASE_URL set.
"""

import os

from flask import Flask, render_template
from jinja2 import DictLoader
from sqlalchemy import create_engine, text

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ name }}</title></head>
<body><main><h1>{{ name }}</h1><p>Organisation {{ id }}</p></main></body></html>
"""

app = Flask(__name__)
app.jinja_loader = DictLoader({"floor.html": TEMPLATE})
engine = create_engine(os.environ.get("BENCH_FLOOR_DATABASE_URL", "sqlite://"), pool_pre_ping=False)
QUERY = text("SELECT id, name FROM organisation WHERE id = :id")


@app.get("/")
def floor():
    """One row by primary key, rendered."""
    with engine.connect() as connection:
        row = connection.execute(QUERY, {"id": 1}).one_or_none()
    return render_template("floor.html", id=row.id if row else 0, name=row.name if row else "—")
