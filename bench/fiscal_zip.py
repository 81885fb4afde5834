"""A client's month of 10,000 issued NF-e as a ZIP: time and peak memory, streamed, beside a floor.

    python -m bench.fiscal_zip [--quick] [--database-url postgresql+psycopg://…]

On a fresh database, one Brazilian client of a reseller issues `size` NF-e in the current month (real XMLs of
tests/nfe.py, kept zlib-compressed as the documents' service keeps them), at 1,000 and at 10,000 documents.
Measured, in process:

- the month's ZIP as the portal streams it (portal.services.fiscal.month_zip: the rows read `yield_per` from a
  server-side cursor, each XML decompressed and zipped into a sink handed on in chunks): seconds, and the peak of
  memory allocated meanwhile (tracemalloc, in a second pass); the peak must not grow with the count beyond the
  ZIP's central directory (one entry per file, written at its end) — the XMLs themselves are never all held;
- the reports' ZIP (the same with the summary PDF per day and per CFOP, each XML read once more for its CFOPs);
- the floor, in the same run: the same XMLs already in memory (no database, no portal) zipped by zipfile into a
  BytesIO, as code that builds the whole ZIP before sending it would: its time is the least a ZIP of the month
  costs, its peak grows with the month;
- through the whole application, as the manager's browser asks: the streamed download (POST), and a month over
  FISCAL_ZIP_PREPARE_FROM prepared by the job (the queue runs it at once here), its progress page and its file.
"""

import argparse
import gc
import io
import re
import secrets
import sys
import time
import tracemalloc
import zipfile
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import bench

SIZES = (1_000, 10_000)
EMAIL, PASSWORD = "gerente@horizonte.bench", "vitrine-bench"
CNPJ = "11222333000181"


