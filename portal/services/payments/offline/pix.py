"""Pix BR Code ("copia e cola"): the EMV merchant-presented payload, its CRC16 and the QR image."""

import unicodedata

import segno

GUI = "br.gov.bcb.pix"


class PixError(ValueError):
    """A payload that is not a valid BR Code (its structure or its CRC)."""


def crc16(data: str) -> str:
    """CRC16-CCITT-FALSE (polynomial 0x1021, initial 0xFFFF), as 4 uppercase hex digits."""
    crc = 0xFFFF
    for byte in data.encode("utf-8"):
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return f"{crc:04X}"


def _field(tag: str, value: str) -> str:
    if len(value) > 99:
        raise PixError(f"field {tag} longer than 99 characters")
    return f"{tag}{len(value):02d}{value}"


def _plain(text: str, limit: int) -> str:
    """Names and cities in the payload: ASCII letters (accents dropped), cut to the field's limit."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return " ".join(folded.split())[:limit].rstrip()


def brcode(
    key: str,
    merchant_name: str,
    merchant_city: str,
    amount_cents: int | None = None,
    txid: str = "***",
    message: str | None = None,
    single_use: bool = False,
) -> str:
    """A static (or single-use) BR Code paying `amount_cents` BRL to the Pix `key`, tagged with `txid`."""
    if not key:
        raise PixError("a Pix key is needed")
    if txid != "***" and not (txid.isascii() and txid.isalnum() and len(txid) <= 25):
        raise PixError("txid: up to 25 letters and digits")
    account = _field("00", GUI) + _field("01", key) + (_field("02", message) if message else "")
    payload = _field("00", "01")
    if single_use:
        payload += _field("01", "12")
    payload += _field("26", account) + _field("52", "0000") + _field("53", "986")
    if amount_cents is not None:
        if amount_cents <= 0:
            raise PixError("amount must be positive")
        payload += _field("54", f"{amount_cents // 100}.{amount_cents % 100:02d}")
    payload += _field("58", "BR") + _field("59", _plain(merchant_name, 25)) + _field("60", _plain(merchant_city, 15))
    payload += _field("62", _field("05", txid)) + "6304"
    return payload + crc16(payload)


def parse(payload: str) -> dict[str, str]:
    """The top-level fields of a BR Code, after checking its CRC; raises PixError otherwise."""
    if len(payload) < 8 or payload[-8:-4] != "6304" or crc16(payload[:-4]) != payload[-4:].upper():
        raise PixError("CRC does not match")
    fields = _tlv(payload)
    if fields.get("00") != "01":
        raise PixError("not an EMV merchant-presented payload")
    return fields


def _tlv(data: str) -> dict[str, str]:
    fields, index = {}, 0
    while index < len(data):
        tag, length = data[index : index + 2], data[index + 2 : index + 4]
        if not length.isdigit() or index + 4 + int(length) > len(data):
            raise PixError("malformed field")
        fields[tag] = data[index + 4 : index + 4 + int(length)]
        index += 4 + int(length)
    return fields


def account_fields(payload: str) -> dict[str, str]:
    """The merchant account sub-fields (26): 00 the GUI, 01 the key, 02 the message."""
    return _tlv(parse(payload).get("26", ""))


def txid(payload: str) -> str:
    return _tlv(parse(payload).get("62", "")).get("05", "")


def qr_svg(payload: str, title: str, scale: int = 4) -> str:
    """The BR Code as an SVG QR image (error correction M, as the Banco Central's manual recommends)."""
    qr = segno.make(payload, error="m", micro=False)
    return qr.svg_inline(scale=scale, title=title, svgclass="pix-qr", lineclass=None, omitsize=False)


def qr_png_data_uri(payload: str, scale: int = 4) -> str:
    """The BR Code as a PNG data URI (for documents that draw no SVG, like the invoice PDF)."""
    return segno.make(payload, error="m", micro=False).png_data_uri(scale=scale)
