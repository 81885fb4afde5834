"""gunicorn's settings for the portal: `gunicorn -c gunicorn.conf.py wsgi:app` (the README's command).

Options given on the command line (`-w`, `-b`, `--threads`, …) or in GUNICORN_CMD_ARGS win over these.

Garbage collection: a serving process holds ~180,000 objects that live as long as it does (modules,
compiled templates, catalogs, locale data). A full collection walks every one of them (~175 ms on a slow
core), and the request that happens to trigger it waits. They are taken out of the collector's sight
twice: once the worker has loaded the app, and again after its first WARM_UP_REQUESTS requests, which load
what only serving brings in (templates compiled on first use, locale data, the cached shell). Each time,
a collection first frees the garbage made so far, so that only what is really alive is frozen.
"""

import gc
import os
import threading

# Sync workers, one request at a time each: gunicorn's rule of thumb of two per CPU plus one, as many as
# WEB_CONCURRENCY says when it is set (a platform's way of sizing them).
_cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * _cpus + 1)
worker_class = "sync"
# A request still running after 30 s is a stuck worker: gunicorn replaces it. SIGTERM lets the requests
# in flight finish for up to 10 s; a load balancer's idle connections are kept 5 s between requests.
timeout = 30
graceful_timeout = 10
keepalive = 5
# With --access-logfile: one line a request, with the request id the portal answered (portal/observability.py).
# No address: some are secrets (e-mailed links); the portal's own line for the same id names the route.
access_log_format = '%(h)s %(m)s %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'

WARM_UP_REQUESTS = 200
_served = 0
_served_lock = threading.Lock()  # post_request runs in each of a threaded worker's threads


def freeze_long_lived_objects() -> None:
    gc.collect()
    gc.freeze()


def post_worker_init(worker) -> None:
    """The worker has loaded the app: what it holds now lives as long as the worker."""
    freeze_long_lived_objects()


def post_request(worker, req, environ, resp) -> None:
    """After the warm-up requests, freeze once more what serving them loaded for good."""
    global _served
    with _served_lock:
        _served += 1
        warmed_up = _served == WARM_UP_REQUESTS
    if warmed_up:
        freeze_long_lived_objects()
