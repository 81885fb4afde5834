"""`flask run`, the README's first command, consumes the job queue in threads beside the development server."""

import threading

import click
from huey import MemoryHuey

from portal.jobs import consume_beside_dev_server


def _queue_with_a_task():
    queue = MemoryHuey("dev-consumer-test", immediate=False)
    done = threading.Event()

    @queue.task()
    def mark():
        done.set()

    return queue, mark, done


def test_under_flask_run_the_queue_is_consumed_in_threads(app):
    queue, mark, done = _queue_with_a_task()
    with click.Context(click.Command("run"), info_name="run") as context:
        context.params["reload"] = False
        consumer = consume_beside_dev_server(app, workers=1, queue=queue)
    assert consumer is not None
    try:
        mark()
        assert done.wait(5), "the job was not run by the development server's consumer"
    finally:
        consumer.stop()


def test_other_commands_start_no_consumer(app):
    queue, _mark, _done = _queue_with_a_task()
    with click.Context(click.Command("demo"), info_name="demo"):
        assert consume_beside_dev_server(app, queue=queue) is None
    assert consume_beside_dev_server(app, queue=queue) is None  # no command at all (a worker, a test)


def test_the_reloaders_watcher_starts_none(app, monkeypatch):
    queue, _mark, _done = _queue_with_a_task()
    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    with click.Context(click.Command("run"), info_name="run") as context:
        context.params["reload"] = True
        assert consume_beside_dev_server(app, queue=queue) is None
