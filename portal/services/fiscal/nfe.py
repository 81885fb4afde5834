"""Reading an NF-e (model 55) or NFC-e (model 65) XML: the facts the portal keeps, each checked.

The XML is parsed with defusedxml and `forbid_dtd=True`: an NF-e never carries a document type declaration,
so any DTD, entity declaration or external reference is refused before anything is expanded or fetched
(billion laughs, XXE). What is read (Manual de Orientação do Contribuinte, layout 4.00):

- `infNFe/@Id` = "NFe" + the 44-character access key: cUF (2), AAMM (4), issuer CNPJ (14), model (2),
  series (3), number (9), emission type (1), random code (8), check digit (1). The check digit is modulus 11
  with weights 2…9 from the right; since the alphanumeric CNPJ (Nota Técnica Conjunta 2025.001) each
  character counts as its ASCII code minus 48, which leaves numeric keys as they always were.
- `ide/mod`, `ide/serie`, `ide/nNF`, `ide/dhEmi` (with its UTC offset), `ide/tpAmb` (1 = production);
  `emit/CNPJ|CPF` and `emit/xNome`; `dest/CNPJ|CPF|idEstrangeiro` and `dest/xNome` (an NFC-e may have no
  `dest`); `total/ICMSTot/vNF` (a decimal string, read as integer centavos); `det/prod/CFOP`.
- `protNFe/infProt/cStat` and `xMotivo` for the authorisation: 100 and 150 authorised, 110 and 301–303 use
  denied, any other code rejected; no protocol at all: not authorised.

Each refusal is a DomainError with its own stable code and the element at fault as `field`.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import cycle
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from flask_babel import lazy_gettext as _l
from stdnum.br import cnpj, cpf

from portal.models import FISCAL_DOCUMENT_STATUSES, FISCAL_MODELS
from portal.services.errors import DomainError

NAMESPACE = "http://www.portalfiscal.inf.br/nfe"
# The largest NF-e (990 items) is well under this; anything larger is not one we read.
MAX_BYTES = 1024 * 1024
AUTHORISED, DENIED, REJECTED, NOT_AUTHORISED = FISCAL_DOCUMENT_STATUSES
AUTHORISED_CODES = frozenset({"100", "150"})
DENIED_CODES = frozenset({"110", "301", "302", "303"})
PRODUCTION = "1"
MAX_NAME = 200

_KEY = re.compile(r"[0-9]{6}[A-Z0-9]{12}[0-9]{26}")
_SERIES = re.compile(r"[0-9]{1,3}")
_NUMBER = re.compile(r"[1-9][0-9]{0,8}")
# TDec_1302 of the layout: up to 13 integer digits and 2 decimals ("0.00", "1234.5" is read leniently).
_AMOUNT = re.compile(r"(0|[1-9][0-9]{0,12})(?:\.([0-9]{1,2}))?")
_CNPJ = re.compile(r"[A-Z0-9]{12}[0-9]{2}")
_CPF = re.compile(r"[0-9]{11}")
_CFOP = re.compile(r"[1-7][0-9]{3}")
_FOREIGN_ID = re.compile(r"[A-Za-z0-9.\-/ ]{0,20}")


@dataclass(frozen=True)
class NfeFacts:
    access_key: str
    model: str
    series: int
    number: int
    issued_at: datetime  # UTC
    issuer_tax_id: str
    issuer_name: str
    recipient_tax_id: str | None
    recipient_name: str | None
    total: int  # centavos
    status: str
    status_code: str | None
    status_reason: str | None
    cfops: tuple[str, ...]


def _refuse(message, code: str, field: str | None = None) -> DomainError:
    return DomainError(message, code=code, field=field)


def check_digit(first_43: str) -> int:
    """The access key's 44th digit for its first 43 characters (modulus 11, weights 2…9 from the right)."""
    total = sum((ord(char) - 48) * weight for char, weight in zip(reversed(first_43), cycle(range(2, 10))))
    remainder = total % 11
    return 0 if remainder < 2 else 11 - remainder


def check_access_key(key: str) -> str:
    """The key if it has the shape and check digit of an access key, else a DomainError saying which."""
    if not _KEY.fullmatch(key):
        raise _refuse(_l("The access key must be 44 characters: digits, with the issuer's CNPJ in positions 7 "
                         "to 20."), "invalid_access_key", "infNFe/@Id")
    if check_digit(key[:43]) != int(key[43]):
        raise _refuse(_l("The access key %(key)s has a wrong check digit: it was mistyped or altered.", key=key),
                      "access_key_check_digit", "infNFe/@Id")
    return key


