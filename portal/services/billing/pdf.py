"""Invoice PDFs: rendered once from the issued data with xhtml2pdf, kept in the database, served as stored.

A PDF is drawn in the invoice's own language, with dates in the customer's time zone, and with the
DejaVu fonts embedded so that every accented letter and symbol prints. Drawing reads only what is loaded
on the invoice; portal/workflows/invoice_pdfs.py reads, draws and keeps the file in its own session.
"""

import functools
import io
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from sqlalchemy.orm import selectinload
from xhtml2pdf import context as xhtml2pdf_context
from xhtml2pdf import default as xhtml2pdf_default
from xhtml2pdf import pisa
from xhtml2pdf.config.resources import ResourceAccessPolicy

from portal.extensions import db
from portal.models import BillingSettings, Invoice, InvoicePdf
from portal.services.accounts.taxid import format_tax_id, tax_id_label

FONTS_DIR = Path(__file__).resolve().parents[2] / "fonts"
FONT_REGULAR = FONTS_DIR / "DejaVuSans.ttf"
FONT_BOLD = FONTS_DIR / "DejaVuSans-Bold.ttf"
TEMPLATE = "pdf/invoice.html"
# Nothing from the network, and local reads only from the fonts folder: lines and names are the
# customer's text, and a PDF must never fetch anything on their behalf.
_POLICY = ResourceAccessPolicy.server(FONTS_DIR, allow_remote=False)
STYLESHEET = "pdf/invoice.css"
# xhtml2pdf's default stylesheet styles every HTML element and is parsed again, and matched against each
# element, on every render. The invoice uses a dozen elements: these are xhtml2pdf's defaults for them, as it
# writes them; the invoice's own rules (STYLESHEET) follow them, in the same stylesheet (see `_stylesheet`).
_BASE_CSS = """
html { font-family: Helvetica; font-size: 10px; font-weight: normal; color: #000000; margin: 0; padding: 0;
  line-height: 150%; border: 1px none; display: inline; width: auto; height: auto; white-space: normal; }
b { font-weight: bold; }
h2 { font-weight: bold; -pdf-outline: true; -pdf-outline-open: false; font-size: 123.1%; -pdf-outline-level: 1; }
h2, p { margin: 1em 0; }
body, div, h2, p, table, tr, th, td { display: block; }
tr, th, td { vertical-align: middle; width: auto; }
th { text-align: center; font-weight: bold; }
"""
# Whitespace between two tags: the template never puts two inline elements side by side, so it prints nothing,
# but html5lib and xhtml2pdf make a node of each run of it.
_BETWEEN_TAGS = re.compile(r">\s+<")


@functools.cache
def register_fonts() -> str:
    """Register DejaVu Sans (and its bold) with ReportLab once per process and name the family for xhtml2pdf.

    An @font-face in the template would have xhtml2pdf read and hash both font files on every render;
    registered once, a render only embeds the glyphs it used. Returns the CSS family name.
    """
    pdfmetrics.registerFont(TTFont("DejaVuSans", str(FONT_REGULAR)))
    pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(FONT_BOLD)))
    pdfmetrics.registerFontFamily("DejaVuSans", normal="DejaVuSans", bold="DejaVuSans-Bold",
                                  italic="DejaVuSans", boldItalic="DejaVuSans-Bold")
    xhtml2pdf_default.DEFAULT_FONT["dejavu sans"] = "DejaVuSans"
    return "DejaVu Sans"


@functools.cache
def _stylesheet() -> str:
    """The stylesheet every invoice is drawn with, parsed by xhtml2pdf once per process.

    xhtml2pdf parses a document's stylesheets on every render (~10% of drawing a one-page invoice). This one is
    the same for every invoice: it goes in as xhtml2pdf's default stylesheet (`default_css`), and the parse of
    that text is kept and handed to every later render in the process. Only the @page rule, which makes the
    page's frames on the document being drawn, stays in the template and is parsed each time. The rules sit
    below the document's (none but @page) in the cascade, which changes nothing here: they are all there is."""
    shades = current_app.extensions["vitrine_brand"].shades  # portal/branding.py: the vendor's colour, if set
    rules = current_app.jinja_env.get_template(STYLESHEET).render(
        font_family=register_fonts(), brand_colour=shades.get("brand", "#0b5cab"),
        brand_dark=shades.get("brand-dark", "#084886"), brand_tint=shades.get("brand-tint", "#e6f0fa"))
    text = f"{_BASE_CSS.strip()}\n{rules.strip()}"
    parse = getattr(xhtml2pdf_context.pisaContext, "_parseCSSSource", None)
    if parse is not None and not getattr(parse, "keeps_parsed", False):
        kept: dict[str, object] = {}
        expected = text.strip() + "\n"  # what pisaContext.addDefaultCSS hands the parser

        @functools.wraps(parse)
        def parse_keeping_the_invoice_stylesheet(context, source, source_name):
            if source != expected:
                return parse(context, source, source_name)
            if source not in kept:
                kept[source] = parse(context, source, source_name)
            return kept[source]

        parse_keeping_the_invoice_stylesheet.keeps_parsed = True
        xhtml2pdf_context.pisaContext._parseCSSSource = parse_keeping_the_invoice_stylesheet
    return text


