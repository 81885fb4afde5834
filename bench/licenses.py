"""License activations under load: a partner's people activate licenses of one product at once, over more
attempts than the stock holds (activations/s, and proof that the stock never went below zero).

    python -m bench.licenses [--stock 400] [--threads 8] [--database-url postgresql+psycopg://…]

On a fresh database, one partner has `--stock` licenses; `--threads` people of its team, each logged in with
their own session, post "Ativar licença" through the whole application (routing, session, CSRF, the stock's
conditional update, the client, the code, the movement, the audit) until a tenth more attempts than the stock
have been made. Figures: activations per second, and the refused attempts. The suite fails when a license was
activated twice, the stock went below zero, or the movements do not add up to it.
"""

import argparse
import re
import secrets
import sys
import threading
import time
from pathlib import Path

import bench
from bench.dataset.accounts import tax_id_for

QUICK_STOCK, QUICK_THREADS = 120, 4
PASSWORD = "vitrine-bench"


def prepare(stock: int, threads: int) -> tuple[int, list[str]]:
    """A partner with `stock` licenses of one product and `threads` sellers; returns its product id and e-mails."""
    from portal.extensions import db
    from portal.models.partners import PartnerStock, StockMovement
    from portal.services.accounts import organisations as accounts
    from portal.services.billing import invoicing
    from portal.services.catalog import products, software

    db.create_all()
    invoicing.install_defaults()
    accounts.create_organisation("vendor", "Vitrine Software SpA", "CL", "76.543.210-3")
    partner = accounts.create_organisation("partner", "Moderniza Parceiro Sul Ltda", "BR", "11.444.777/0001-61")
    pos = software.create_software("moderniza", "Moderniza PDV", "https://pdv.moderniza.example/")
    product = products.create_product("moderniza-completo", "module", pos, "Moderniza Completo")
    emails = []
    for n in range(threads):
        user = accounts.create_user(f"vendas{n}@moderniza.bench", f"Vendedor {n}", PASSWORD)
        accounts.add_membership(user, partner, "seller")
        emails.append(user.email)
    db.session.flush()
    db.session.add(PartnerStock(partner_id=partner.id, product_id=product.id, available=stock, total=stock))
    db.session.add(StockMovement(partner_id=partner.id, product_id=product.id, kind="order", quantity=stock))
    db.session.commit()
    return product.id, emails


def _token(html: bytes) -> str:
    return re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', html).group(1).decode()


def _logged_in(app, email: str):
    client = app.test_client()
    token = _token(client.get("/login").data)
    response = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    if response.status_code != 303:
        raise RuntimeError(f"{email} could not log in ({response.status_code})")
    return client, _token(client.get("/partner/licenses/activate").data)


def measure(url: str, options) -> dict:
    from portal import create_app
    from portal.extensions import db
    from portal.models.partners import LicenseActivation, PartnerStock, StockMovement

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secrets.token_urlsafe(32),
                      "RATELIMIT_ENABLED": False})
    with app.app_context():
        product_id, emails = prepare(options.stock, options.threads)
        db.session.remove()
    # Outside the app context: each request gets its own, as under a server (a shared one would share `g`).
    clients = [_logged_in(app, email) for email in emails]
    attempts = options.stock + max(options.stock // 10, 1)
    numbers = iter(range(attempts))
    lock = threading.Lock()
    statuses: list[int] = []

    def worker(client, token):
        while True:
            with lock:
                n = next(numbers, None)
            if n is None:
                return
            response = client.post("/partner/licenses/activate", data={
                "csrf_token": token, "product_id": str(product_id), "client_name": f"Mercado {n}",
                "client_tax_id": tax_id_for("BR", 2_000_000 + n), "note": ""})
            with lock:
                statuses.append(response.status_code)

    threads = [threading.Thread(target=worker, args=pair) for pair in clients]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    with app.app_context():
        activated = db.session.scalar(db.select(db.func.count(LicenseActivation.id)))
        codes = db.session.scalar(db.select(db.func.count(db.distinct(LicenseActivation.code))))
        left = db.session.scalar(db.select(PartnerStock.available))
        moved = db.session.scalar(db.select(db.func.sum(StockMovement.quantity)))
        db.session.remove()
        db.engine.dispose()
    result = {"stock": options.stock, "threads": options.threads, "attempts": attempts,
              "activated": activated, "refused": statuses.count(409), "left": left, "movements_sum": moved,
              "activations_per_s": round(statuses.count(303) / elapsed, 1)}
    if not (activated == statuses.count(303) == options.stock == codes and left == 0 == moved
            and statuses.count(409) == attempts - options.stock):
        raise RuntimeError(f"the activations did not add up: {result}, statuses {sorted(set(statuses))}")
    return result


def run(options) -> dict:
    """The bench.run suite: 400 licenses by 8 sellers at once (120 by 4 with --quick)."""
    from bench.databases import scratch_database

    stock, threads = (QUICK_STOCK, QUICK_THREADS) if options.quick else (400, 8)
    own = argparse.Namespace(**vars(options), stock=stock, threads=threads)
    with scratch_database(own, "licenses") as url:
        result = measure(url, own)
    result["figures"] = [
        {"name": f"license activations, {threads} sellers at once over {stock:,} licenses", "unit": "activations/s",
         "value": result["activations_per_s"], "bar": None, "ok": None},
        {"name": f"attempts beyond the stock refused (409), stock left {result['left']}", "unit": "attempts",
         "value": result["refused"], "bar": None, "ok": result["left"] == 0}]
    return result


def main(argv=None) -> int:
    from bench.databases import scratch_database

    parser = argparse.ArgumentParser(prog="python -m bench.licenses", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stock", type=int, default=400)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--results-dir", type=Path, default=bench.RESULTS_DIR)
    options = parser.parse_args(argv)
    options.results_dir = options.results_dir.resolve()
    with scratch_database(options, "licenses") as url:
        result = measure(url, options)
    print(f"{result['activated']:,} licenses activated by {result['threads']} sellers at once: "
          f"{result['activations_per_s']:,} activations/s; {result['refused']:,} attempts beyond the stock refused, "
          f"{result['left']} left")
    return 0


if __name__ == "__main__":
    sys.exit(main())
