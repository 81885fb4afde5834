"""Statement CSVs: encodings, delimiters, columns and amounts, and the report of what is wrong."""

import pytest

from portal.services.payments.offline import statement
from portal.services.payments.offline.statement import parse_amount, read

BOLETO_LINE = "00190.50095 40144.816069 06809.350314 3 37370000000100"
BOLETO_BARCODE = "00193373700000001000500940144816060680935031"


def test_utf8_with_bom_and_semicolons():
    raw = "\ufeffData;Valor;Moeda;Linha digitável\n02/12/2026;1,00;BRL;" + BOLETO_LINE + "\n"
    result = read(raw.encode("utf-8"), "boleto", "BRL")
    assert result.ok and result.encoding == "utf-8"
    [row] = result.rows
    assert (row.line, row.amount, row.currency, row.references) == (2, 100, "BRL", (BOLETO_BARCODE,))
    assert row.paid_on.isoformat() == "2026-12-02"


def test_cp1252_is_read_when_utf8_is_not():
    # A spreadsheet saved on Windows: "JOÃO" must come back as written (LATAM.md, "statement CSV").
    raw = "fecha,monto,moneda,descripcion\n2026-12-02,83.597,CLP,TRANSF JOÃO RF18 5390 0754 7034\n"
    result = read(raw.encode("cp1252"), "bank", "CLP")
    assert result.ok and result.encoding == "cp1252"
    [row] = result.rows
    assert row.amount == 83597 and "JOÃO" in row.text
    assert row.references == ("RF18539007547034",)


def test_tab_delimited_oxxo_statement():
    raw = "date\treference\tamount\tcurrency\n2026-12-02\t1234 5678 9012 34\t899.00\tMXN\n"
    [row] = read(raw.encode(), "oxxo", "MXN").rows
    assert row.references == ("12345678901234",) and row.amount == 89900


def test_bytes_neither_utf8_nor_cp1252_are_refused():
    raw = b"date;amount;currency;reference\n2026-12-02;1,00;BRL;\x81\x8d\n"
    result = read(raw, "oxxo", "BRL")
    assert not result.ok and result.rows == []
    assert [(error.line, error.code) for error in result.errors] == [(0, "encoding")]


def test_missing_columns_are_named():
    result = read(b"date;amount\n2026-12-02;1,00\n", "oxxo", "MXN")
    assert [(error.line, error.code, error.detail) for error in result.errors] == [(1, "header", "currency, reference")]


def test_each_bad_row_is_reported_with_its_line_and_reason():
    raw = (
        "date;amount;currency;reference\n"
        "2026-12-02;899,00;MXN;111\n"
        "yesterday;899,00;MXN;222\n"
        "2026-12-02;899,00;USD;333\n"
        "2026-12-02;lots;MXN;444\n"
        "2026-12-02;899,00\n"
        "2026-12-02;899,00;MXN;\n"
    )
    result = read(raw.encode(), "oxxo", "MXN")
    assert [(error.line, error.code) for error in result.errors] == [
        (3, "date"), (4, "currency"), (5, "amount"), (6, "columns"), (7, "reference"),
    ]
    assert len(result.rows) == 1 and not result.ok


def test_a_boleto_with_a_wrong_check_digit_is_a_bad_row():
    wrong = BOLETO_LINE.replace("50095", "50096")
    result = read(f"date;amount;currency;barcode\n2026-12-02;1,00;BRL;{wrong}\n".encode(), "boleto", "BRL")
    assert [(error.line, error.code) for error in result.errors] == [(2, "reference")]


def test_bank_debits_are_skipped_not_errors():
    raw = "date;amount;currency;description\n2026-12-02;-5.000;CLP;COMISION\n2026-12-02;10.000;CLP;ABONO\n"
    result = read(raw.encode(), "bank", "CLP")
    assert result.ok and result.skipped == 1
    assert [row.references for row in result.rows] == [()]  # read, for a person to match by hand


def test_a_file_over_50_mb_is_refused_unread(monkeypatch):
    monkeypatch.setattr(statement, "MAX_BYTES", 100)
    result = read(b"date;amount;currency;reference\n" + b"2026-12-02;1,00;MXN;1\n" * 10, "oxxo", "MXN")
    assert [error.code for error in result.errors] == ["size"] and result.rows == []


def test_the_report_keeps_the_first_errors_and_counts_them_all():
    raw = "date;amount;currency;reference\n" + "bad;1,00;MXN;1\n" * 500
    result = read(raw.encode(), "oxxo", "MXN")
    assert result.error_count == 500 and len(result.errors) == statement.MAX_REPORTED_ERRORS


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("1.234,56", "BRL", 123456),
        ("1,234.56", "MXN", 123456),
        ("R$ 1.234,56", "BRL", 123456),
        ("1 234,56", "BRL", 123456),
        ("83.597", "CLP", 83597),
        ("1.234.567", "CLP", 1234567),
        ("-10,00", "BRL", -1000),
        ("12,5", "BRL", None),
        ("83,59", "CLP", None),
        ("12.34.56", "BRL", None),
        ("", "BRL", None),
    ],
)
def test_amounts_as_banks_write_them(text, currency, minor):
    assert parse_amount(text, currency) == minor
