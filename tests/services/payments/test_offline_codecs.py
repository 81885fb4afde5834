"""Boleto, Interleaved 2 of 5, Pix BR Code, OXXO and transfer references, against published examples."""

from datetime import date, datetime

import pytest
import segno
from defusedxml import ElementTree
from hypothesis import given
from hypothesis import strategies as st

from portal.services.payments.offline import bank_transfer, boleto, interleaved2of5, oxxo, pix

# Banco do Brasil, "Especificações Técnicas para Confecção de Boleto de Cobrança do Banco do Brasil"
# (Doc5175Bloqueto.pdf, https://www.bb.com.br/docs/pub/emp/empl/dwn/Doc5175Bloqueto.pdf), the worked
# example of its annex: bank 001, R$ 1,00 due 31/12/2007 (factor 3737).
BB_BARCODE = "00193373700000001000500940144816060680935031"
BB_LINE = "00190500954014481606906809350314337370000000100"
BB_PRINTED = "00190.50095 40144.816069 06809.350314 3 37370000000100"

# Banco Central do Brasil, "Manual de Padrões para Iniciação do Pix", annex on the BR Code
# (https://www.bcb.gov.br/content/estabilidadefinanceira/spb_docs/ManualBRCode.pdf): the static code
# of "Fulano de Tal", BRASILIA, with no amount.
BCB_KEY = "123e4567-e12b-12d1-a456-426655440000"
BCB_CODE = (
    "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR"
    "5913Fulano de Tal6008BRASILIA62070503***63041D3D"
)


def test_boleto_barcode_of_the_banco_do_brasil_example():
    free_field = BB_BARCODE[19:]
    assert boleto.barcode("001", 100, date(2007, 12, 31), free_field) == BB_BARCODE
    assert boleto.mod11(BB_BARCODE[:4] + BB_BARCODE[5:]) == 3


def test_boleto_typeable_line_of_the_banco_do_brasil_example():
    line = boleto.typeable_line(BB_BARCODE)
    assert line == BB_LINE
    assert boleto.format_line(line) == BB_PRINTED
    assert boleto.barcode_from_line(BB_PRINTED) == BB_BARCODE
    assert [boleto.mod10(BB_LINE[0:9]), boleto.mod10(BB_LINE[10:20]), boleto.mod10(BB_LINE[21:31])] == [5, 9, 4]


# FEBRABAN's factor table, as banks publish it (e.g. http://mhemann.com.br/2011/06/a-linha-digitavel-do-boleto-
# bancario/): 1000 = 03/07/2000, 1002 = 05/07/2000, 1667 = 01/05/2002, 4789 = 17/11/2010, 9999 = 21/02/2025;
# and FEBRABAN's restart of the factor at 1000 on 22/02/2025 (LATAM.md, "Due-date factor").
@pytest.mark.parametrize(
    ("due", "factor"),
    [
        (date(2000, 7, 3), 1000),
        (date(2000, 7, 5), 1002),
        (date(2002, 5, 1), 1667),
        (date(2010, 11, 17), 4789),
        (date(2007, 12, 31), 3737),
        (date(2025, 2, 21), 9999),
        (date(2025, 2, 22), 1000),
        (date(2025, 2, 23), 1001),
    ],
)
def test_boleto_due_date_factor(due, factor):
    assert boleto.due_factor(due) == factor
    assert boleto.due_date(factor, around=due) == due


def test_boleto_factor_after_the_restart_decodes_to_the_new_cycle():
    assert boleto.due_date(1000, around=date(2026, 12, 2)) == date(2025, 2, 22)
    assert boleto.due_date(1648, around=date(2026, 12, 2)) == date(2026, 12, 2)
    # An old boleto scanned today: a factor 9999 is February 2025, not 2049.
    assert boleto.due_date(9999, around=date(2026, 12, 2)) == date(2025, 2, 21)


def test_boleto_with_a_wrong_digit_is_refused():
    wrong_field = BB_LINE[:3] + "1" + BB_LINE[4:]
    with pytest.raises(boleto.BoletoError):
        boleto.barcode_from_line(wrong_field)
    wrong_general = BB_BARCODE[:4] + "4" + BB_BARCODE[5:]
    with pytest.raises(boleto.BoletoError):
        boleto.validate_barcode(wrong_general)
    with pytest.raises(boleto.BoletoError):
        boleto.barcode_from_line(BB_LINE[:-1])


@given(
    st.integers(1, 99_999_999_99),
    st.dates(date(2000, 7, 3), date(2060, 1, 1)),
    st.text("0123456789", min_size=25, max_size=25),
)
def test_boleto_round_trip(amount, due, free_field):
    code = boleto.barcode("237", amount, due, free_field)
    assert boleto.barcode_from_line(boleto.typeable_line(code)) == code
    assert boleto.amount_cents(code) == amount
    assert boleto.due_date(int(code[5:9]), around=due) == due


