"""Statement files (bank, boleto, OXXO) read into rows, or a report of which rows are wrong and why.

A statement is a CSV with a header row. The encoding is tried as strict UTF-8 (with or without a BOM),
then cp1252, the encoding of spreadsheets saved on Windows in Latin America; the delimiter (`;`, `,` or a
tab) is sniffed from the header. Columns are found by name in English, Spanish or Portuguese, in any order;
other columns are ignored. Reading is pure: nothing here touches the database.
"""

import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from babel.numbers import get_currency_precision

from portal.services.payments.offline import bank_transfer, boleto, oxxo

MAX_BYTES = 50 * 1024 * 1024
MAX_REPORTED_ERRORS = 200
KINDS = ("bank", "boleto", "oxxo")
DELIMITERS = ";,\t"

# Header names (folded: lower case, no accents, spaces and dashes as "_") → the column they stand for.
ALIASES = {
    "date": ("date", "fecha", "data", "data_pagamento", "fecha_pago", "paid_at"),
    "amount": ("amount", "monto", "importe", "valor", "valor_pago", "abono", "credito", "credit"),
    "currency": ("currency", "moneda", "moeda", "divisa"),
    "reference": (
        "reference", "referencia", "ref", "barcode", "codigo_de_barras", "codigo_barras",
        "linha_digitavel", "nosso_numero", "voucher",
    ),
    "description": ("description", "descripcion", "glosa", "detalle", "historico", "descricao", "mensaje", "memo"),
}
REQUIRED = {
    "bank": ("date", "amount", "currency"),  # and a reference or a description
    "boleto": ("date", "amount", "currency", "reference"),
    "oxxo": ("date", "amount", "currency", "reference"),
}
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d")


@dataclass(frozen=True)
class StatementRow:
    line: int
    paid_on: date
    amount: int  # minor units
    currency: str
    references: tuple[str, ...]  # normalised candidates, the first that matches wins
    text: str  # what the row said (reference and description), for a person matching it by hand


@dataclass(frozen=True)
class RowError:
    line: int  # 0 for the file as a whole
    code: str  # encoding, size, empty, header, columns, date, amount, currency, reference
    detail: str = ""


@dataclass
class Statement:
    kind: str
    rows: list[StatementRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    skipped: int = 0  # debits and zero amounts in a bank statement: not payments to us
    encoding: str = ""

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def fail(self, line: int, code: str, detail: str = "") -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(RowError(line, code, detail))


def decode(raw: bytes) -> tuple[str, str]:
    """The text and the encoding that read it: strict UTF-8 (BOM allowed), else cp1252; ValueError if neither."""
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as error:
        raise ValueError(f"byte {error.start}") from None


def sniff_delimiter(header: str) -> str:
    try:
        return csv.Sniffer().sniff(header, delimiters=DELIMITERS).delimiter
    except csv.Error:
        # One column only, or quotes the sniffer cannot read: the delimiter that splits the header most.
        return max(DELIMITERS, key=header.count)


def read(raw: bytes, kind: str, currency: str) -> Statement:
    """Read a whole statement of `kind` whose rows must all be in `currency`."""
    statement = Statement(kind=kind)
    for _ in iter_rows(raw, kind, currency, statement):
        pass
    return statement


def iter_rows(raw: bytes, kind: str, currency: str, statement: Statement) -> Iterator[StatementRow]:
    """Yield each good row (and keep it in `statement.rows`), recording the bad ones in `statement`."""
    if kind not in KINDS:
        raise ValueError(kind)
    if len(raw) > MAX_BYTES:
        statement.fail(0, "size", str(len(raw)))
        return
    try:
        text, statement.encoding = decode(raw)
    except ValueError as error:
        statement.fail(0, "encoding", str(error))
        return
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    if not first_line.strip():
        statement.fail(0, "empty")
        return
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(first_line))
    columns = _columns(next(reader), kind, statement)
    if columns is None:
        return
    width = max(columns.values()) + 1
    for values in reader:
        line = reader.line_num
        if not any(value.strip() for value in values):
            continue
        if len(values) < width:
            statement.fail(line, "columns", str(len(values)))
            continue
        row = _row(line, values, columns, kind, currency, statement)
        if row is not None:
            statement.rows.append(row)
            yield row


