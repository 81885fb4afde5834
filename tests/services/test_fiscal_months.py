"""A client's fiscal month: the months offered, the month's issued documents in the client's own time zone,
the ZIP written as it goes (read back), and the summary PDF (read back as text)."""

import io
import random
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader

from portal.extensions import db
from portal.services.errors import DomainError
from portal.services.fiscal import month_zip, months, summary_pdf
from portal.services.fiscal.months import Month
from tests.services.fiscal_helpers import issue, office_with_client, received, this_month


def read_zip(chunks) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(chunks)))


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def client(app):
    _office, found = office_with_client()
    db.session.commit()
    return found


def test_the_months_are_the_current_one_and_twelve_before_in_the_clients_time_zone(client):
    now = datetime(2027, 1, 1, 2, 30, tzinfo=UTC)  # still 31 December in São Paulo
    choices = months.month_choices(client, now)
    assert choices[0] == Month(2026, 12) and choices[1] == Month(2026, 11) and choices[-1] == Month(2025, 12)
    assert len(choices) == months.MONTHS_BACK + 1
    assert months.parse_month("2026-03", client, now) == Month(2026, 3)
    for wrong in ("2027-01", "2025-11", "2026-13", "2026-3", "", None, "abc"):
        with pytest.raises(DomainError) as refused:
            months.parse_month(wrong, client, now)
        assert refused.value.status == 400 and refused.value.code == "invalid_month"


def test_only_nfe_and_nfce_are_types(app):
    assert months.parse_model("55") == "55" and months.parse_model(" 65 ") == "65"
    for wrong in ("57", "nfe", "", None):
        with pytest.raises(DomainError) as refused:
            months.parse_model(wrong)
        assert refused.value.code == "invalid_model" and refused.value.status == 400


def test_the_month_is_the_clients_calendar_month(client):
    month = this_month(client)
    first = issue(client, month, 1, 1, "10.00", hour=0, minute=30)  # 03:30 UTC on the 1st
    previous = month.previous()
    last_day = (month.first_day - timedelta(days=1)).day
    last_of_previous = issue(client, previous, last_day, 2, "20.00", hour=22, minute=30)  # 01:30 UTC on the 1st
    db.session.commit()
    keys = [row.access_key for row in months.issued_rows(client, month, "55")]
    assert months.count_issued(client, month, "55") == 1 and len(keys) == 1 and keys[0] in first.decode()
    assert [row.access_key for row in months.issued_rows(client, previous, "55")][0] in last_of_previous.decode()


def test_the_zip_holds_the_months_issued_xmls_of_the_type_exactly_as_received(client):
    month = this_month(client)
    nfes = [issue(client, month, 2, number, "100.00") for number in (1, 2, 3)]
    issue(client, month, 2, 4, "5.00", model="65")  # another type
    issue(client, month.previous(), 2, 5, "7.00")  # another month
    received(client, month, 2, 6)  # a supplier's
    db.session.commit()
    archive = read_zip(month_zip.month_zip(client, month, "55", month_zip.XMLS))
    assert archive.testzip() is None
    names = archive.namelist()
    assert len(names) == 3 and all(len(name) == 48 and name.endswith(".xml") for name in names)
    assert sorted(archive.read(name) for name in names) == sorted(nfes)
    nfce = read_zip(month_zip.month_zip(client, month, "65", month_zip.XMLS))
    assert len(nfce.namelist()) == 1 and nfce.read(nfce.namelist()[0]).count(b"<mod>65</mod>") == 1


def test_an_empty_month_is_an_empty_zip(client):
    archive = read_zip(month_zip.month_zip(client, this_month(client), "65", month_zip.XMLS))
    assert archive.namelist() == []


def test_the_zip_comes_in_chunks_as_the_xmls_are_read(client):
    month = this_month(client)
    for number in range(1, 41):
        issue(client, month, 3, number, "1.00")
    db.session.commit()
    noise = random.Random(13).randbytes(4000)  # does not compress: each entry adds its 4 KB
    chunks = list(month_zip.zip_chunks(
        ((row.access_key + ".xml", noise, row.issued_at) for row in months.issued_rows(client, month, "55",
                                                                                               chunk=7)),
        chunk_bytes=1024))
    assert len(chunks) > 30  # handed on as it goes, not once at the end
    assert len(read_zip(chunks).namelist()) == 40


def test_the_reports_zip_ends_with_a_summary_per_day_and_per_cfop(client):
    month = this_month(client)
    issue(client, month, 1, 1, "100.00", cfops=("5102",))
    issue(client, month, 1, 2, "50.25", cfops=("5102", "5405"))
    issue(client, month, 2, 3, "1234.56", cfops=("6108",))
    issue(client, month, 2, 4, "9.99", model="65")  # an NFC-e: not in the NF-e summary
    db.session.commit()
    archive = read_zip(month_zip.month_zip(client, month, "55", month_zip.REPORTS, locale="pt_BR"))
    names = archive.namelist()
    assert len(names) == 4 and names[-1] == summary_pdf.pdf_filename(month, "55")
    text = pdf_text(archive.read(names[-1]))
    assert "Distribuidora Aurora Ltda" in text and "11.222.333/0001-81" in text
    first, second = (f"{day:02d}/{month.month:02d}/{month.year}" for day in (1, 2))
    assert f"{first} 2 R$ 150,25" in text and f"{second} 1 R$ 1.234,56" in text
    assert "R$ 1.384,81" in text  # the month's total
    # Per CFOP: the documents with it and the value of its items (tests/nfe.py writes each item at 1.00).
    assert "5102 2 R$ 2,00" in text and "5405 1 R$ 1,00" in text and "6108 1 R$ 1,00" in text
    assert "Issued documents 3" in text or "Documentos emitidos 3" in text


def test_the_summary_says_when_nothing_was_issued(client):
    month = this_month(client)
    summary = summary_pdf.Summary(months.zone_of(client))
    text = pdf_text(summary_pdf.render_summary(summary, client, month, "65", locale="en"))
    assert "No documents were issued in this month." in text and "NFC-e (model 65)" in text


def test_the_file_names_say_the_type_the_month_and_the_client(client):
    month = Month(2026, 11)
    assert month_zip.zip_filename(client, month, "55", month_zip.XMLS) == "NFe-2026-11-11222333000181.zip"
    assert month_zip.zip_filename(client, month, "65", month_zip.REPORTS) == "relatorio-NFCe-2026-11-11222333000181.zip"