def _decode_interleaved(elements):
    """Read the digits back from the bars and spaces (what a scanner does)."""
    inverse = {pattern: digit for digit, pattern in interleaved2of5.PATTERNS.items()}
    body = elements[4:-3]
    digits = ""
    for start in range(0, len(body), 10):
        chunk = body[start : start + 10]
        bars = "".join("1" if width == interleaved2of5.WIDE else "0" for _, width in chunk[0::2])
        spaces = "".join("1" if width == interleaved2of5.WIDE else "0" for _, width in chunk[1::2])
        digits += inverse[bars] + inverse[spaces]
    return digits


def test_interleaved_2_of_5_encodes_the_barcode():
    elements = interleaved2of5.modules(BB_BARCODE)
    assert elements[:4] == [(True, 1), (False, 1), (True, 1), (False, 1)]
    assert elements[-3:] == [(True, 3), (False, 1), (True, 1)]
    assert _decode_interleaved(elements) == BB_BARCODE
    with pytest.raises(ValueError):
        interleaved2of5.modules(BB_BARCODE[:-1])


def test_interleaved_2_of_5_svg_is_printable():
    svg = interleaved2of5.svg(BB_BARCODE, label=BB_PRINTED)
    root = ElementTree.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    bars = root.find(f"{ns}g").findall(f"{ns}rect")
    assert len(bars) == 2 + 22 * 5 + 2  # start, five bars per pair of digits, stop
    assert root.get("height") == "13.0mm"
    assert root.find(f"{ns}title").text == BB_PRINTED


def test_pix_crc16_check_value():
    # The CRC catalogue's check value for CRC-16/CCITT-FALSE (CRC-16/IBM-3740): "123456789" → 0x29B1
    # (https://reveng.sourceforge.io/crc-catalogue/16.htm).
    assert pix.crc16("123456789") == "29B1"


def test_pix_brcode_of_the_banco_central_manual():
    assert pix.crc16(BCB_CODE[:-4]) == "1D3D"
    assert pix.brcode(BCB_KEY, "Fulano de Tal", "BRASILIA") == BCB_CODE
    fields = pix.parse(BCB_CODE)
    assert fields["59"] == "Fulano de Tal"
    assert pix.account_fields(BCB_CODE) == {"00": "br.gov.bcb.pix", "01": BCB_KEY}


def test_pix_single_use_code_with_amount_and_txid():
    code = pix.brcode("12345678000195", "Padaria Pão Dourado Ltda Filial", "São Paulo", 14155, txid="VIT123",
                      single_use=True)
    fields = pix.parse(code)
    assert fields["01"] == "12"
    assert fields["54"] == "141.55"
    assert fields["59"] == "Padaria Pao Dourado Ltda"  # ASCII, at most 25 characters
    assert fields["60"] == "Sao Paulo"
    assert pix.txid(code) == "VIT123"


def test_pix_with_a_wrong_crc_is_refused():
    with pytest.raises(pix.PixError):
        pix.parse(BCB_CODE[:-4] + "1D3E")
    with pytest.raises(pix.PixError):
        pix.brcode(BCB_KEY, "Fulano", "BRASILIA", txid="not-alnum!")


def test_pix_qr_image():
    svg = pix.qr_svg(BCB_CODE, title="Pix")
    assert ElementTree.fromstring(svg).find("title").text == "Pix"
    assert segno.make(BCB_CODE, error="m", micro=False).error == "M"


def test_transfer_reference_of_iso_11649():
    # ISO 11649's example structured creditor reference, "RF18 5390 0754 7034"
    # (https://en.wikipedia.org/wiki/Creditor_Reference).
    assert bank_transfer.creditor_reference("539007547034") == "RF18539007547034"
    assert bank_transfer.format_reference("RF18539007547034") == "RF18 5390 0754 7034"


def test_transfer_references_found_in_a_description():
    text = "TRANSF DE 76.123.456-7 rf18 5390 0754 7034 pago factura 2026"
    assert bank_transfer.find_references(text) == ["RF18539007547034"]
    assert bank_transfer.find_references("RF18 5390 0754 7035") == []  # one digit off: no match
    with pytest.raises(ValueError):
        bank_transfer.creditor_reference("ABC")


def test_oxxo_sandbox_voucher_on_the_processors_terms():
    now = datetime(2026, 12, 2, 12)
    voucher = oxxo.issue_sandbox_voucher(89900, "MXN", now)
    assert voucher.expires_at == datetime(2026, 12, 7, 12)
    assert len(voucher.number) == oxxo.REFERENCE_DIGITS and voucher.number.isdigit()
    assert oxxo.normalise(oxxo.format_number(voucher.number)) == voucher.number
    assert oxxo.issue_sandbox_voucher(89900, "MXN", now).number != voucher.number
    for amount, currency, days, code in [(89900, "BRL", 5, "currency"), (500, "MXN", 5, "amount"),
                                         (89900, "MXN", 8, "days")]:
        with pytest.raises(oxxo.OxxoError) as refused:
            oxxo.issue_sandbox_voucher(amount, currency, now, days)
        assert refused.value.code == code