class PdfRenderError(RuntimeError):
    """xhtml2pdf could not draw the document (a bug in the template, never the customer's data)."""


@dataclass(frozen=True)
class Party:
    """One side of the invoice as printed: from the fiscal snapshot taken at issue."""

    name: str
    trade_name: str | None
    tax_id: str
    tax_id_label: str
    address: str | None
    country: str | None
    email: str | None
    phone: str | None


def party(snapshot: dict | None, fallback=None) -> Party:
    """The printed fiscal data of a snapshot; an empty snapshot (never issued) falls back to the live organisation."""
    data = dict(snapshot or {})
    if not data and fallback is not None:
        data = {"name": fallback.name, "trade_name": fallback.trade_name, "tax_id": fallback.tax_id,
                "address": fallback.address, "country": fallback.country, "phone": fallback.phone}
    country = data.get("country")
    emails = data.get("emails") or data.get("invoice_emails")
    email = data.get("email") or (", ".join(emails) if isinstance(emails, list | tuple) else emails)
    name = data.get("legal_name") or data.get("name") or ""
    trade_name = data.get("trade_name")
    return Party(
        name=name,
        trade_name=trade_name if trade_name and trade_name != name else None,
        tax_id=format_tax_id(country, data.get("tax_id")) if country else (data.get("tax_id") or ""),
        tax_id_label=data.get("tax_id_label") or (tax_id_label(country) if country else "") or _("Tax ID"),
        address=data.get("address"),
        country=country,
        email=email or None,
        phone=data.get("phone"),
    )


def invoice_timezone(invoice: Invoice) -> ZoneInfo:
    """The customer's time zone: the one in the snapshot, else the organisation's."""
    name = (invoice.customer_snapshot or {}).get("timezone") or invoice.organisation.timezone
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_date(invoice: Invoice, moment: datetime | None):
    """The customer's calendar date of `moment` (01:00 UTC is still the day before in Chile)."""
    if moment is None:
        return None
    return moment.astimezone(invoice_timezone(invoice)).date()


def document_title(invoice: Invoice) -> str:
    return _("Credit note") if invoice.kind == "credit_note" else _("Invoice")


def pdf_filename(invoice: Invoice) -> str:
    """A file name in the invoice's language: factura-F000123.pdf, fatura-F000123.pdf, credit-note-NC000004.pdf."""
    with force_locale(invoice.locale):
        if invoice.kind == "credit_note":
            name = _("credit-note-%(number)s.pdf", number=invoice.display_number)
        else:
            name = _("invoice-%(number)s.pdf", number=invoice.display_number)
    # A translation may bring accents or spaces; a download name is kept to plain ASCII letters and dashes.
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9]+", "-", ascii_name.removesuffix(".pdf")).strip("-")
    return f"{stem or invoice.display_number}.pdf"


def payment_instructions(invoice: Invoice, session=None) -> str | None:
    """What the vendor tells customers of the invoice's country about paying (BillingSettings), if anything."""
    session = session or db.session
    settings = session.scalar(db.select(BillingSettings).order_by(BillingSettings.id).limit(1))
    if settings is None or not settings.payment_instructions:
        return None
    country = (invoice.customer_snapshot or {}).get("country") or invoice.organisation.country
    return settings.payment_instructions.get(country) or settings.payment_instructions.get("*")


def _formatters(invoice: Invoice) -> dict:
    locale = invoice.locale

    def date(moment):
        day = local_date(invoice, moment)
        return format_date(day, "medium", locale=locale) if day else ""

    def quantity(value):
        return format_decimal(value, locale=locale)

    def rate(basis_points):
        return format_percent(Decimal(basis_points) / 10_000, "#,##0.##%", locale=locale)

    def period_parts(start, end):
        # A period ends where the next begins: the last day printed is the day before its end.
        last = local_date(invoice, end - timedelta(seconds=1))
        return date(start), format_date(last, "medium", locale=locale)

    def period(start, end):
        return " – ".join(period_parts(start, end))

    return {"date": date, "quantity": quantity, "rate": rate, "period": period, "period_parts": period_parts,
            "taxes_by_rate": taxes_by_rate}


def taxes_by_rate(invoice: Invoice) -> list[tuple[int, int]]:
    """The invoice's tax per rate, for the totals: [(1900, 5_700)]; a rate with no tax is left out."""
    totals: dict[int, int] = {}
    for line in invoice.lines:
        totals[line.tax_rate_bp] = totals.get(line.tax_rate_bp, 0) + line.tax_amount
    return [(rate, amount) for rate, amount in sorted(totals.items()) if rate or amount]


