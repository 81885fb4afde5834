"""Invoice PDFs: what they print, in which language and time zone, the fonts they carry, and that they are kept once."""

import hashlib
import io
import re
from datetime import UTC, date, datetime

import pytest
from babel.dates import format_date
from pypdf import PdfReader

from portal import jobs
from portal.extensions import db
from portal.i18n import format_money
from portal.models import BillingSettings, InvoicePdf
from portal.services.accounts.taxid import format_tax_id
from portal.services.billing import pdf as invoice_pdf
from portal.workflows import invoice_pdfs
from tests import factories


def pdf_text(content: bytes) -> list[str]:
    """The text of every page, with the non-breaking spaces of formatted numbers made plain."""
    reader = PdfReader(io.BytesIO(content))
    return [re.sub(r"[\u00a0\u202f]", " ", page.extract_text()) for page in reader.pages]


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def money(amount: int, currency: str, locale: str) -> str:
    return format_money(amount, currency, locale).replace("\u00a0", " ").replace("\u202f", " ")


@pytest.fixture
def customer(app):
    return factories.make_org("customer", "CL", name="Panadería Ñandú e Irmãos Ltda.",
                              address="Av. Pajaritos 2150, Maipú, Santiago")


def test_pdf_prints_parties_lines_totals_and_tax_ids(app, customer):
    invoice = factories.make_invoice(customer, lines=[
        ("Plan Pyme mensual → marzo", 1, 29_990),
        ("Usuario adicional (configuração)", 3, 4_990),
        ("Soporte en euros €", 2, 10_000, 0),
    ], locale="en")
    text = flat(" ".join(pdf_text(invoice_pdf.render_invoice_pdf(invoice))))

    assert "INVOICE" in text and invoice.display_number in text
    assert "Vitrine Software SpA" in text and "RUT: 76.543.210-3" in text
    assert "Panadería Ñandú e Irmãos Ltda." in text
    assert f"RUT: {format_tax_id('CL', customer.tax_id)}" in text
    assert "Plan Pyme mensual → marzo" in text and "Usuario adicional (configuração)" in text
    assert "Soporte en euros €" in text
    # 3 × 4.990 = 14.970 net, 19 % tax 2.844 (half-up from 2.844,3), line total 17.814
    for amount in (14_970, 2_844, 17_814, invoice.subtotal, invoice.tax_total, invoice.total):
        assert money(amount, "CLP", "en") in text, amount
    assert invoice.subtotal == 29_990 + 14_970 + 20_000
    assert "Tax 19%" in text and "Page 1 of 1" in text


def test_pdf_embeds_dejavu_so_accents_and_symbols_print(app, customer):
    invoice = factories.make_invoice(customer, lines=[("ç ã ñ € → ü ß", 1, 1_000)])
    content = invoice_pdf.render_invoice_pdf(invoice)
    assert all(ch in pdf_text(content)[0] for ch in "çãñ€→")

    fonts = PdfReader(io.BytesIO(content)).pages[0]["/Resources"]["/Font"]
    embedded = {}
    for ref in fonts.values():
        font = ref.get_object()
        descriptor = font.get("/FontDescriptor")
        embedded[str(font["/BaseFont"]).split("+")[-1]] = descriptor is not None and "/FontFile2" in descriptor
    assert embedded.get("DejaVuSans") is True
    assert embedded.get("DejaVuSans-Bold") is True


def test_pdf_is_in_the_invoice_language_with_dates_in_the_customer_time_zone(app):
    brazil = factories.make_org("customer", "BR", name="Padaria Pão Dourado Ltda")
    # 02:30 UTC on 1 March is still 28 February in São Paulo (UTC−3).
    issued = datetime(2025, 3, 1, 2, 30, tzinfo=UTC)
    invoice = factories.make_invoice(brazil, lines=[("Plano Essencial", 1, 12_345)], issued_at=issued)
    assert invoice.locale == "pt_BR"
    text = flat(pdf_text(invoice_pdf.render_invoice_pdf(invoice))[0])

    assert format_date(date(2025, 2, 28), "medium", locale="pt_BR") in text
    assert format_date(date(2025, 3, 1), "medium", locale="pt_BR") not in text
    assert money(12_345, "BRL", "pt_BR") in text  # R$ 123,45
    assert "CNPJ" in text and format_tax_id("BR", brazil.tax_id) in text


