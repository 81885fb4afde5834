"""The garbage collector around batch work (portal/memory.py): paused inside a batch, resumed after the last."""

import gc
import threading

from portal.extensions import db
from portal.memory import paused_collection


def test_a_batch_runs_with_the_collector_paused_and_it_resumes_after():
    assert gc.isenabled()
    with paused_collection():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_resumes_after_a_batch_that_failed():
    try:
        with paused_collection():
            raise ValueError("a batch that failed")
    except ValueError:
        pass
    assert gc.isenabled()


def test_batches_in_two_threads_resume_it_only_when_the_last_ends():
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with paused_collection():
            first_in.set()
            second_in.wait(5)
        seen["after first"] = gc.isenabled()
        first_out.set()

    def second():
        first_in.wait(5)
        with paused_collection():
            second_in.set()
            first_out.wait(5)
            seen["second, first ended"] = gc.isenabled()
        seen["after second"] = gc.isenabled()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == {"after first": False, "second, first ended": False, "after second": True}
    assert gc.isenabled()


def test_a_collector_turned_off_before_stays_off():
    gc.disable()
    try:
        with paused_collection():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_billing_run_closes_its_batches_with_the_collector_paused_and_leaves_it_on(app):
    """The sweep's batches (and the auto-pay of what they issued) run paused; the collector is on again after
    each batch."""
    from portal.services.billing.rules import add_months
    from portal.workflows.auto_pay import attempt_batch
    from portal.workflows.billing_run import run_sweep
    from tests.services.billing_helpers import JAN, due_subscriptions, make_catalog

    cat = make_catalog()
    due_subscriptions(cat, 3)
    db.session.commit()
    batches = []
    result = run_sweep(add_months(JAN, 1), render_pdfs=False, on_batch=lambda _result: batches.append(gc.isenabled()))
    assert result.invoices == 3 and batches == [True] and gc.isenabled()
    assert attempt_batch([], JAN) == 0 and gc.isenabled()
