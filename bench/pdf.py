"""P4: invoice PDFs — rendering a 1-page and a 3-page invoice, and downloading one whose PDF is already kept.

    python -m bench.pdf [--quick] [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

In a portal app on a fresh database (SQLite, or one on the PostgreSQL server of --database-url), a vendor and
a Chilean customer with accents in its name get two invoices issued by the invoicing service: one of a few
lines, one of 52 lines in 3 installments (three pages). Each is drawn by portal/services/billing/pdf.py
(`render_invoice_pdf`, what the PDF job does between reading the invoice and keeping the file): the first
drawing in the process (fonts registered, template compiled), then the median of several. The 1-page PDF is
kept (portal/workflows/invoice_pdfs.py's `render_and_store`) and downloaded through the customer's route by a
logged-in user, as a browser does, many times: the median is the stored-PDF figure. The text of each PDF is
read back with pypdf to check its page count and that ç, ã, ñ, € and → are printed, not dropped. Last, one
process per CPU (as many as a deployment's PDF job workers) draws the 1-page invoice over and over for a few
seconds at once: their PDFs/s together say how long a month of 100,000 invoices takes on this machine.
"""

import argparse
import io
import json
import multiprocessing
import os
import re
import secrets
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from pypdf import PdfReader

import bench
from bench.databases import scratch_job_queue
from bench.generate import GenerateError

QUICK_RENDERS, FULL_RENDERS = 5, 20
QUICK_DOWNLOADS, FULL_DOWNLOADS = 50, 500
BAR_ONE_PAGE_MS, BAR_FIRST_MS, BAR_STORED_MS = 40, 150, 5
QUICK_SECONDS, FULL_SECONDS = 5, 20
MONTH_OF_INVOICES, BAR_MONTH_MINUTES = 100_000, 30
GLYPHS = "çãñ€→"
PASSWORD = secrets.token_urlsafe(12)
EMAIL = "bench.pdf@vitrine.bench"
ONE_PAGE_LINES = [
    ("Plan Pyme mensual → facturación electrónica", 1, 29_990),
    ("Usuario adicional (configuração avançada)", 3, 4_990),
    ("Soporte en euros €: año, señal, ñandú", 2, 10_000),
    ("Integración con contabilidad — ç ã ñ € →", 1, 15_000),
]
THREE_PAGE_LINES = [(f"Módulo de facturación electrónica número {n} → configuração, ñ, €", 1 + n % 3, 1_000 + n)
                    for n in range(52)]


def pdf_text(content: bytes) -> list[str]:
    """The text of every page, with the non-breaking spaces of formatted numbers made plain."""
    return [re.sub(r"[\u00a0\u202f]", " ", page.extract_text()) for page in PdfReader(io.BytesIO(content)).pages]


def prepare(now: datetime) -> dict[str, int]:
    """A vendor, a customer with a user who can log in, and the two invoices; returns their ids."""
    from portal.extensions import db
    from portal.services.accounts import organisations as accounts
    from portal.services.billing import invoicing
    from portal.services.billing.rules import LineSpec

    db.create_all()
    invoicing.install_defaults()
    accounts.create_organisation("vendor", "Vitrine Software SpA", "CL", "76.543.210-3",
                                 address="Av. Providencia 1208, of. 504, Providencia, Santiago")
    customer = accounts.create_organisation("customer", "Panadería Ñandú e Irmãos Ltda.", "CL", "77.123.456-9",
                                            address="Av. Pajaritos 2150, Maipú, Santiago")
    user = accounts.create_user(EMAIL, "Bench Pdf", PASSWORD, locale="es")
    accounts.add_membership(user, customer, "admin")

    def lines(specs):
        return [LineSpec("one_time", description, unit, quantity) for description, quantity, unit in specs]

    one = invoicing.issue_invoice(customer, customer.currency, lines(ONE_PAGE_LINES), now)
    three = invoicing.issue_invoice(customer, customer.currency, lines(THREE_PAGE_LINES), now, installments=3)
    db.session.commit()
    return {"one_page": one.id, "three_pages": three.id}


