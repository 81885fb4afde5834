"""Store activations: customers with a filled cart confirming it at the same time, over HTTP (activations/s).

    python -m bench.activations [--quick] [--customers 300] [--database-url postgresql+psycopg://…]

On a fresh database, `--customers` organisations each have an active monthly plan and an administrator whose
cart holds two additional users and a module. The portal is served by gunicorn as bench/portal.py serves it
(2 sync workers, loopback). Every administrator logs in (through the login form, in this process, at a low
Argon2id cost: the login is not what is measured) and opens the cart over HTTP (its idempotency key and the
fingerprint of what it shows); then all of them press "Activate", two requests in flight (one per worker:
both write at the same moment), each timed from the request to the redirect to its activation, its SQL
statements counted. The floor (bench/floor_app.py: one template, one query) is served by the same gunicorn
settings and fetched ten times as often by the same client just before. Checked: every cart activated exactly
once, its quantities on the plan and the cart emptied; each confirmation sent again with its key answers with
the same activation; one more customer's key sent 8× at once gives one activation and one answer.
"""

import argparse
import re
import secrets
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import bench
from bench.databases import scratch_job_queue
from bench.latency import floor_server
from bench.server import GUNICORN_WORKERS, SESSION_COOKIE, HarnessError, Session, bench_environment, fetch, gunicorn

QUICK_CUSTOMERS, FULL_CUSTOMERS = 30, 300
CONNECTIONS = GUNICORN_WORKERS  # two activations in flight, one per worker: a closed loop, p99 is service time
AT_ONCE = 8  # QUALITY.md R1: the same key 8× at once
FLOOR_REQUESTS = 10  # floor requests per customer: enough for a steady figure, a second or two
PASSWORD = "activations-bench-password"
FORM_FIELD = re.compile(r'name="(key|fingerprint)" value="([^"]*)"')
LOGIN_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
# The login being no part of what is measured, the administrators log in through the login form in this
# process, at the tests' Argon2id cost, and the server (same database, same secret key) takes their sessions.
CHEAP_HASHES = {"PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_KIB": 8, "PASSWORD_HASH_PARALLELISM": 1}


def _email(n: int) -> str:
    return f"bench.activation.{n}@vitrine.bench"


def prepare(customers: int, now: datetime) -> dict:
    """The vendor's catalog in two store rows, and `customers` organisations on Plan Básico, each with an
    administrator whose cart holds two additional users and the inventory module. Returns the product ids."""
    from portal.extensions import db
    from portal.models import CartLine, User
    from portal.services import catalog
    from portal.services.accounts import auth
    from portal.services.accounts.organisations import add_membership, create_organisation
    from portal.services.billing import invoicing
    from portal.services.billing import subscriptions as subs

    db.create_all()
    invoicing.install_defaults()
    create_organisation("vendor", "Vitrine Software SpA", "CL", "76.543.210-3")
    software = catalog.create_software("erp", "Vitrine ERP", "https://erp.vitrine.bench/login")
    my_plan, erp = catalog.create_category("mi-plan", "Mi plan"), catalog.create_category("erp", "ERP")
    plan = catalog.create_product("basico", "plan", software, "Plan Básico")
    user = catalog.create_product("usuario", "additional_user", software, "Usuario adicional", my_plan)
    module = catalog.create_product("inventario", "module", software, "Inventario", erp)
    for product, amount in ((plan, 19_990), (user, 3_900), (module, 12_990)):
        catalog.set_price(product, "CLP", "monthly", amount)
    password_hash = auth.new_password_hash(PASSWORD)  # one hash for all: each login still verifies it in full
    for n in range(customers):
        org = create_organisation("customer", f"Comercial Activa {n:04d} SpA", "CL")
        admin = User(email=_email(n), name=f"Administradora {n}", locale="es", password_hash=password_hash,
                     session_token=auth.new_session_token())
        db.session.add(admin)
        db.session.flush()
        add_membership(admin, org, "admin")
        subs.start_subscription(org, plan, "CLP", "monthly", now - timedelta(days=9), trial_days=0)
        db.session.add_all([
            CartLine(organisation_id=org.id, user_id=admin.id, product_id=user.id, quantity=2, currency="CLP",
                     unit_amount=3_900, added_at=now),
            CartLine(organisation_id=org.id, user_id=admin.id, product_id=module.id, quantity=1, currency="CLP",
                     unit_amount=12_990, added_at=now)])
        if n % 100 == 99:
            db.session.commit()
    db.session.commit()
    return {"user": user.id, "module": module.id}


