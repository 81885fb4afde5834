"""Reading NF-e / NFC-e XML: the facts kept from a real file, and a clear refusal for each kind of bad one."""

from datetime import UTC, datetime

import pytest
from flask_babel import force_locale

from portal.services.errors import DomainError
from portal.services.fiscal import nfe
from tests.nfe import (
    BILLION_LAUGHS,
    EXTERNAL_DTD,
    EXTERNAL_ENTITY,
    ISSUER,
    RECIPIENT,
    access_key,
    make_nfce,
    make_nfe,
    with_doctype,
)


def _refusal(data: bytes) -> DomainError:
    with pytest.raises(DomainError) as error:
        nfe.read_nfe(data)
    return error.value


# Published examples of access keys: invoisys.com.br/blog/como-e-formada-a-chave-de-acesso (an NFC-e of
# Amazonas, check digit 0) and ajuda.maino.com.br, "Como é formada a chave de acesso" (an NF-e of Rio de
# Janeiro, check digit 5).
@pytest.mark.parametrize("key", ["13181017921427000125650010000000309887251170",
                                 "33150308370779000149550010001100931002410775"])
def test_published_access_keys_have_the_check_digit_we_compute(key):
    assert nfe.check_access_key(key) == key
    wrong = key[:43] + str((int(key[43]) + 1) % 10)
    with pytest.raises(DomainError) as error:
        nfe.check_access_key(wrong)
    assert error.value.code == "access_key_check_digit"


def test_an_alphanumeric_cnpj_in_the_key_counts_each_letter_as_its_ascii_code_minus_48():
    key = access_key(issuer="12ABC34501DE35")
    assert key[6:20] == "12ABC34501DE35" and nfe.check_access_key(key) == key


def test_an_authorised_nfe_gives_every_fact(app):
    facts = nfe.read_nfe(make_nfe(total="1234.56", cfops=("5102", "6102", "5102")))
    assert facts.access_key == access_key() and facts.model == "55"
    assert (facts.series, facts.number) == (1, 42)
    assert facts.issued_at == datetime(2026, 11, 20, 13, 15, tzinfo=UTC)
    assert (facts.issuer_tax_id, facts.issuer_name) == (ISSUER, "DISTRIBUIDORA AURORA LTDA")
    assert (facts.recipient_tax_id, facts.recipient_name) == (RECIPIENT, "PADARIA PAO DOURADO LTDA")
    assert facts.total == 123_456 and isinstance(facts.total, int)
    assert (facts.status, facts.status_code, facts.status_reason) == ("authorised", "100", "Autorizado o uso da NF-e")
    assert facts.cfops == ("5102", "6102")


def test_an_nfce_to_a_consumer_without_cpf_has_no_recipient(app):
    facts = nfe.read_nfe(make_nfce(total="19.9"))
    assert facts.model == "65" and facts.recipient_tax_id is None and facts.recipient_name is None
    assert facts.total == 1_990 and facts.cfops == ("5102", "5405")


def test_an_nfce_to_a_consumer_who_gave_a_cpf(app):
    facts = nfe.read_nfe(make_nfce(recipient="52998224725", recipient_name="MARIA DA SILVA"))
    assert (facts.recipient_tax_id, facts.recipient_name) == ("52998224725", "MARIA DA SILVA")


@pytest.mark.parametrize(("status", "expected"), [
    ("100", "authorised"), ("150", "authorised"), ("110", "denied"), ("302", "denied"), ("539", "rejected"),
])
def test_the_protocol_says_whether_it_was_authorised(app, status, expected):
    facts = nfe.read_nfe(make_nfe(status=status, reason="Motivo"))
    assert (facts.status, facts.status_code, facts.status_reason) == (expected, status, "Motivo")


def test_an_nfe_without_its_protocol_is_not_authorised(app):
    facts = nfe.read_nfe(make_nfe(status=None))
    assert (facts.status, facts.status_code, facts.status_reason) == ("not_authorised", None, None)


@pytest.mark.parametrize(("total", "centavos"), [("0.00", 0), ("0.01", 1), ("10", 1_000), ("9999999999999.99",
                                                                                          999_999_999_999_999)])
def test_totals_are_read_as_exact_centavos(app, total, centavos):
    assert nfe.read_nfe(make_nfe(total=total)).total == centavos


@pytest.mark.parametrize("total", ["1,50", "1.505", "-1.00", "1e3", "", "01.00", "NaN", "10000000000000.00"])
def test_a_total_that_is_not_a_decimal_of_the_layout_is_refused(app, total):
    error = _refusal(make_nfe(total=total))
    assert error.code in ("invalid_field", "missing_field") and error.field == "total/ICMSTot/vNF"


@pytest.mark.parametrize("hostile", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, with_doctype(make_nfe())],
                         ids=["billion-laughs", "external-entity", "external-dtd", "internal-dtd"])
def test_a_dtd_or_entity_is_refused_unread(app, hostile):
    error = _refusal(hostile)
    assert error.code == "xml_dtd_forbidden"
    assert "DTD" in str(error.message)


@pytest.mark.parametrize("data", [b"", b"not xml", b"<nfeProc", make_nfe()[:-20], b"\xff\xfe<a/>",
                                  b'<?xml version="1.0" encoding="klingon"?><a/>'])
