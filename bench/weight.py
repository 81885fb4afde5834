"""P1: what every page weighs on first load — HTML, and the same-origin CSS and JS it references — raw and
gzipped (level 9), the median htmx fragment gzipped, and any reference to another origin (there must be none).
QUALITY.md holds CSS+JS at 26 KB gz with every capability landed, our own JS (everything but static/vendor/)
at 3 KB gz: the budget left of each is reported, so that each feature's CSS and JS is weighed against it.
"""

import gzip
import re
import statistics
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from bench.pages import ALL
from bench.portal import Portal
from bench.server import fetch

BARS = {"assets_gz": 26 * 1024, "own_js_gz": 3 * 1024, "html_gz": 20 * 1024, "fragment_gz_median": 2 * 1024}
VENDORED = "/static/vendor/"
FONT_EXTENSIONS = (".woff", ".woff2", ".ttf", ".otf", ".eot")
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)|@import\s+['"]([^'"]+)['"]""")


class References(HTMLParser):
    """Everything a page makes the browser load: stylesheets, scripts, images, icons, frames, media."""

    LOADING = {("link", "href"), ("script", "src"), ("img", "src"), ("iframe", "src"), ("source", "src"),
               ("video", "src"), ("audio", "src"), ("object", "data"), ("embed", "src"), ("input", "src")}

    def __init__(self):
        super().__init__()
        self.css: list[str] = []
        self.js: list[str] = []
        self.other: list[str] = []
        self.inline_css: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "style":
            self._in_style = True
        if tag == "link" and "stylesheet" in (attributes.get("rel") or "").split():
            self.css.append(attributes.get("href") or "")
        elif tag == "link" and (attributes.get("as") == "script" or "modulepreload" in (attributes.get("rel") or "")):
            self.js.append(attributes.get("href") or "")
        elif tag == "script" and attributes.get("src"):
            self.js.append(attributes["src"])
        else:
            for element, attribute in self.LOADING:
                if tag == element and attributes.get(attribute):
                    rel = (attributes.get("rel") or "").split()
                    if tag == "link" and set(rel) & {"canonical", "alternate", "author", "help", "license"}:
                        continue
                    self.other.append(attributes[attribute])
            for candidate in (attributes.get("srcset") or "").split(","):
                if candidate.strip():
                    self.other.append(candidate.split()[0])
        if attributes.get("style"):
            self.inline_css.append(attributes["style"])

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.inline_css.append(data)


def gz(body: bytes) -> int:
    return len(gzip.compress(body, 9))


def _foreign(url: str, origin: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", ""):
        return bool(parts.netloc) and f"http://{parts.netloc}" != origin  # protocol-relative //host/…
    return f"{parts.scheme}://{parts.netloc}" != origin


def measure(portal: Portal) -> dict:
    """Weights of every main page and of the fragments, with the bars judged."""
    origin = portal.base
    assets: dict[str, tuple[int, int, str]] = {}  # url → (raw, gz, kind)
    foreign: set[str] = set()
    fonts: set[str] = set()
    pages = []

    def asset(url: str, kind: str) -> tuple[int, int]:
        absolute = urljoin(origin + "/", url)
        if _foreign(absolute, origin):
            foreign.add(absolute)
            return 0, 0
        if absolute not in assets:
            response = fetch(origin, urlsplit(absolute).path + (f"?{urlsplit(absolute).query}"
                                                                 if urlsplit(absolute).query else ""))
            assets[absolute] = (len(response.body), gz(response.body), kind)
            if kind == "css":
                _scan_css(response.text, absolute)
        return assets[absolute][:2]

    def _scan_css(text: str, base: str) -> None:
        for match in CSS_URL.finditer(text):
            reference = urljoin(base, match.group(1) or match.group(2))
            if _foreign(reference, origin):
                foreign.add(reference)
            if reference.lower().split("?")[0].endswith(FONT_EXTENSIONS):
                fonts.add(reference)
        if "@font-face" in text:
            fonts.add(f"@font-face in {base}")

    for page in ALL:
        if page.kind != "page" or page.method != "GET":
            continue
        response = portal.fetch(page)
        parser = References()
        parser.feed(response.text)
        css = [asset(url, "css") for url in parser.css]
        js = [asset(url, "js") for url in parser.js]
        for url in parser.other:
            absolute = urljoin(origin + "/", url)
            if _foreign(absolute, origin):
                foreign.add(absolute)
        for block in parser.inline_css:
            _scan_css(block, origin + "/")
        assets_raw = sum(raw for raw, _gz in css + js)
        assets_gz = sum(zipped for _raw, zipped in css + js)
        html_gz = gz(response.body)
        pages.append({"page": page.label, "status": response.status, "html_bytes": len(response.body),
                      "html_gz": html_gz, "css_js_bytes": assets_raw, "css_js_gz": assets_gz,
                      "css_files": len(css), "js_files": len(js),
                      "ok_html": html_gz <= BARS["html_gz"], "ok_assets": assets_gz <= BARS["assets_gz"]})

    fragments = []
    for page in ALL:
        if page.kind == "fragment":
            response = portal.fetch(page)
            fragments.append({"page": page.label, "status": response.status, "bytes": len(response.body),
                              "gz": gz(response.body)})
    median = statistics.median(f["gz"] for f in fragments) if fragments else 0
    max_css_js_gz = max((p["css_js_gz"] for p in pages), default=0)
    own_js_gz = sum(zipped for url, (_raw, zipped, kind) in assets.items()
                    if kind == "js" and VENDORED not in urlsplit(url).path)
    return {
        "pages": pages, "fragments": fragments,
        "assets": [{"url": url.removeprefix(origin), "kind": kind, "bytes": raw, "gz": zipped}
                   for url, (raw, zipped, kind) in sorted(assets.items())],
        "fragment_gz_median": median, "ok_fragments": median <= BARS["fragment_gz_median"],
        "foreign_references": sorted(foreign), "web_fonts": sorted(fonts),
        "ok_no_foreign": not foreign, "ok_no_fonts": not fonts,
        "max_css_js_gz": max_css_js_gz,
        "max_html_gz": max((p["html_gz"] for p in pages), default=0),
        "budget": {"css_js_gz_bar": BARS["assets_gz"], "css_js_gz_left": BARS["assets_gz"] - max_css_js_gz,
                   "own_js_gz": own_js_gz, "own_js_gz_bar": BARS["own_js_gz"],
                   "own_js_gz_left": BARS["own_js_gz"] - own_js_gz, "ok_own_js": own_js_gz <= BARS["own_js_gz"]},
    }