def prepare(size: int, now: datetime):
    """A reseller with a manager and one client that issued `size` NF-e this month; the client."""
    from bench.dataset import Context
    from portal.extensions import db
    from portal.models import FiscalDocument
    from portal.services.accounts import organisations as accounts
    from portal.services.billing import invoicing
    from portal.services.fiscal import months
    from tests import nfe

    db.create_all()
    invoicing.install_defaults()
    office = accounts.create_organisation("reseller", "Contabilidade Horizonte Ltda", "BR", "45398765000160")
    accounts.add_membership(accounts.create_user(EMAIL, "Marina Costa", PASSWORD, locale="pt_BR"), office, "manager")
    client = accounts.create_organisation("customer", "Distribuidora Aurora Ltda", "BR", CNPJ,
                                          reseller_id=office.id, timezone="America/Sao_Paulo")
    db.session.flush()
    start, _end = months.bounds(client, months.current_month(client, now))
    spread = max(int((now - start).total_seconds()), 1)

    def rows():
        for n in range(1, size + 1):
            issued = start + timedelta(seconds=n * spread // (size + 1))
            local = issued.astimezone(months.zone_of(client)).isoformat(timespec="seconds")
            cfops = ("5102",) if n % 3 else ("5102", "5405")
            total = f"{100 + n % 900}.{n % 100:02d}"
            key = nfe.access_key(CNPJ, number=n, code=f"{n:08d}")
            xml = nfe.make_nfe(issuer=CNPJ, number=n, issued_at=local, total=total, cfops=cfops, key=key)
            yield {"id": n, "organisation_id": client.id, "direction": "issued", "access_key": key, "model": "55",
                   "series": 1, "number": n, "issued_at": issued, "issuer_tax_id": CNPJ,
                   "issuer_name": "DISTRIBUIDORA AURORA LTDA", "recipient_tax_id": nfe.RECIPIENT,
                   "recipient_name": "PADARIA PAO DOURADO LTDA", "total": int(total.replace(".", "")),
                   "currency": "BRL", "status": "authorised", "status_code": "100",
                   "status_reason": "Autorizado o uso da NF-e", "cfops": list(cfops), "xml": zlib.compress(xml, 6),
                   "received_at": issued}

    Context(scale=1, seed=1, today=now, report=lambda _line: None).insert(FiscalDocument, rows())
    db.session.commit()
    return client.id


def _drain(chunks) -> tuple[int, int]:
    total = count = 0
    for chunk in chunks:
        total += len(chunk)
        count += 1
    return total, count


def _timed_and_peak(make) -> dict:
    """Seconds of one pass, then the peak of memory allocated during a second pass (tracemalloc)."""
    gc.collect()
    started = time.perf_counter()
    size, chunks = _drain(make())
    seconds = time.perf_counter() - started
    gc.collect()
    tracemalloc.start()
    try:
        _drain(make())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return {"s": round(seconds, 3), "peak_mib": round(peak / 2**20, 2), "bytes": size, "chunks": chunks}


def _floor(xmls: list[tuple[str, bytes]]) -> dict:
    """The same XMLs, already in memory, zipped whole into a BytesIO by zipfile (no database, no portal)."""
    def build():
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
            for name, packed in xmls:
                archive.writestr(name, zlib.decompress(packed))
        return [buffer.getvalue()]

    return _timed_and_peak(build)


def _login(app):
    client = app.test_client()
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").data).group(1).decode()
    if client.post("/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token}).status_code != 303:
        raise RuntimeError("the bench manager could not log in")
    return client


def _http(app, client_id: int, month: str) -> dict:
    """The manager's requests through the whole application: streamed, then prepared by the job."""
    from portal.extensions import huey

    browser = _login(app)
    page = browser.get(f"/reseller/clients/{client_id}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    form = {"csrf_token": token, "month": month, "model": "55"}
    figures = {}
    app.config["FISCAL_ZIP_PREPARE_FROM"] = 10**9  # streamed
    started = time.perf_counter()
    with browser.post(f"/reseller/clients/{client_id}/fiscal/xml", data=form) as response:
        if response.status_code != 200:
            raise RuntimeError(f"the month's ZIP answered {response.status_code}")
        size = len(response.get_data())
    figures["streamed download (POST)"] = {"s": round(time.perf_counter() - started, 3), "bytes": size}
    app.config["FISCAL_ZIP_PREPARE_FROM"] = 1
    immediate, huey.immediate = huey.immediate, True
    try:
        started = time.perf_counter()
        response = browser.post(f"/reseller/clients/{client_id}/fiscal/reports", data=form)
        if response.status_code != 303:
            raise RuntimeError(f"asking for a large month answered {response.status_code}")
        figures["large month: asked and prepared by the job (reports)"] = {
            "s": round(time.perf_counter() - started, 3)}
        progress = response.headers["Location"]
        for name, path, headers in (("progress page", progress, {}),
                                    ("progress (htmx fragment)", progress, {"HX-Request": "true"}),
                                    ("prepared file", progress + "/download", {})):
            started = time.perf_counter()
            with browser.get(path, headers=headers) as answer:
                body = answer.get_data()
                if answer.status_code != 200:
                    raise RuntimeError(f"{path} answered {answer.status_code}")
            figures[name] = {"s": round(time.perf_counter() - started, 3), "bytes": len(body)}
    finally:
        huey.immediate = immediate
    return figures


def measure(url: str, size: int, http: bool) -> dict:
    from portal import create_app
    from portal.extensions import db
    from portal.models import FiscalDocument, Organisation
    from portal.services.fiscal import month_zip, months

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secrets.token_urlsafe(32), "LOG_LEVEL": "WARNING",
                      "PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_KIB": 8, "PASSWORD_HASH_PARALLELISM": 1})
    now = datetime.now(UTC).replace(microsecond=0)
    result = {}
    with app.app_context(), app.test_request_context():
        started = time.perf_counter()
        client_id = prepare(size, now)
        result["prepared_s"] = round(time.perf_counter() - started, 1)
        db.session.remove()
        client = db.session.get(Organisation, client_id)
        month = months.current_month(client, now)
        if months.count_issued(client, month, "55") != size:
            raise RuntimeError("the month does not have the documents the bench wrote")
        result["streamed"] = _timed_and_peak(lambda: month_zip.month_zip(client, month, "55", month_zip.XMLS))
        result["streamed, with the summary PDF"] = _timed_and_peak(
            lambda: month_zip.month_zip(client, month, "55", month_zip.REPORTS, locale="pt_BR"))
        db.session.rollback()
        xmls = [(f"{key}.xml", packed) for key, packed in db.session.execute(
            db.select(FiscalDocument.access_key, FiscalDocument.xml).order_by(FiscalDocument.id))]
        result["floor"] = _floor(xmls)
        del xmls
        db.session.remove()
    if http:
        result["http"] = _http(app, client_id, month.code)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return result


def run(options) -> dict:
    """The bench.run suite: a month of 1,000 and of 10,000 NF-e (the same with --quick: it takes seconds)."""
    from bench.databases import scratch_database

    sizes = {}
    for size in SIZES:
        with scratch_database(options, f"fiscalzip{size}") as url:
            sizes[size] = measure(url, size, http=size == SIZES[-1])
    small, large = sizes[SIZES[0]], sizes[SIZES[-1]]
    figures = []
    for kind in ("streamed", "streamed, with the summary PDF", "floor"):
        label = "floor: the same XMLs zipped whole in memory" if kind == "floor" else f"month's ZIP {kind}"
        figures.append({"name": f"{label}, {SIZES[-1]:,} NF-e", "value": large[kind]["s"], "unit": "s",
                        "bar": None, "ok": None})
        growth = large[kind]["peak_mib"] - small[kind]["peak_mib"]
        # Streamed: what grows is the ZIP's central directory (~0.3 KB a file), not the XMLs (~2 KB each, zipped).
        bar = "< 10 % of the ZIP" if kind != "floor" else None
        ok = growth < 0.1 * large[kind]["bytes"] / 2**20 if kind != "floor" else None
        figures.append({"name": f"{label}: peak memory at {SIZES[0]:,} → {SIZES[-1]:,} NF-e",
                        "value": f"{small[kind]['peak_mib']} → {large[kind]['peak_mib']}", "unit": "MiB",
                        "bar": bar, "ok": ok})
    figures.append({"name": f"streamed ZIP time per floor time, {SIZES[-1]:,} NF-e",
                    "value": round(large["streamed"]["s"] / max(large["floor"]["s"], 1e-6), 2), "unit": "×",
                    "bar": None, "ok": None})
    figures.append({"name": f"ZIP of {SIZES[-1]:,} NF-e", "value": round(large["streamed"]["bytes"] / 2**20, 2),
                    "unit": "MiB", "bar": None, "ok": None})
    for name, values in large.get("http", {}).items():
        figures.append({"name": f"HTTP {name}, {SIZES[-1]:,} NF-e", "value": values["s"], "unit": "s", "bar": None,
                        "ok": None})
    return {"sizes": {str(size): figures for size, figures in sizes.items()}, "figures": figures}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fiscal_zip", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the same sizes: the suite takes seconds")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--results-dir", type=Path, default=bench.RESULTS_DIR)
    options = parser.parse_args(argv)
    options.results_dir = options.results_dir.resolve()
    result = run(options)
    for figure in result["figures"]:
        ok = "" if figure["ok"] is None else ("  ok" if figure["ok"] else "  OVER BAR")
        bar = f"  (bar {figure['bar']})" if figure["bar"] else ""
        print(f"  {figure['name']:<72} {figure['value']!s:>16} {figure['unit']}{bar}{ok}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