def _fold(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[\s\-.]+", "_", plain.strip().lower())


def _columns(header: list[str], kind: str, statement: Statement) -> dict[str, int] | None:
    found: dict[str, int] = {}
    for index, name in enumerate(header):
        folded = _fold(name)
        for column, aliases in ALIASES.items():
            if folded in aliases and column not in found:
                found[column] = index
    missing = [column for column in REQUIRED[kind] if column not in found]
    if kind == "bank" and "reference" not in found and "description" not in found:
        missing.append("reference")
    if missing:
        statement.fail(1, "header", ", ".join(missing))
        return None
    return found


def _row(line, values, columns, kind, currency, statement) -> StatementRow | None:
    def value(column: str) -> str:
        return values[columns[column]].strip() if column in columns else ""

    paid_on = parse_date(value("date"))
    if paid_on is None:
        statement.fail(line, "date", value("date"))
        return None
    row_currency = value("currency").upper()
    if row_currency != currency:
        statement.fail(line, "currency", row_currency)
        return None
    amount = parse_amount(value("amount"), currency)
    if amount is None:
        statement.fail(line, "amount", value("amount"))
        return None
    if amount <= 0:
        if kind == "bank":
            statement.skipped += 1
            return None
        statement.fail(line, "amount", value("amount"))
        return None
    reference, description = value("reference"), value("description")
    references = _references(kind, reference, description)
    if references is None:
        statement.fail(line, "reference", reference)
        return None
    text = " · ".join(part for part in (reference, description) if part)[:300]
    return StatementRow(line, paid_on, amount, currency, tuple(references), text)


def _references(kind: str, reference: str, description: str) -> list[str] | None:
    if kind == "boleto":
        digits = "".join(char for char in reference if char.isdigit())
        try:
            code = boleto.barcode_from_line(digits) if len(digits) == 47 else boleto.validate_barcode(digits)
        except boleto.BoletoError:
            return None
        return [code]
    if kind == "oxxo":
        number = oxxo.normalise(reference)
        return [number] if number else None
    # A bank transfer: its reference column, else any RF reference in the description. A row with
    # neither is still read (a person can match it by hand).
    found = bank_transfer.find_references(reference) + bank_transfer.find_references(description)
    if reference and not found:
        found.append(bank_transfer.normalise(reference))
    return list(dict.fromkeys(found))


def parse_date(text: str) -> date | None:
    for form in DATE_FORMATS:
        try:
            return datetime.strptime(text, form).date()
        except ValueError:
            continue
    return None


_AMOUNT = re.compile(r"^[+-]?[\d.,']*\d$")


def parse_amount(text: str, currency: str) -> int | None:
    """An amount as banks write it ("1.234,56", "1,234.56", "1234.56", "83.597" in CLP) in minor units.

    The decimal separator is the last "." or "," when exactly the currency's number of decimals follow
    it; every other separator groups thousands (groups of three digits), so "83.597" is CLP 83,597 and
    "12,5" (one decimal of a two-decimal currency) is refused rather than guessed."""
    text = text.replace("\u00a0", " ").strip()
    for symbol in ("R$", "MX$", "US$", "$"):
        text = text.replace(symbol, "")
    text = text.replace(" ", "")
    if not _AMOUNT.match(text):
        return None
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("+-")
    precision = get_currency_precision(currency)
    whole, fraction = text, ""
    last = max(text.rfind("."), text.rfind(","))
    if last >= 0 and precision and len(text) - last - 1 == precision:
        whole, fraction = text[:last], text[last + 1 :]
    groups = re.split(r"[.,']", whole)
    if len(groups) > 1 and (not 1 <= len(groups[0]) <= 3 or any(len(group) != 3 for group in groups[1:])):
        return None
    digits = "".join(groups)
    fraction = fraction.ljust(precision, "0")
    if not digits.isdigit() or not (fraction == "" or fraction.isdigit()):
        return None
    return sign * (int(digits) * 10**precision + int(fraction or 0))
