"""Money and dates in the reader's words: amounts by locale (CLP without decimals), times in the
organisation's time zone."""

import io
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from pypdf import PdfReader

from portal.extensions import db
from portal.i18n import format_money, normalise_locale, to_major, to_minor
from portal.services.billing import pdf as invoice_pdf
from tests import factories

NBSP = "\xa0"


@pytest.mark.parametrize(("amount", "currency", "locale", "shown"), [
    (1_999_000, "CLP", "es", "1.999.000 CLP"),
    (19_990, "CLP", "en", "CLP19,990"),
    (19_990, "CLP", "pt_BR", "CLP 19.990"),
    (123_450, "BRL", "pt_BR", "R$ 1.234,50"),
    (123_450, "BRL", "en", "R$1,234.50"),
    (123_450, "BRL", "es", "1.234,50 BRL"),
    (44_900, "MXN", "es", "449,00 MXN"),
    (44_900, "MXN", "en", "MX$449.00"),
    (44_900, "MXN", "pt_BR", "MX$ 449,00"),
    (123_456, "USD", "en", "$1,234.56"),
    (123_456, "USD", "es", "1.234,56 US$"),
    (123_456, "USD", "pt_BR", "US$ 1.234,56"),
    (5, "BRL", "pt_BR", "R$ 0,05"),
    (-4_990, "CLP", "es", "-4.990 CLP"),
    (0, "CLP", "en", "CLP0"),
])
def test_amounts_are_formatted_for_the_readers_locale(app, amount, currency, locale, shown):
    assert format_money(amount, currency, locale).replace(NBSP, " ") == shown


def test_pesos_never_show_decimals_and_reais_always_show_cents(app):
    for locale in ("en", "es", "pt_BR"):
        assert not re.search(r"[.,]\d{2}(?!\d)", format_money(1_234_567, "CLP", locale))
        assert re.search(r"[.,]00(?!\d)", format_money(100, "BRL", locale))
    assert to_major(19_990, "CLP") == Decimal(19990) and to_major(19_990, "BRL") == Decimal("199.90")


def test_major_amounts_become_minor_units_rounding_half_up_once(app):
    assert to_minor("199.90", "BRL") == 19_990
    assert to_minor("0.005", "USD") == 1
    assert to_minor("0.0049", "USD") == 0
    assert to_minor("19990.5", "CLP") == 19_991
    assert to_minor(Decimal("-2.345"), "MXN") == -235


def test_the_formatter_uses_the_request_language_when_none_is_given(app):
    with app.test_request_context(headers={"Accept-Language": "pt-BR"}):
        assert format_money(123_450, "BRL").replace(NBSP, " ") == "R$ 1.234,50"


@pytest.mark.parametrize(("typed", "locale"), [("pt-BR", "pt_BR"), ("pt", "pt_BR"), ("es-CL", "es"), ("es_MX", "es"),
                                               ("EN", "en"), ("en-GB", "en"), ("fr", None), ("", None)])
def test_locale_codes_are_understood(typed, locale):
    assert normalise_locale(typed) == locale


@pytest.mark.parametrize(("country", "locale", "local_time"), [
    ("BR", "pt_BR", "12:00"),  # São Paulo, UTC-3
    ("MX", "es", "9:00"),  # Mexico City, UTC-6
    ("CL", "es", "12:00"),  # Santiago in March: summer time, UTC-3
])
def test_times_are_shown_in_the_organisations_time_zone(app, client, country, locale, local_time):
    org = factories.make_org("customer", country=country)
    membership = factories.make_member(organisation=org, role="admin", locale=locale)
    db.session.commit()
    with time_machine.travel(datetime(2025, 3, 10, 15, 0, tzinfo=UTC), tick=False):
        client.login(membership.user.email)
        page = client.get("/customer/").get_data(as_text=True)
    shown = re.search(r'<time datetime="2025-03-10T15:00:00\+00:00">([^<]+)</time>', page)
    assert shown, page
    assert local_time in shown.group(1) and "15:00" not in shown.group(1)


