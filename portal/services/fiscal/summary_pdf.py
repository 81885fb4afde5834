"""The month's summary PDF in the reports' ZIP ("Relatórios e documentos"): how many documents and their total
per day (the client's calendar day), and per CFOP the documents that have it and the value of its goods
(det/prod/vProd), drawn like the invoices (portal.services.billing.pdf.draw_html).

The figures are gathered while the month's XMLs go by (`Summary.add`), so the month is read once."""

from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

from babel.dates import format_date
from babel.numbers import format_decimal
from flask import current_app
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

from portal.i18n import format_money
from portal.models import Organisation
from portal.orm import utcnow
from portal.services.accounts.taxid import format_tax_id, tax_id_label
from portal.services.billing.pdf import draw_html
from portal.services.fiscal import months
from portal.services.fiscal.months import Month
from portal.services.fiscal.nfe import cfop_values

TEMPLATE = "pdf/fiscal_summary.html"
CURRENCY = "BRL"


@dataclass
class Line:
    documents: int = 0
    amount: int = 0  # centavos


@dataclass
class Summary:
    zone: tzinfo
    days: dict[date, Line] = field(default_factory=dict)
    cfops: dict[str, Line] = field(default_factory=dict)
    documents: int = 0
    total: int = 0

    def add(self, issued_at: datetime, total: int, xml: bytes) -> None:
        """Count one document: its day, its total, and the value of its goods per CFOP."""
        day = self.days.setdefault(issued_at.astimezone(self.zone).date(), Line())
        day.documents += 1
        day.amount += total
        self.documents += 1
        self.total += total
        for code, value in cfop_values(xml).items():
            line = self.cfops.setdefault(code, Line())
            line.documents += 1
            line.amount += value


def pdf_filename(month: Month, model: str) -> str:
    return f"resumo-{months.MODEL_NAMES[model]}-{month.code}.pdf"


def render_summary(summary: Summary, client: Organisation, month: Month, model: str,
                   locale: str | None = None) -> bytes:
    """The summary as a PDF in `locale` (the reader's), amounts in reais."""
    locale = locale or str(get_locale() or "en")
    with force_locale(locale):
        def money(amount: int) -> str:
            return format_money(amount, CURRENCY, locale, "BR")

        html = current_app.jinja_env.get_template(TEMPLATE).render(
            summary=summary, client=client, model_label=str(months.MODEL_LABELS[model]),
            month_label=format_date(month.first_day, "MMMM y", locale=locale),
            tax_id=format_tax_id(client.country, client.tax_id) if client.tax_id else "",
            tax_label=tax_id_label(client.country),
            days=sorted(summary.days.items()), cfops=sorted(summary.cfops.items()), money=money,
            count=lambda value: format_decimal(value, locale=locale),
            day=lambda value: format_date(value, "short", locale=locale),
            drawn=format_date(utcnow().astimezone(months.zone_of(client)).date(), "short", locale=locale),
            brand=current_app.config["BRAND_NAME"], locale=locale, title=_("Fiscal month summary"),
        )
    return draw_html(html, f"the fiscal summary of organisation {client.id} for {month.code}")