def time_renders(invoice_id: int, renders: int) -> dict:
    """Draw the invoice `renders` + 1 times: the first drawing, the median of the others, and the PDF's checks."""
    from portal.extensions import db
    from portal.services.billing import pdf as invoice_pdf

    invoice = invoice_pdf.load_for_pdf(invoice_id)
    instructions = invoice_pdf.payment_instructions(invoice)
    db.session.commit()
    times, cpu = [], []
    content = b""
    for _ in range(renders + 1):
        started, started_cpu = time.perf_counter(), time.process_time()
        content = invoice_pdf.render_invoice_pdf(invoice, instructions)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    pages = pdf_text(content)
    text = " ".join(pages)
    missing = [glyph for glyph in GLYPHS if glyph not in text]
    return {"first_ms": round(times[0], 1), "median_ms": round(statistics.median(times[1:]), 1),
            "min_ms": round(min(times[1:]), 1), "max_ms": round(max(times[1:]), 1), "renders": renders,
            "cpu_median_ms": round(statistics.median(cpu[1:]), 1),
            "pages": len(pages), "bytes": len(content), "missing_glyphs": "".join(missing),
            "number_printed": invoice.display_number in text}


def _render_for(url: str, invoice_id: int, seconds: float, start, results) -> None:
    """One worker process: the app, the invoice read once, then drawings until `seconds` after `start`."""
    from portal import create_app
    from portal.extensions import db
    from portal.services.billing import pdf as invoice_pdf

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secrets.token_urlsafe(32)})
    with app.app_context():
        invoice = invoice_pdf.load_for_pdf(invoice_id)
        instructions = invoice_pdf.payment_instructions(invoice)
        db.session.commit()
        invoice_pdf.render_invoice_pdf(invoice, instructions)  # the first drawing: fonts, template
        db.engine.dispose()
        start.wait()
        rendered, began, began_cpu = 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - began < seconds:
            invoice_pdf.render_invoice_pdf(invoice, instructions)
            rendered += 1
        results.put((rendered, time.perf_counter() - began, time.process_time() - began_cpu))


def time_workers(url: str, invoice_id: int, seconds: float, workers: int) -> dict:
    """`workers` processes drawing the invoice at the same time: PDFs per second together."""
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(workers), context.Queue()
    processes = [context.Process(target=_render_for, args=(url, invoice_id, seconds, start, results))
                 for _ in range(workers)]
    for process in processes:
        process.start()
    found = [results.get(timeout=seconds + 300) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    per_second = sum(rendered / elapsed for rendered, elapsed, _cpu in found)
    pdfs = sum(rendered for rendered, _elapsed, _cpu in found)
    cpu_ms = 1000 * sum(cpu for _rendered, _elapsed, cpu in found) / pdfs
    # What the same CPU time per PDF would give if the workers had the machine's CPUs to themselves.
    alone_per_second = workers * 1000 / cpu_ms
    return {"workers": workers, "seconds": seconds, "pdfs": pdfs, "pdfs_per_second": round(per_second, 1),
            "month_minutes": round(MONTH_OF_INVOICES / per_second / 60, 1), "cpu_ms_per_pdf": round(cpu_ms, 1),
            "alone_pdfs_per_second": round(alone_per_second, 1),
            "alone_month_minutes": round(MONTH_OF_INVOICES / alone_per_second / 60, 1)}


def time_downloads(app, invoice_id: int, downloads: int) -> dict:
    """Keep the invoice's PDF, then download it through the customer's route `downloads` times. Called outside
    any app context: each request has its own, as in production."""
    from flask import url_for

    from portal.extensions import db
    from portal.services.billing import pdf as invoice_pdf
    from portal.workflows import invoice_pdfs

    with app.app_context():
        stored = invoice_pdfs.render_and_store(invoice_id)
        service, found_sha256 = [], None
        for _ in range(downloads):
            started = time.perf_counter()
            found = invoice_pdf.stored_pdf(invoice_id)
            service.append((time.perf_counter() - started) * 1000)
            found_sha256 = found.sha256 if found is not None else None
            db.session.rollback()
            db.session.expunge_all()
        db.session.remove()
    with app.test_request_context():
        path = url_for("customer.invoice_pdf", invoice_id=invoice_id)
    client = app.test_client()
    login = client.post("/login", data={"email": EMAIL, "password": PASSWORD})
    if login.status_code != 303:
        raise RuntimeError(f"the bench user could not log in: {login.status_code} {login.get_data(as_text=True)[:300]}")
    times, cpu = [], []
    body = b""
    for _ in range(downloads + 5):  # the first few warm the route up
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(path)
        body = response.get_data()
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}: {response.get_data(as_text=True)[:300]}")
    times = sorted(times[5:])
    return {"path": path, "downloads": downloads, "median_ms": round(statistics.median(times), 2),
            "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 2),
            "cpu_median_ms": round(statistics.median(cpu[5:]), 2),
            "service_median_ms": round(statistics.median(service), 2), "bytes": len(body),
            "same_file": body == stored.content and found_sha256 == stored.sha256}