def log_in(app, base: str, email: str) -> Session:
    """A session of `email` made by the login form in this process, for the server at `base`."""
    client = app.test_client()
    token = LOGIN_CSRF.search(client.get("/login").text)
    response = client.post("/login", data={"email": email, "password": PASSWORD,
                                           "csrf_token": token.group(1) if token else ""})
    cookie = client.get_cookie(SESSION_COOKIE)
    if response.status_code != 303 or cookie is None:
        raise HarnessError(f"login as {email} answered {response.status_code}, not 303: {response.text[:300]!r}")
    return Session(base, {SESSION_COOKIE: cookie.value})


def _in_parallel(work, items, connections: int = CONNECTIONS) -> list:
    with ThreadPoolExecutor(max_workers=connections) as pool:
        return list(pool.map(work, items))


def _timed(request):
    started = time.perf_counter()
    response = request()
    return response, (time.perf_counter() - started) * 1000


def _percentiles(milliseconds: list[float]) -> dict:
    ordered = sorted(milliseconds)
    return {"p50_ms": round(statistics.median(ordered), 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2)}


def _open_cart(session) -> dict:
    response = session.request("/customer/cart")
    fields = dict(FORM_FIELD.findall(response.text))
    if response.status != 200 or set(fields) != {"key", "fingerprint"}:
        raise HarnessError(f"the cart answered {response.status} without its activation form: {response.text[:200]!r}")
    return {**fields, "csrf_token": session.csrf_token}


def _activate(session, form: dict):
    return session.request("/customer/cart/activate", "POST", form)


def check(customers: int, products: dict) -> dict:
    """What the database holds after the run: activations, plan quantities and carts per organisation."""
    from portal.extensions import db
    from portal.models import Activation, CartLine, Organisation, SubscriptionItem

    db.session.expire_all()
    activations = dict(db.session.execute(
        db.select(Organisation.id, db.func.count(Activation.id)).outerjoin(
            Activation, Activation.organisation_id == Organisation.id).where(Organisation.kind == "customer")
        .group_by(Organisation.id)).all())
    held = db.session.execute(db.select(SubscriptionItem.product_id, SubscriptionItem.quantity)).all()
    left_in_carts = db.session.scalar(db.select(db.func.count()).select_from(CartLine))
    db.session.commit()
    return {
        "organisations": len(activations),
        "activated_once": sum(count == 1 for count in activations.values()),
        "users_held_2": sum(1 for product, quantity in held if product == products["user"] and quantity == 2),
        "modules_held_1": sum(1 for product, quantity in held if product == products["module"] and quantity == 1),
        "cart_lines_left": left_in_carts,
        "correct": (len(activations) == customers and all(count == 1 for count in activations.values())
                    and len(held) == 2 * customers and left_in_carts == 0
                    and sum(1 for product, quantity in held if (product, quantity) in
                            ((products["user"], 2), (products["module"], 1))) == 2 * customers),
    }


