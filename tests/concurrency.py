"""Running the same work from several threads at once, each in its own app context and session (QUALITY.md R1:
"8× at once")."""

import threading


def at_once(app, work, times: int = 8) -> tuple[list, list[Exception]]:
    """Run `work()` from `times` threads released together; returns (what each returned, what each raised)."""
    barrier = threading.Barrier(times)
    results, errors = [], []

    def run():
        from portal.extensions import db

        with app.app_context():
            try:
                barrier.wait()
                results.append(work())
            except Exception as error:  # noqa: BLE001 — collected for the caller to assert
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors
