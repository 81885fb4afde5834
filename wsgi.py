"""WSGI entry point: `gunicorn -c gunicorn.conf.py wsgi:app` (the serving settings are in gunicorn.conf.py)."""

from portal import create_app

app = create_app()