def measure(url: str, options) -> dict:
    from portal import create_app
    from portal.extensions import db

    customers = options.customers
    secret = secrets.token_urlsafe(32)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secret, "LOG_LEVEL": "WARNING", **CHEAP_HASHES})
    results_dir = Path(options.results_dir)
    queue = results_dir / f"activations-jobs-{time.time_ns()}"
    phases = {}
    with scratch_job_queue(queue, "vitrine-bench-activations"):
        mark = time.perf_counter()
        with app.app_context():
            products = prepare(customers + 1, datetime.now(UTC).replace(microsecond=0))
            db.session.remove()
        phases["prepare_s"] = round(time.perf_counter() - mark, 1)
        env = bench_environment(url, results_dir / "instance", sql_count=True) | {"PORTAL_SECRET_KEY": secret}
        with floor_server(url, results_dir) as floor, \
                gunicorn("portal-activations", "wsgi:app", env, results_dir / "logs", probe="/login") as server:
            mark = time.perf_counter()
            sessions = [log_in(app, server.base, _email(n)) for n in range(customers + 1)]
            forms = _in_parallel(_open_cart, sessions)
            phases["log_in_and_open_carts_s"] = round(time.perf_counter() - mark, 1)
            floor_started = time.perf_counter()
            floor_timed = _in_parallel(lambda _n: _timed(lambda: fetch(floor.base, "/")),
                                       range(FLOOR_REQUESTS * customers))
            floor_s = time.perf_counter() - floor_started
            pairs = list(zip(sessions[:customers], forms[:customers], strict=True))
            started = time.perf_counter()
            timed = _in_parallel(lambda pair: _timed(lambda: _activate(*pair)), pairs)
            burst_s = time.perf_counter() - started
            first = [response for response, _ms in timed]
            again = _in_parallel(lambda pair: _activate(*pair), pairs)
            last_session, last_form = sessions[-1], forms[-1]
            at_once = _in_parallel(lambda _n: _activate(last_session, last_form), range(AT_ONCE), AT_ONCE)
        with app.app_context():
            found = check(customers + 1, products)
            db.session.remove()
            db.engine.dispose()
    places = [response.headers.get("location", "") for response in first]
    statuses = [response.status for response in first] + [response.status for response in again]
    floor_ms = [ms for _response, ms in floor_timed]
    result = {
        "customers": customers, "connections": CONNECTIONS, "lines_per_cart": 2,
        "activations_per_s": round(customers / burst_s, 1), **_percentiles([ms for _response, ms in timed]),
        "sql_statements_per_activation": max(int(response.headers.get("x-sql-count", 0)) for response in first),
        "floor": {"requests": len(floor_ms), "rps": round(len(floor_ms) / floor_s, 1), **_percentiles(floor_ms),
                  "failures": sum(response.status != 200 for response, _ms in floor_timed)},
        "redirected": statuses.count(303), "distinct_activations": len(set(places)),
        "replayed_same": sum(response.headers.get("location") == place for response, place in
                             zip(again, places, strict=True)),
        "phases": phases, "at_once": AT_ONCE,
        "at_once_answers": len({response.headers.get("location") for response in at_once}),
        "at_once_redirected": sum(response.status == 303 for response in at_once),
        **found,
    }
    result["ratio_to_floor"] = round(result["activations_per_s"] / result["floor"]["rps"], 3)
    result["correct"] = bool(
        found["correct"] and result["redirected"] == 2 * customers and result["distinct_activations"] == customers
        and result["replayed_same"] == customers and result["at_once_redirected"] == AT_ONCE
        and result["at_once_answers"] == 1 and not result["floor"]["failures"])
    return result


def figures(result: dict) -> list[dict]:
    customers = result["customers"]
    return [
        {"name": f"store activations, {customers:,} carts of 2 lines, {result['connections']} at a time",
         "value": result["activations_per_s"], "unit": "activations/s", "bar": "", "ok": None},
        {"name": "store activation p50 / p99", "value": f"{result['p50_ms']:.1f} / {result['p99_ms']:.1f}",
         "unit": "ms", "bar": "", "ok": None},
        {"name": "SQL statements per activation (the most of any)", "value": result["sql_statements_per_activation"],
         "unit": "", "bar": "", "ok": None},
        {"name": "floor in the same run (one template, one query)", "value": result["floor"]["rps"],
         "unit": "req/s", "bar": "", "ok": None},
        {"name": "activations per floor request", "value": result["ratio_to_floor"], "unit": "", "bar": "",
         "ok": None},
        {"name": "each cart activated once; its key again and 8× at once: the same activation",
         "value": f"{result['activated_once']:,} of {result['organisations']:,}", "unit": "", "bar": "all",
         "ok": result["correct"]},
    ]


def run(options) -> dict:
    """The bench.run suite: 300 customers (30 with --quick), on SQLite or the --database-url server."""
    from bench.databases import scratch_database

    own = argparse.Namespace(**vars(options), customers=QUICK_CUSTOMERS if options.quick else FULL_CUSTOMERS)
    with scratch_database(own, "activations") as url:
        result = measure(url, own)
    result["figures"] = figures(result)
    return result


def main(argv=None) -> int:
    from bench.databases import scratch_database
    from bench.report import print_suite
    from bench.server import stop_all

    parser = argparse.ArgumentParser(prog="python -m bench.activations", description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=FULL_CUSTOMERS)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_CUSTOMERS} customers")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--results-dir", type=Path, default=bench.RESULTS_DIR)
    options = parser.parse_args(argv)
    options.results_dir = options.results_dir.resolve()
    if options.quick:
        options.customers = QUICK_CUSTOMERS
    try:
        with scratch_database(options, "activations") as url:
            result = measure(url, options)
    finally:
        stop_all()
    print_suite("activations", {"figures": figures(result)})
    print(f"phases: {result['phases']}")
    return 0 if result["correct"] else 1


if __name__ == "__main__":
    sys.exit(main())