def _path(path: str) -> str:
    return "/".join(f"{{{NAMESPACE}}}{part}" for part in path.split("/"))


def _text(parent: Element | None, path: str, field: str, required: bool = True) -> str | None:
    found = parent.find(_path(path)) if parent is not None else None
    value = (found.text or "").strip() if found is not None else ""
    if not value:
        if required:
            raise _refuse(_l("The document has no %(field)s, which every NF-e has.", field=field),
                          "missing_field", field)
        return None
    return value


def _invalid(field: str) -> DomainError:
    return _refuse(_l("The value of %(field)s is not valid in an NF-e.", field=field), "invalid_field", field)


def _parse(data: bytes) -> Element:
    if len(data) > MAX_BYTES:
        raise DomainError(_l("The document is larger than %(size)d KB; an NF-e is much smaller.",
                             size=MAX_BYTES // 1024), code="document_too_large", status=413)
    try:
        return fromstring(data, forbid_dtd=True)
    except DefusedXmlException as error:
        raise _refuse(_l("The XML declares a DTD or entities, which an NF-e never does: it is refused unread."),
                      "xml_dtd_forbidden") from error
    except (ParseError, ValueError, LookupError) as error:
        raise _refuse(_l("The file is not well-formed XML."), "xml_malformed") from error


def _parts(root: Element) -> tuple[Element, Element | None]:
    """(infNFe, infProt or None) of an nfeProc (the authorised file) or of a bare NFe."""
    if root.tag == _path("nfeProc"):
        nfe, protocol = root.find(_path("NFe")), root.find(_path("protNFe/infProt"))
    elif root.tag == _path("NFe"):
        nfe, protocol = root, None
    else:
        nfe = protocol = None
    info = nfe.find(_path("infNFe")) if nfe is not None else None
    if info is None:
        raise _refuse(_l("The XML is not an NF-e or NFC-e: it has no nfeProc/NFe/infNFe in the namespace "
                         "%(namespace)s.", namespace=NAMESPACE), "not_nfe")
    return info, protocol


def _tax_id(party: Element | None, field: str, required: bool) -> str | None:
    company = _text(party, "CNPJ", f"{field}/CNPJ", required=False)
    if company is not None:
        if not _CNPJ.fullmatch(company) or not cnpj.is_valid(company):
            raise _invalid(f"{field}/CNPJ")
        return company
    person = _text(party, "CPF", f"{field}/CPF", required=False)
    if person is not None:
        if not _CPF.fullmatch(person) or not cpf.is_valid(person):
            raise _invalid(f"{field}/CPF")
        return person
    if required:
        raise _refuse(_l("The document has no %(field)s, which every NF-e has.", field=f"{field}/CNPJ"),
                      "missing_field", f"{field}/CNPJ")
    return None


def _name(party: Element | None, field: str, required: bool) -> str | None:
    name = _text(party, "xNome", f"{field}/xNome", required=required)
    if name is not None and len(name) > MAX_NAME:
        raise _invalid(f"{field}/xNome")
    return name


def _issued_at(info: Element) -> datetime:
    raw = _text(info, "ide/dhEmi", "ide/dhEmi")
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise _refuse(_l("The issue date (ide/dhEmi) must be a date and time with its UTC offset, e.g. "
                         "2026-11-20T10:00:00-03:00."), "invalid_field", "ide/dhEmi")
    return moment.astimezone(UTC)


def centavos(raw: str, field: str = "total/ICMSTot/vNF") -> int:
    """A decimal amount as the layout writes it ("1234.50") in integer centavos, never through a float."""
    match = _AMOUNT.fullmatch(raw)
    if match is None:
        raise _invalid(field)
    whole, fraction = match.group(1), (match.group(2) or "").ljust(2, "0")
    return int(whole) * 100 + int(fraction)


def _status(protocol: Element | None, key: str) -> tuple[str, str | None, str | None]:
    if protocol is None:
        return NOT_AUTHORISED, None, None
    code = _text(protocol, "cStat", "protNFe/infProt/cStat")
    reason = _text(protocol, "xMotivo", "protNFe/infProt/xMotivo", required=False)
    if _text(protocol, "chNFe", "protNFe/infProt/chNFe") != key:
        raise _refuse(_l("The authorisation protocol is for another access key than the document's."),
                      "access_key_mismatch", "protNFe/infProt/chNFe")
    if not code.isdigit() or len(code) != 3 or (reason is not None and len(reason) > 255):
        raise _invalid("protNFe/infProt/cStat")
    status = AUTHORISED if code in AUTHORISED_CODES else DENIED if code in DENIED_CODES else REJECTED
    return status, code, reason


def _cfops(info: Element) -> tuple[str, ...]:
    codes = {(found.text or "").strip() for found in info.iterfind(_path("det/prod/CFOP"))}
    if any(not _CFOP.fullmatch(code) for code in codes):
        raise _invalid("det/prod/CFOP")
    return tuple(sorted(codes))


def _check_key_matches(key: str, model: str, series: int, number: int, issuer: str) -> None:
    """The key repeats the model, series, number and issuer: a document that disagrees with its key was altered."""
    # An issuer with a CPF (a rural producer) is written in the key as 000 and its 11 digits.
    in_key = {"ide/mod": (key[20:22], model), "ide/serie": (key[22:25], f"{series:03d}"),
              "ide/nNF": (key[25:34], f"{number:09d}"), "emit/CNPJ": (key[6:20], issuer.rjust(14, "0"))}
    for field, (expected, found) in in_key.items():
        if expected != found:
            raise _refuse(_l("The access key does not match %(field)s of the document: one of them was altered.",
                             field=field), "access_key_mismatch", field)


def read_nfe(data: bytes) -> NfeFacts:
    """The facts of one NF-e / NFC-e XML (bytes as received), or a DomainError naming what is wrong."""
    info, protocol = _parts(_parse(data))
    identifier = info.get("Id") or ""
    if not identifier.startswith("NFe"):
        raise _refuse(_l("The document has no access key (infNFe/@Id \"NFe\" and 44 digits)."),
                      "invalid_access_key", "infNFe/@Id")
    key = check_access_key(identifier[3:])
    model = _text(info, "ide/mod", "ide/mod")
    if model not in FISCAL_MODELS:
        raise _refuse(_l("Only NF-e (model 55) and NFC-e (model 65) are accepted; this document is model "
                         "%(model)s.", model=model[:4]), "unsupported_model", "ide/mod")
    if _text(info, "ide/tpAmb", "ide/tpAmb") != PRODUCTION:
        raise _refuse(_l("The document was issued in the test environment (homologação) and has no fiscal value."),
                      "test_environment", "ide/tpAmb")
    series, number = _text(info, "ide/serie", "ide/serie"), _text(info, "ide/nNF", "ide/nNF")
    if not _SERIES.fullmatch(series):
        raise _invalid("ide/serie")
    if not _NUMBER.fullmatch(number):
        raise _invalid("ide/nNF")
    issuer_party, recipient_party = info.find(_path("emit")), info.find(_path("dest"))
    issuer = _tax_id(issuer_party, "emit", required=True)
    _check_key_matches(key, model, int(series), int(number), issuer)
    foreign = _text(recipient_party, "idEstrangeiro", "dest/idEstrangeiro", required=False)
    if foreign is not None and not _FOREIGN_ID.fullmatch(foreign):
        raise _invalid("dest/idEstrangeiro")
    # An NF-e always names its recipient (a foreign one by idEstrangeiro); an NFC-e to a consumer may not.
    recipient = _tax_id(recipient_party, "dest", required=model == "55" and foreign is None)
    status, code, reason = _status(protocol, key)
    return NfeFacts(
        access_key=key, model=model, series=int(series), number=int(number), issued_at=_issued_at(info),
        issuer_tax_id=issuer, issuer_name=_name(issuer_party, "emit", required=True),
        recipient_tax_id=recipient, recipient_name=_name(recipient_party, "dest", required=False),
        total=centavos(_text(info, "total/ICMSTot/vNF", "total/ICMSTot/vNF")),
        status=status, status_code=code, status_reason=reason, cfops=_cfops(info),
    )


def cfop_values(data: bytes) -> dict[str, int]:
    """The value of the goods (det/prod/vProd, centavos) per CFOP of a kept NF-e; a CFOP or value that cannot be
    read counts nothing (the document was checked when it was kept)."""
    info, _protocol = _parts(_parse(data))
    values: dict[str, int] = {}
    for product in info.iterfind(_path("det/prod")):
        code = (product.findtext(_path("CFOP")) or "").strip()
        raw = (product.findtext(_path("vProd")) or "").strip()
        if _CFOP.fullmatch(code):
            amount = centavos(raw, "det/prod/vProd") if _AMOUNT.fullmatch(raw) else 0
            values[code] = values.get(code, 0) + amount
    return values
