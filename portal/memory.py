"""The cyclic garbage collector around batch work, and at a worker's start.

A batch of the billing sweep or of auto-pay builds tens of thousands of ORM objects (rows, their states,
statements) that all live until the batch commits. Python's cyclic collector runs a pass every 700 new
objects and, every tenth pass, over everything the previous ones kept: over such a batch it walks the same
live objects again and again and costs about a third of the batch's time, to find almost nothing (the batch's
objects are freed by reference counting when it ends). So a batch runs with the collector paused
(`paused_collection`), and the collector resumes when the last batch running in the process ends. A batch is
bounded (services/billing/sweep.py's BATCH_SIZE, a run's attempts), so what a pause holds is bounded too.

What a process holds once it has started (the app, its templates, its translations, the ORM's mappers) lives
as long as the process: `freeze_long_lived` moves it out of the collector's sight, as gunicorn.conf.py does for
each web worker after it loads the app.
"""

import gc
import threading
from contextlib import contextmanager

_lock = threading.Lock()
_paused = 0  # batches running with the collector paused, in this process's threads
_resume = False  # whether the collector was on when the first of them began


@contextmanager
def paused_collection():
    """Run the block with the cyclic garbage collector paused (threads of the process share one collector:
    it resumes when the last block that paused it ends, and only if it was on before the first began)."""
    global _paused, _resume
    with _lock:
        if _paused == 0:
            _resume = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _lock:
            _paused -= 1
            if _paused == 0 and _resume:
                gc.enable()


def freeze_long_lived() -> None:
    """Collect once, then leave everything alive now out of later collections."""
    gc.collect()
    gc.freeze()
