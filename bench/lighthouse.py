"""P2: Lighthouse (mobile default: slow 4G, 4× CPU) and axe-core on every main page of every role.

Lighthouse comes from npm into bench/node_modules (git-ignored), installed only when absent; axe-core is the
test suite's vendored copy (tests/browser/vendor/axe-core/).
Lighthouse drives Debian's Chromium (CHROME_PATH) headless, logged in through `--extra-headers`
(the session cookie); axe-core is injected by Playwright into the same pages at 1280 px and 390 px.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

from bench.pages import ALL
from bench.portal import Portal
from bench.server import HarnessError, run_bounded

BENCH_DIR = Path(__file__).resolve().parent
NODE_MODULES = BENCH_DIR / "node_modules"
LIGHTHOUSE = NODE_MODULES / ".bin" / "lighthouse"
AXE = BENCH_DIR.parent / "tests" / "browser" / "vendor" / "axe-core" / "axe.min.js"
NPM_PACKAGES = ("lighthouse@12.8.2",)  # lighthouse 13 needs Node 22; Debian has 20
CHROMIUM = "/usr/bin/chromium"
CHROME_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
CATEGORIES = ("performance", "accessibility", "best-practices")
BARS = {"performance": 98, "accessibility": 100, "best-practices": 100}
WIDTHS = (1280, 390)
ATTEMPTS = 3


def ensure_tools() -> None:
    """Install Lighthouse from npm into bench/node_modules unless it is there."""
    if LIGHTHOUSE.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise HarnessError("npm is not installed (apt-get install npm), or run with --no-lighthouse")
    result = run_bounded([npm, "install", "--prefix", str(BENCH_DIR), "--no-save", "--no-audit", "--no-fund",
                          *NPM_PACKAGES], timeout=600)
    if result.returncode != 0 or not LIGHTHOUSE.exists():
        raise HarnessError(f"npm install of {' '.join(NPM_PACKAGES)} failed: {result.stderr.strip()[-400:]}")


def main_pages() -> list:
    return [page for page in ALL if page.is_main]


def lighthouse(portal: Portal, page, report_dir: Path) -> dict:
    session = portal.session(page)
    slug = page.label.replace("/", "-").replace(" ", "-")
    output = report_dir / f"{slug}.json"
    headers = report_dir / f"{slug}.headers.json"  # a file, so the cookie is not on a command line
    headers.write_text(json.dumps({"Cookie": session.cookie_header()} if session.cookies else {}))
    command = [str(LIGHTHOUSE), portal.base + portal.url(page), "--output=json", f"--output-path={output}",
               "--quiet", f"--only-categories={','.join(CATEGORIES)}", f"--extra-headers={headers}",
               f"--chrome-flags={' '.join(CHROME_FLAGS)}", "--max-wait-for-load=30000"]
    env = {**os.environ, "CHROME_PATH": CHROMIUM}
    try:
        for _attempt in range(ATTEMPTS):  # Lighthouse's trace recording fails now and then (NO_NAVSTART)
            output.unlink(missing_ok=True)
            result = run_bounded(command, timeout=180, env=env)
            if result.returncode == 0 and output.exists():
                break
        else:
            raise HarnessError(f"lighthouse failed {ATTEMPTS}× on {page.label}: {result.stderr.strip()[-300:]}")
    finally:
        headers.unlink(missing_ok=True)
    report = json.loads(output.read_text())
    scores = {name: round((report["categories"][name]["score"] or 0) * 100) for name in CATEGORIES}
    failing = sorted(
        audit["id"] for audit in report["audits"].values()
        if audit.get("score") is not None and audit["score"] < 1 and audit.get("scoreDisplayMode") == "binary")
    metrics = {key: round(report["audits"][key].get("numericValue") or 0)
               for key in ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time",
                           "cumulative-layout-shift", "speed-index") if key in report["audits"]}
    return {"page": page.label, "url": portal.url(page), **scores, "failing_audits": failing, "metrics_ms": metrics,
            "final_url": report.get("finalDisplayedUrl") or report.get("finalUrl"),
            **{f"ok_{name}": scores[name] >= bar for name, bar in BARS.items()}}


def axe(portal: Portal, pages: list) -> list[dict]:
    """axe-core's violations per page, at desktop and phone widths."""
    from playwright.sync_api import sync_playwright

    source = AXE.read_text()
    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROME_FLAGS[1:])
        try:
            for page in pages:
                session = portal.session(page)
                for width in WIDTHS:
                    # bypass_csp: the portal's CSP (rightly) refuses the injected axe script.
                    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
                    try:
                        if session.cookies:
                            context.add_cookies([{"name": k, "value": v, "url": portal.base}
                                                 for k, v in session.cookies.items()])
                        tab = context.new_page()
                        response = tab.goto(portal.base + portal.url(page), wait_until="load")
                        tab.add_script_tag(content=source)
                        result = tab.evaluate("axe.run(document, {resultTypes: ['violations']})")
                    finally:
                        context.close()
                    violations = [{"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"]), "help": v["help"],
                                   "targets": [", ".join(map(str, n["target"])) for n in v["nodes"][:3]]}
                                  for v in result["violations"]]
                    rows.append({"page": page.label, "width": width, "status": response.status if response else None,
                                 "violations": violations, "ok": not violations})
        finally:
            browser.close()
    return rows


def measure(portal: Portal, results_dir: Path, quick: bool) -> dict:
    """Lighthouse and axe over the main pages (in --quick, the first page of each role and the login)."""
    ensure_tools()
    pages = main_pages()
    if quick:
        seen, chosen = set(), []
        for page in pages:
            if page.role not in seen:
                seen.add(page.role)
                chosen.append(page)
        pages = chosen
    report_dir = results_dir / "lighthouse"
    report_dir.mkdir(parents=True, exist_ok=True)
    scores, errors = [], []
    for page in pages:
        try:
            scores.append(lighthouse(portal, page, report_dir))
        except HarnessError as error:  # one page's failure must not hide the others' scores
            errors.append(str(error))
    violations = axe(portal, pages)
    return {
        "lighthouse": scores, "axe": violations, "errors": errors,
        "min_scores": {name: min((row[name] for row in scores), default=None) for name in CATEGORIES},
        "pages_meeting_all": sum(all(row[f"ok_{name}"] for name in BARS) for row in scores),
        "axe_violations": sum(len(row["violations"]) for row in violations),
    }


def version() -> str | None:
    if not LIGHTHOUSE.exists():
        return None
    try:
        return subprocess.run([str(LIGHTHOUSE), "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