def test_three_page_invoice_repeats_the_table_header_and_numbers_its_pages(app, customer):
    lines = [(f"Módulo de facturación electrónica número {n}", 1 + n % 3, 1_000 + n) for n in range(52)]
    invoice = factories.make_invoice(customer, lines=lines, locale="en", installments=3)
    pages = pdf_text(invoice_pdf.render_invoice_pdf(invoice))

    assert len(pages) == 3
    for number, page in enumerate(pages, start=1):
        page = flat(page)
        assert "Description" in page and "Unit price" in page
        assert f"Page {number} of 3" in page
    assert "Módulo de facturación electrónica número 51" in flat(pages[-1])
    assert money(invoice.total, "CLP", "en") in flat(pages[-1])


def test_estimate_is_checked_so_the_page_count_is_always_right(app, customer, monkeypatch):
    invoice = factories.make_invoice(customer, lines=[("Plan", 1, 1_000)], locale="en")
    monkeypatch.setattr(invoice_pdf, "estimate_pages", lambda *_args: 4)
    pages = pdf_text(invoice_pdf.render_invoice_pdf(invoice))
    assert len(pages) == 1 and "Page 1 of 1" in pages[0]


def test_installments_and_payment_instructions_are_printed(app, customer):
    db.session.add(BillingSettings(payment_instructions={
        "CL": "Transferencia a Banco de Chile, cuenta corriente 123-45678-09",
        "BR": "Pix: chave 11.222.333/0001-81",
    }))
    invoice = factories.make_invoice(customer, lines=[("Plan anual", 1, 300_000)], installments=3,
                                     issued_at=datetime(2025, 1, 15, 15, tzinfo=UTC), due_days=10, locale="en")
    db.session.flush()
    text = flat(pdf_text(invoice_pdf.render_invoice_pdf(invoice, invoice_pdf.payment_instructions(invoice)))[0])

    assert "Installments" in text and "In 3 installments" in text
    for installment in invoice.installments:
        assert money(installment.amount, "CLP", "en") in text
        assert format_date(invoice_pdf.local_date(invoice, installment.due_at), "medium", locale="en") in text
    assert "Transferencia a Banco de Chile, cuenta corriente 123-45678-09" in text
    assert "Pix" not in text


def test_credit_note_says_so_and_names_the_invoice_it_corrects(app, customer):
    original = factories.make_invoice(customer, locale="en")
    credit = factories.make_invoice(customer, kind="credit_note", credit_for=original, locale="en",
                                    lines=[("Devolución usuario adicional", 1, 4_990)])
    text = flat(pdf_text(invoice_pdf.render_invoice_pdf(credit))[0])

    assert "CREDIT NOTE" in text and credit.display_number in text
    assert f"This credit note corrects invoice {original.display_number}" in text
    assert "Due date" not in text


def test_the_stylesheet_is_parsed_once_per_process_and_the_page_rule_every_time(app, customer, monkeypatch):
    """What is the same for every invoice is parsed by the first drawing in a process only (QUALITY.md P4)."""
    from xhtml2pdf.context import pisaCSSParser

    invoice = factories.make_invoice(customer, locale="en")
    invoice_pdf.render_invoice_pdf(invoice)
    parsed = []
    parse = pisaCSSParser.parse
    monkeypatch.setattr(pisaCSSParser, "parse", lambda parser, source: parsed.append(source) or parse(parser, source))
    text = flat(pdf_text(invoice_pdf.render_invoice_pdf(invoice))[0])

    assert "Unit price" in text and "Page 1 of 1" in text
    assert any("@page" in source for source in parsed)
    assert not any(".lines th" in source or "font-weight" in source for source in parsed), parsed