def measure(url: str, options) -> dict:
    from portal import create_app
    from portal.extensions import db

    renders = QUICK_RENDERS if options.quick else FULL_RENDERS
    downloads = QUICK_DOWNLOADS if options.quick else FULL_DOWNLOADS
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secrets.token_urlsafe(32),
                      "WTF_CSRF_ENABLED": False, "SESSION_COOKIE_SECURE": False,
                      "PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_KIB": 8, "PASSWORD_HASH_PARALLELISM": 1})
    queue = Path(options.results_dir) / f"pdf-jobs-{time.time_ns()}"
    with scratch_job_queue(queue, "vitrine-bench-pdf"):
        with app.app_context():
            ids = prepare(datetime.now(UTC).replace(microsecond=0))
            one = time_renders(ids["one_page"], renders)
            print(f"    1-page invoice: first {one['first_ms']} ms, median {one['median_ms']} ms of {renders}")
            three = time_renders(ids["three_pages"], renders)
            print(f"    3-page invoice: first {three['first_ms']} ms, median {three['median_ms']} ms of {renders}")
            db.session.remove()
        stored = time_downloads(app, ids["one_page"], downloads)
        print(f"    stored PDF through {stored['path']}: median {stored['median_ms']} ms of {downloads}")
        with app.app_context():
            db.engine.dispose()
        workers = time_workers(url, ids["one_page"], QUICK_SECONDS if options.quick else FULL_SECONDS,
                               len(os.sched_getaffinity(0)))
        print(f"    {workers['workers']} processes at once: {workers['pdfs_per_second']} PDFs/s, "
              f"{MONTH_OF_INVOICES:,} in {workers['month_minutes']} min")
    return {"database": "PostgreSQL" if url.startswith("postgresql") else "SQLite", "one_page": one,
            "three_pages": three, "stored": stored, "workers": workers}