def test_malformed_xml_is_refused(app, data):
    assert _refusal(data).code == "xml_malformed"


@pytest.mark.parametrize("data", [
    b"<html><body>Nota</body></html>",
    make_nfe().replace(b"http://www.portalfiscal.inf.br/nfe", b"http://example.test/nfe"),
    b'<cteProc xmlns="http://www.portalfiscal.inf.br/cte"><CTe/></cteProc>',
    b'<nfeProc xmlns="http://www.portalfiscal.inf.br/nfe"><protNFe/></nfeProc>',
])
def test_a_document_that_is_not_an_nfe_is_refused(app, data):
    assert _refusal(data).code == "not_nfe"


def test_a_wrong_check_digit_is_refused(app):
    key = access_key()
    wrong = key[:43] + str((int(key[43]) + 1) % 10)
    error = _refusal(make_nfe(key=wrong))
    assert (error.code, error.field) == ("access_key_check_digit", "infNFe/@Id")
    assert wrong in str(error.message)


@pytest.mark.parametrize("key", ["123", "3526111122233300018155001000000042112345678", "x" * 44, ""])
def test_an_access_key_of_the_wrong_shape_is_refused(app, key):
    data = make_nfe().replace(f'Id="NFe{access_key()}"'.encode(), f'Id="NFe{key}"'.encode())
    assert _refusal(data).code == "invalid_access_key"


@pytest.mark.parametrize(("change", "field"), [
    ({"number": 43, "key": access_key(number=42)}, "ide/nNF"),
    ({"series": 2, "key": access_key(series=1)}, "ide/serie"),
    ({"issuer": "45398765000160", "key": access_key(issuer=ISSUER)}, "emit/CNPJ"),
    ({"model": "65", "key": access_key(model="55")}, "ide/mod"),
])
def test_a_document_that_disagrees_with_its_key_is_refused(app, change, field):
    error = _refusal(make_nfe(**change))
    assert (error.code, error.field) == ("access_key_mismatch", field)


def test_a_protocol_of_another_key_is_refused(app):
    other = access_key(number=99)
    data = make_nfe().replace(f"<chNFe>{access_key()}</chNFe>".encode(), f"<chNFe>{other}</chNFe>".encode())
    assert _refusal(data).code == "access_key_mismatch"


def test_another_model_is_refused(app):
    error = _refusal(make_nfe(model="57"))
    assert (error.code, error.field) == ("unsupported_model", "ide/mod")


def test_a_document_of_the_test_environment_is_refused(app):
    assert _refusal(make_nfe(environment="2")).code == "test_environment"


@pytest.mark.parametrize(("remove", "field"), [
    (b"<dhEmi>2026-11-20T10:15:00-03:00</dhEmi>", "ide/dhEmi"),
    (b"<vNF>1234.56</vNF>", "total/ICMSTot/vNF"),
    (b"<serie>1</serie>", "ide/serie"),
    (b"<xNome>DISTRIBUIDORA AURORA LTDA</xNome>", "emit/xNome"),
    (f"<CNPJ>{ISSUER}</CNPJ>".encode(), "emit/CNPJ"),
    (f"<CNPJ>{RECIPIENT}</CNPJ>".encode(), "dest/CNPJ"),
])
def test_a_missing_field_is_named(app, remove, field):
    error = _refusal(make_nfe().replace(remove, b""))
    assert (error.code, error.field) == ("missing_field", field)
    assert field in str(error.message)


@pytest.mark.parametrize(("fields", "field"), [
    ({"issued_at": "2026-11-20T10:15:00"}, "ide/dhEmi"),
    ({"issued_at": "20/11/2026"}, "ide/dhEmi"),
    ({"recipient": "45398765000161"}, "dest/CNPJ"),
    ({"recipient": "12345678901"}, "dest/CPF"),
    ({"cfops": ("51020",)}, "det/prod/CFOP"),
    ({"issuer_name": "A" * 201}, "emit/xNome"),
])
def test_an_invalid_field_is_named(app, fields, field):
    error = _refusal(make_nfe(**fields))
    assert (error.code, error.field) == ("invalid_field", field)


def test_an_invalid_issuer_cnpj_is_refused(app):
    issuer = "11222333000182"
    error = _refusal(make_nfe(issuer=issuer))
    assert (error.code, error.field) == ("invalid_field", "emit/CNPJ")


def test_a_document_over_the_size_limit_is_refused_before_parsing(app):
    assert _refusal(b" " * (nfe.MAX_BYTES + 1)).code == "document_too_large"


def test_a_latin_1_file_is_read(app):
    data = make_nfe(issuer_name="PANIFICAÇÃO").decode().replace("UTF-8", "ISO-8859-1").encode("latin-1")
    assert nfe.read_nfe(data).issuer_name == "PANIFICAÇÃO"


def test_messages_are_translated(app):
    for language, expected in (("pt_BR", "não tem valor fiscal"), ("es", "no tiene valor fiscal"),
                               ("en", "has no fiscal value")):
        with force_locale(language):
            assert expected in str(_refusal(make_nfe(environment="2")).message)