def render_invoice_pdf(invoice: Invoice, instructions: str | None = None, offline=()) -> bytes:
    """Draw the invoice as a PDF in its own language. Reads only what is already loaded on `invoice`.

    The footer says "Page 2 of 3". xhtml2pdf's own page count lays the document out twice; instead the
    count is estimated, printed as a plain number, and checked against the result: a wrong guess (rare)
    costs one more drawing, a right one keeps a one-page invoice to a single pass.
    """
    guess = estimate_pages(invoice, instructions)
    content = _draw(invoice, instructions, guess, offline)
    pages = count_pages(content)
    if pages != guess:
        content = _draw(invoice, instructions, pages, offline)
    return content


def _draw(invoice: Invoice, instructions: str | None, pages: int, offline=()) -> bytes:
    with force_locale(invoice.locale):
        html = current_app.jinja_env.get_template(TEMPLATE).render(
            invoice=invoice,
            vendor=party(invoice.vendor_snapshot),
            customer=party(invoice.customer_snapshot, fallback=invoice.organisation),
            title=document_title(invoice),
            instructions=instructions,
            offline=offline,  # the references offline methods issued for it (boleto, Pix, …): payments
            brand=current_app.config["BRAND_NAME"],
            brand_logo=current_app.extensions["vitrine_brand"].raster_logo_uri,
            pages=pages,
            **_formatters(invoice),
        )
    return draw_html(html, f"invoice {invoice.id}")


def draw_html(html: str, what: str) -> bytes:
    """A PDF of `html` drawn with the invoices' fonts, stylesheet and resource policy (nothing fetched): the
    one way the portal draws a PDF (invoices, the fiscal month's summary)."""
    output = io.BytesIO()
    result = pisa.CreatePDF(_BETWEEN_TAGS.sub("><", html), dest=output, encoding="utf-8", default_css=_stylesheet(),
                            resource_policy=_POLICY)
    if result.err:
        raise PdfRenderError(f"xhtml2pdf reported {result.err} error(s) for {what}")
    return output.getvalue()


# Measured on the template, in rows of one short line: the first page holds about 29 below the header,
# every further page about 39; a wrapped line of a description adds a little over half a row.
_FIRST_PAGE_ROWS, _NEXT_PAGE_ROWS, _WRAPPED_LINE_ROWS, _DESCRIPTION_WIDTH = 29.0, 39.0, 0.55, 38


def estimate_pages(invoice: Invoice, instructions: str | None) -> int:
    rows = 4.0 + len(taxes_by_rate(invoice))  # the totals
    for line in invoice.lines:
        wrapped = math.ceil(len(line.description) / _DESCRIPTION_WIDTH) - 1
        rows += 1 + _WRAPPED_LINE_ROWS * (max(wrapped, 0) + (1 if line.period_start and line.period_end else 0))
    if len(invoice.installments) > 1:
        rows += 2 + 0.8 * len(invoice.installments)
    if instructions and invoice.kind != "credit_note":
        rows += 2 + 0.8 * sum(max(1, math.ceil(len(part) / 100)) for part in instructions.splitlines())
    if invoice.kind == "credit_note":
        rows += 2
    if rows <= _FIRST_PAGE_ROWS:
        return 1
    return 1 + math.ceil((rows - _FIRST_PAGE_ROWS) / _NEXT_PAGE_ROWS)


_PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


def count_pages(content: bytes) -> int:
    """Pages of a PDF that ReportLab wrote (page objects are never compressed into object streams there)."""
    return len(_PAGE_OBJECT.findall(content))


def load_for_pdf(invoice_id: int, session=None) -> Invoice | None:
    """The invoice with everything the PDF prints loaded in one go (no lazy loads while drawing)."""
    session = session or db.session
    return session.scalar(
        db.select(Invoice)
        .where(Invoice.id == invoice_id)
        .options(
            selectinload(Invoice.lines),
            selectinload(Invoice.installments),
            selectinload(Invoice.series),
            selectinload(Invoice.organisation),
            selectinload(Invoice.credit_for).selectinload(Invoice.series),
        )
    )


def stored_pdf(invoice_id: int, session=None) -> InvoicePdf | None:
    return (session or db.session).get(InvoicePdf, invoice_id)


def recent_invoices_without_pdf(window: int = 5_000, limit: int = 500) -> list[int]:
    """Ids of issued invoices among the latest `window` whose PDF is not kept (a job died or ran out of retries).

    Older ones are not searched: a download renders any PDF that is missing.
    """
    latest = db.select(Invoice.id).order_by(Invoice.id.desc()).limit(window).subquery()
    query = (
        db.select(Invoice.id)
        .where(Invoice.id.in_(db.select(latest.c.id)), Invoice.status != "draft", Invoice.number.is_not(None))
        .where(~db.exists().where(InvoicePdf.invoice_id == Invoice.id))
        .order_by(Invoice.id)
        .limit(limit)
    )
    return list(db.session.scalars(query))