def test_file_name_names_the_document_and_its_number(app, customer):
    invoice = factories.make_invoice(customer, locale="en")
    credit = factories.make_invoice(customer, kind="credit_note", credit_for=invoice, locale="en")
    assert invoice_pdf.pdf_filename(invoice) == f"invoice-{invoice.display_number}.pdf"
    assert invoice_pdf.pdf_filename(credit) == f"credit-note-{credit.display_number}.pdf"
    assert re.fullmatch(r"[A-Za-z-]+-F\d{6}\.pdf", invoice_pdf.pdf_filename(factories.make_invoice(customer)))


def test_render_and_store_keeps_one_pdf_and_never_renders_it_again(app, customer, monkeypatch):
    invoice = factories.make_invoice(customer)
    db.session.commit()
    renders = []
    real_render = invoice_pdf.render_invoice_pdf
    monkeypatch.setattr(invoice_pdf, "render_invoice_pdf", lambda *a: renders.append(1) or real_render(*a))

    first = invoice_pdfs.render_and_store(invoice.id)
    second = invoice_pdfs.render_and_store(invoice.id)

    assert len(renders) == 1
    assert first.content.startswith(b"%PDF-") and first.sha256 == hashlib.sha256(first.content).hexdigest()
    assert (second.sha256, second.created_at, second.content) == (first.sha256, first.created_at, first.content)
    db.session.rollback()  # it was stored through its own session: read again
    assert db.session.scalar(db.select(db.func.count()).select_from(InvoicePdf)) == 1


def test_drafts_and_unknown_invoices_get_no_pdf(app, customer):
    draft = factories.make_invoice(customer, status="draft")
    db.session.commit()
    assert invoice_pdfs.render_and_store(draft.id) is None
    assert invoice_pdfs.render_and_store(draft.id + 1000) is None
    assert db.session.scalar(db.select(db.func.count()).select_from(InvoicePdf)) == 0


def test_the_job_renders_the_pdf_of_an_issued_invoice(app, customer):
    invoice = factories.make_invoice(customer)
    db.session.commit()
    jobs.render_invoice_pdf(invoice.id)  # huey runs tasks immediately in tests
    jobs.render_invoice_pdf(invoice.id)
    db.session.rollback()
    stored = db.session.get(InvoicePdf, invoice.id)
    assert stored is not None and invoice.display_number in pdf_text(stored.content)[0]


def test_the_safety_net_finds_recent_invoices_without_a_pdf(app, customer):
    kept = factories.make_invoice(customer)
    missing = factories.make_invoice(customer)
    factories.make_invoice(customer, status="draft")
    db.session.commit()
    invoice_pdfs.render_and_store(kept.id)
    db.session.rollback()
    assert invoice_pdf.recent_invoices_without_pdf() == [missing.id]

    jobs.render_missing_invoice_pdfs.call_local()
    db.session.rollback()
    assert invoice_pdf.recent_invoices_without_pdf() == []


def test_the_batch_job_renders_each_invoice_and_reports_failures(app, customer, monkeypatch):
    first, second, third = (factories.make_invoice(customer) for _ in range(3))
    db.session.commit()
    ids = [first.id, second.id, third.id]
    jobs.render_invoice_pdfs([first.id, second.id])
    db.session.rollback()
    assert {pdf.invoice_id for pdf in db.session.scalars(db.select(InvoicePdf))} == {first.id, second.id}

    real_render = invoice_pdf.render_invoice_pdf

    def broken_for_second(invoice, *args):
        if invoice.id == second.id:
            raise invoice_pdf.PdfRenderError("broken")
        return real_render(invoice, *args)

    db.session.execute(db.delete(InvoicePdf))
    db.session.commit()
    monkeypatch.setattr(invoice_pdf, "render_invoice_pdf", broken_for_second)
    assert invoice_pdfs.render_and_store_many(ids) == [second.id]
    db.session.rollback()
    assert {pdf.invoice_id for pdf in db.session.scalars(db.select(InvoicePdf))} == {first.id, third.id}
