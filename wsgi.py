"""WSGI entry point: `gunicorn wsgi:app`."""

import gc

from portal import create_app

app = create_app()

# A serving process holds ~180,000 objects that live as long as it does (modules, compiled templates,
# catalogs, locale data). A full garbage collection walks every one of them (~175 ms on a slow core), and
# the request that happens to trigger it waits. They are taken out of the collector's sight: those of the
# app now, and those the first requests load (templates, locale data) once they have been served.
gc.collect()
gc.freeze()
WARM_UP_REQUESTS = 200
_served = 0


@app.teardown_request
def _freeze_after_warm_up(_error=None):
    global _served
    _served += 1
    if _served == WARM_UP_REQUESTS:
        gc.freeze()
