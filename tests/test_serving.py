"""gunicorn.conf.py, the README's serving settings: a worker freezes its long-lived objects out of the garbage
collector's sight once the app is loaded and once more after its warm-up requests, exactly once each, even
when a threaded worker serves them from many threads at once."""

import importlib.util
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from tests.smtp import free_port

PROJECT = Path(__file__).resolve().parents[1]
CONFIG = PROJECT / "gunicorn.conf.py"


def load_config():
    spec = importlib.util.spec_from_file_location("gunicorn_conf_under_test", CONFIG)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_settings_size_workers_by_cpu_and_bound_requests_in_time(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    config = load_config()
    assert config.workers >= 3 and config.workers % 2 == 1
    assert config.timeout == 30 and config.graceful_timeout <= config.timeout
    monkeypatch.setenv("WEB_CONCURRENCY", "7")
    assert load_config().workers == 7


def test_the_second_freeze_happens_once_after_the_warm_up_whatever_the_threads(monkeypatch):
    config = load_config()
    freezes = []
    monkeypatch.setattr(config, "freeze_long_lived_objects", lambda: freezes.append(config._served))
    start = threading.Barrier(8)

    def serve(requests: int):
        start.wait()
        for _ in range(requests):
            config.post_request(None, None, {}, None)

    threads = [threading.Thread(target=serve, args=(config.WARM_UP_REQUESTS // 4,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert config._served == 2 * config.WARM_UP_REQUESTS
    assert len(freezes) == 1


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 — a loopback URL of our own
        return int(response.read())


def test_the_documented_gunicorn_command_freezes_after_loading_and_after_the_warm_up():
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(CONFIG), "-w", "1", "-b", f"127.0.0.1:{port}",
         "tests.gc_probe_app:app"],
        cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                after_loading = _get(url)
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()
                assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
                time.sleep(0.1)
        assert after_loading > 1_000  # the worker's modules and the app were frozen before the first request
        warm_up = load_config().WARM_UP_REQUESTS
        before_warm_up_ends = [_get(url) for _ in range(warm_up - 2)][-1]
        assert before_warm_up_ends == after_loading
        after_warm_up = _get(url) and _get(url)
        assert after_warm_up > after_loading  # what the first requests made and kept is frozen too
    finally:
        server.terminate()
        server.wait(timeout=30)
