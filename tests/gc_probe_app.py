"""A WSGI app that answers how many objects the garbage collector has frozen in the worker that serves it
(tests/test_serving.py serves it with the project's gunicorn.conf.py)."""

import gc


def app(environ, start_response):
    body = str(gc.get_freeze_count()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