def test_templates_translate_as_jinjas_newstyle_gettext(app):
    """The portal's own template gettext: translated, variables escaped where the template escapes, always
    a format string (%% is a percent sign), plural forms, and it follows force_locale mid-request."""
    from flask import render_template_string
    from flask_babel import force_locale, gettext

    html = app.jinja_env.from_string(
        "{{ _('Invoices') }}|{{ _('by %(name)s', name='<b>Ana</b>') }}|{{ _('50%%') }}|"
        "{{ ngettext('%(num)d invoice', '%(num)d invoices', 3) }}")
    text = app.jinja_env.from_string("{% autoescape false %}{{ _('by %(name)s', name='<b>Ana</b>') }}"
                                     "{% endautoescape %}")
    with app.test_request_context("/", headers={"Accept-Language": "es"}):
        assert html.render().split("|") == ["Facturas", "por &lt;b&gt;Ana&lt;/b&gt;", "50%", "3 facturas"]
        assert text.render() == "por <b>Ana</b>"
        with force_locale("pt_BR"):
            assert render_template_string("{{ _('Invoices') }}") == "Faturas" == gettext("Invoices")
        assert render_template_string("{{ _('Invoices') }}") == "Facturas" == gettext("Invoices")


@pytest.mark.parametrize(("amount", "currency", "locale", "country", "code", "shown"), [
    (89_900, "MXN", "es", "MX", False, "$899.00"),
    (83_597, "CLP", "es", "CL", False, "$83.597"),
    (14_155, "BRL", "pt_BR", "BR", False, "R$ 141,55"),
    (14_155, "BRL", "en", "BR", False, "R$141.55"),  # Babel has no en_BR: English keeps its own conventions
    (89_900, "MXN", "es", "CL", False, "MXN899,00"),  # a Chilean reader's "$" is the peso: CLDR writes the code
    (83_597, "CLP", "es", "CL", True, "CLP 83.597"),
    (89_900, "MXN", "es", "CL", True, "MXN 899,00"),
    (89_900, "MXN", "es", "MX", True, "MXN 899.00"),
    (14_155, "BRL", "pt_BR", "BR", True, "BRL 141,55"),
    (83_597, "CLP", "es", None, True, "83.597 CLP"),
    (-83_597, "CLP", "en", "CL", True, "-CLP 83,597"),
])
def test_money_reads_as_in_the_organisations_country(app, amount, currency, locale, country, code, shown):
    assert format_money(amount, currency, locale, country=country, code=code).replace(NBSP, " ") == shown


def _visible(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).replace(NBSP, " ")


@pytest.mark.parametrize(("country", "locale", "lines", "shown"), [
    ("MX", "es", [("Plan Pyme mensual", 1, 77_500)], "$899.00"),  # 775.00 + 16 % IVA
    ("CL", "es", [("Plan Pyme mensual", 1, 83_597, 0)], "$83.597"),
    ("BR", "pt_BR", [("Plano Pyme mensal", 1, 14_155)], "R$ 141,55"),
])
def test_customers_read_their_money_as_in_their_country(app, login_as, country, locale, lines, shown):
    client = login_as("customer", "admin", organisation=factories.make_org("customer", country), locale=locale)
    invoice = factories.make_invoice(client.organisation, lines=lines)
    db.session.commit()
    for url in ("/customer/invoices", f"/customer/invoices/{invoice.id}"):
        page = _visible(client.get(url))
        assert shown in page, (url, page)


def test_staff_lists_mixing_currencies_keep_each_amounts_code(app, login_as):
    staff = login_as("vendor", "billing", locale="es")  # the vendor is Chilean
    for country, lines in (("CL", [("Plan", 1, 83_597, 0)]), ("MX", [("Plan", 1, 77_500)]),
                           ("BR", [("Plano", 1, 14_155)])):
        factories.make_invoice(factories.make_org("customer", country), lines=lines, tax_rate_bp=None)
    db.session.commit()
    page = _visible(staff.get("/backoffice/invoices"))
    assert "CLP 83.597" in page and "MXN 899,00" in page and "BRL 141,55" in page, page
    assert "$83.597" not in page and "83.597 CLP" not in page


def test_pdf_amounts_read_as_in_the_customers_country(app):
    invoice = factories.make_invoice(factories.make_org("customer", "MX"), lines=[("Plan Pyme mensual", 1, 77_500)],
                                     locale="es")
    pdf = PdfReader(io.BytesIO(invoice_pdf.render_invoice_pdf(invoice)))
    text = " ".join(page.extract_text() for page in pdf.pages)
    assert "$899.00" in text.replace(NBSP, " ") and "899,00" not in text


@pytest.mark.parametrize(("country", "locale", "shown"), [
    ("BR", "pt_BR", "Horário Brasil (São Paulo)"),
    ("MX", "es", "hora de México (Ciudad de México)"),
    ("CL", "en", "Chile (Santiago) Time"),
])
def test_the_organisation_card_names_its_time_zone_in_the_readers_language(app, login_as, country, locale, shown):
    client = login_as("customer", "admin", organisation=factories.make_org("customer", country), locale=locale)
    page = _visible(client.get("/customer/"))
    assert shown in page, page
    assert "America/" not in page