def run(options) -> dict:
    """P4 on a scratch database of the run (SQLite, or the PostgreSQL server of --database-url)."""
    from bench.databases import scratch_database

    with scratch_database(options, "pdf") as url:
        found = measure(url, options)
    one, three, stored, workers = found["one_page"], found["three_pages"], found["stored"], found["workers"]
    figures = [
        {"name": "P4 render, 1-page invoice (median)", "value": one["median_ms"], "unit": "ms",
         "bar": f"≤ {BAR_ONE_PAGE_MS}", "ok": one["median_ms"] <= BAR_ONE_PAGE_MS},
        {"name": "P4 render, 1-page invoice (median CPU time)", "value": one["cpu_median_ms"], "unit": "ms",
         "bar": "", "ok": None},
        {"name": "P4 render, 1-page invoice (first in the process)", "value": one["first_ms"], "unit": "ms",
         "bar": f"≤ {BAR_FIRST_MS}", "ok": one["first_ms"] <= BAR_FIRST_MS},
        {"name": f"P4 1-page PDFs/s, {workers['workers']} processes at once ({workers['seconds']} s)",
         "value": workers["pdfs_per_second"], "unit": "/s",
         "bar": f"≥ {MONTH_OF_INVOICES / BAR_MONTH_MINUTES / 60:.1f}",
         "ok": workers["month_minutes"] <= BAR_MONTH_MINUTES},
        {"name": f"P4 a month of {MONTH_OF_INVOICES:,} PDFs at that pace", "value": workers["month_minutes"],
         "unit": "min", "bar": f"≤ {BAR_MONTH_MINUTES}", "ok": workers["month_minutes"] <= BAR_MONTH_MINUTES},
        {"name": "P4 CPU time per PDF in those processes / the month if they had the CPUs to themselves",
         "value": f"{workers['cpu_ms_per_pdf']} ms / {workers['alone_month_minutes']} min", "unit": "", "bar": "",
         "ok": None},
        {"name": "P4 render, 3-page invoice (median)", "value": three["median_ms"], "unit": "ms", "bar": "",
         "ok": None},
        {"name": "P4 render, 3-page invoice (first)", "value": three["first_ms"], "unit": "ms", "bar": "",
         "ok": None},
        {"name": "P4 pages drawn, 1-page / 3-page", "value": f"{one['pages']} / {three['pages']}", "unit": "",
         "bar": "1 / 3", "ok": one["pages"] == 1 and three["pages"] == 3},
        {"name": f"P4 stored PDF download, {found['database']} (median)", "value": stored["median_ms"],
         "unit": "ms", "bar": f"≤ {BAR_STORED_MS}", "ok": stored["median_ms"] <= BAR_STORED_MS},
        {"name": "P4 stored PDF download p99 / median CPU time / service lookup median",
         "value": f"{stored['p99_ms']} / {stored['cpu_median_ms']} / {stored['service_median_ms']}", "unit": "ms",
         "bar": "", "ok": None},
        {"name": "P4 download is the kept file", "value": f"{stored['bytes']:,} bytes", "unit": "", "bar": "same",
         "ok": stored["same_file"]},
        {"name": f"P4 missing glyphs of {' '.join(GLYPHS)}",
         "value": (one["missing_glyphs"] + three["missing_glyphs"]) or "none", "unit": "", "bar": "none",
         "ok": not one["missing_glyphs"] and not three["missing_glyphs"]},
    ]
    return {"figures": figures, **found}


def main(argv=None) -> int:
    from bench.report import print_suite

    parser = argparse.ArgumentParser(prog="python -m bench.pdf", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_RENDERS} renders, {QUICK_DOWNLOADS} downloads and {QUICK_SECONDS} s of "
                             f"workers instead of {FULL_RENDERS}, {FULL_DOWNLOADS} and {FULL_SECONDS} s")
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL server to make the scratch database on (default: a SQLite file)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--results-dir", type=Path, default=bench.RESULTS_DIR)
    options = parser.parse_args(argv)
    if options.database_url and not options.database_url.startswith("postgresql"):
        parser.error("--database-url must be a PostgreSQL server URL (leave it out for SQLite)")
    options.scale, options.data_url = 0.01, None
    options.results_dir = options.results_dir.resolve()
    try:
        result = run(options)
    except GenerateError as error:
        print(f"bench.pdf: {error}", file=sys.stderr)
        return 2
    print_suite("pdf", result)
    print(json.dumps({key: result[key] for key in ("database", "one_page", "three_pages", "stored", "workers")},
                     indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
