"""POST /api/v1/fiscal-documents: a client's software sends its NF-e / NFC-e XMLs, one or in a batch; each access
key is kept once, as issued or received by the client, and every bad file is refused with its reason."""

import io
from datetime import UTC, datetime

import pytest

from portal.extensions import db
from portal.models import FiscalDocument
from portal.orm import utcnow
from portal.services.accounts import blocking
from portal.services.fiscal import documents
from tests.nfe import (
    BILLION_LAUGHS,
    EXTERNAL_DTD,
    EXTERNAL_ENTITY,
    access_key,
    make_nfce,
    make_nfe,
    with_doctype,
)

SUPPLIER = "11222333000181"


@pytest.fixture
def client_company(keyed_org, api_checker, app):
    """A Brazilian client company with its integration key, as an API client."""
    from tests.api.conftest import ApiClient

    organisation, key = keyed_org(country="BR")
    api = ApiClient(app.test_client(), api_checker, key)
    api.organisation, api.tax_id = organisation, organisation.tax_id
    return api


def _send(api, xml: bytes, **kwargs):
    return api.post("/fiscal-documents", data=xml, content_type="application/xml", **kwargs)


def _batch(api, *files, **kwargs):
    parts = [(io.BytesIO(data), name) for name, data in files]
    return api.post("/fiscal-documents", data={"files": parts}, content_type="multipart/form-data", **kwargs)


def _kept(organisation=None) -> list[FiscalDocument]:
    db.session.rollback()
    query = db.select(FiscalDocument).order_by(FiscalDocument.id)
    if organisation is not None:
        query = query.where(FiscalDocument.organisation_id == organisation.id)
    return list(db.session.scalars(query))


def test_an_issued_nfe_is_kept_with_its_facts_and_its_xml(client_company):
    xml = make_nfe(issuer=client_company.tax_id, total="1234.56", cfops=("5102", "6102"))
    response = _send(client_company, xml)
    assert response.status_code == 201
    body = response.get_json()
    assert body["result"] == "stored"
    document = body["document"]
    assert document["access_key"] == access_key(issuer=client_company.tax_id)
    assert (document["model"], document["direction"], document["series"], document["number"]) == ("55", "issued", 1,
                                                                                                 42)
    assert document["issued_at"] == "2026-11-20T13:15:00Z"
    assert document["issuer"] == {"tax_id": client_company.tax_id, "name": "DISTRIBUIDORA AURORA LTDA"}
    assert document["recipient"] == {"tax_id": "45398765000160", "name": "PADARIA PAO DOURADO LTDA"}
    assert (document["total"], document["currency"]) == (123_456, "BRL")
    assert (document["status"], document["status_code"]) == ("authorised", "100")
    assert document["cfops"] == ["5102", "6102"]
    (kept,) = _kept()
    assert kept.organisation_id == client_company.organisation.id and kept.total == 123_456
    assert kept.issued_at == datetime(2026, 11, 20, 13, 15, tzinfo=UTC)
    assert documents.document_xml(kept) == xml and kept.xml != xml


def test_a_suppliers_nfe_is_kept_as_received(client_company):
    response = _send(client_company, make_nfe(issuer=SUPPLIER, recipient=client_company.tax_id))
    assert response.status_code == 201
    assert response.get_json()["document"]["direction"] == "received"
    assert [d.direction for d in _kept()] == ["received"]


def test_an_nfce_to_a_consumer_without_cpf_is_kept_as_issued(client_company):
    response = _send(client_company, make_nfce(issuer=client_company.tax_id, total="19.90"))
    document = response.get_json()["document"]
    assert response.status_code == 201
    assert (document["model"], document["direction"], document["total"]) == ("65", "issued", 1_990)
    assert document["recipient"] == {"tax_id": None, "name": None}


def test_an_nfe_without_its_protocol_is_kept_as_not_authorised(client_company):
    response = _send(client_company, make_nfe(issuer=client_company.tax_id, status=None))
    assert response.status_code == 201
    assert response.get_json()["document"]["status"] == "not_authorised"


def test_the_same_access_key_is_kept_once_and_sending_it_again_says_so(client_company):
    xml = make_nfe(issuer=client_company.tax_id)
    first = _send(client_company, xml)
    again = _send(client_company, xml)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["result"] == "duplicate"
    assert again.get_json()["document"]["id"] == first.get_json()["document"]["id"]
    assert len(_kept()) == 1


def test_issuer_and_recipient_each_keep_the_same_document(client_company, keyed_org, api_checker, app):
    from tests.api.conftest import ApiClient

    buyer, buyer_key = keyed_org(country="BR")
    xml = make_nfe(issuer=client_company.tax_id, recipient=buyer.tax_id)
    assert _send(client_company, xml).get_json()["document"]["direction"] == "issued"
    buyer_api = ApiClient(app.test_client(), api_checker, buyer_key)
    assert _send(buyer_api, xml).get_json()["document"]["direction"] == "received"
    assert [d.direction for d in _kept(client_company.organisation)] == ["issued"]
    assert [d.direction for d in _kept(buyer)] == ["received"]


def test_a_document_of_two_other_companies_is_refused(client_company):
    response = _send(client_company, make_nfe(issuer=SUPPLIER, recipient="45398765000160"))
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "not_your_document"
    assert _kept() == []


@pytest.mark.parametrize("hostile", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, "doctype"],
                         ids=["billion-laughs", "external-entity", "external-dtd", "internal-dtd"])
def test_hostile_xml_is_refused_and_nothing_is_kept(client_company, hostile):
    xml = with_doctype(make_nfe(issuer=client_company.tax_id)) if hostile == "doctype" else hostile
    response = _send(client_company, xml)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "xml_dtd_forbidden"
    assert _kept() == []


def test_a_wrong_check_digit_is_refused_naming_the_key(client_company):
    key = access_key(issuer=client_company.tax_id)
    wrong = key[:43] + str((int(key[43]) + 1) % 10)
    response = _send(client_company, make_nfe(issuer=client_company.tax_id, key=wrong))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert (error["code"], error["field"]) == ("access_key_check_digit", "infNFe/@Id")
    assert wrong in error["message"]
    assert _kept() == []


@pytest.mark.parametrize(("xml", "code"), [
    (b"<nota>", "xml_malformed"),
    (b"<html><body>NF-e</body></html>", "not_nfe"),
    (b"", "xml_malformed"),
])
def test_a_file_that_is_not_an_nfe_is_refused(client_company, xml, code):
    response = _send(client_company, xml)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == code


def test_refusals_are_in_the_callers_language(client_company):
    xml = make_nfe(issuer=client_company.tax_id, environment="2")
    messages = {language: _send(client_company, xml, headers={"Accept-Language": language}).get_json()["error"]
                ["message"] for language in ("en", "es", "pt-BR")}
    assert "has no fiscal value" in messages["en"]
    assert "no tiene valor fiscal" in messages["es"]
    assert "não tem valor fiscal" in messages["pt-BR"]
    batch = _batch(client_company, ("a.xml", b"<x"), headers={"Accept-Language": "pt-BR"}).get_json()
    assert batch["results"][0]["error"]["message"] == "O arquivo não é um XML bem formado."


def test_a_batch_answers_for_each_file_in_order(client_company):
    mine = client_company.tax_id
    already = make_nfe(issuer=mine, number=1)
    _send(client_company, already)
    key = access_key(issuer=mine, number=3)
    files = [
        ("nova.xml", make_nfe(issuer=mine, number=2)),
        ("repetida.xml", already),
        ("digito.xml", make_nfe(issuer=mine, number=3, key=key[:43] + str((int(key[43]) + 1) % 10))),
        ("alheia.xml", make_nfe(issuer=SUPPLIER, recipient="45398765000160", number=4)),
        ("fornecedor.xml", make_nfe(issuer=SUPPLIER, recipient=mine, number=5)),
        ("bomba.xml", BILLION_LAUGHS),
        ("nova-de-novo.xml", make_nfe(issuer=mine, number=2)),
        ("cupom.xml", make_nfce(issuer=mine, number=6)),
    ]
    response = _batch(client_company, *files)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["stored"], body["duplicates"], body["refused"]) == (3, 2, 3)
    assert [(r["index"], r["filename"], r["result"]) for r in body["results"]] == [
        (0, "nova.xml", "stored"), (1, "repetida.xml", "duplicate"), (2, "digito.xml", "refused"),
        (3, "alheia.xml", "refused"), (4, "fornecedor.xml", "stored"), (5, "bomba.xml", "refused"),
        (6, "nova-de-novo.xml", "duplicate"), (7, "cupom.xml", "stored")]
    assert [body["results"][n]["error"]["code"] for n in (2, 3, 5)] == [
        "access_key_check_digit", "not_your_document", "xml_dtd_forbidden"]
    assert body["results"][4]["document"]["direction"] == "received"
    kept = _kept()
    assert sorted((d.number, d.direction, d.model) for d in kept) == [
        (1, "issued", "55"), (2, "issued", "55"), (5, "received", "55"), (6, "issued", "65")]


def test_a_batch_without_files_is_refused(client_company):
    response = client_company.post("/fiscal-documents", data={"note": "nada"}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_payload"


def test_a_batch_of_too_many_files_is_refused_whole(client_company):
    files = [(f"{n}.xml", make_nfe(issuer=client_company.tax_id, number=n))
             for n in range(1, documents.MAX_BATCH_FILES + 2)]
    response = _batch(client_company, *files)
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "batch_too_large"
    assert _kept() == []
    assert _batch(client_company, *files[:-1]).get_json()["stored"] == documents.MAX_BATCH_FILES


def test_a_batch_over_its_size_limit_is_refused_whole(client_company):
    big = [(f"{n}.xml", b" " * (1024 * 1024)) for n in range(9)]
    response = _batch(client_company, ("ok.xml", make_nfe(issuer=client_company.tax_id)), *big)
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "batch_too_large"
    assert _kept() == []


def test_an_xml_over_its_size_limit_is_refused(client_company):
    xml = make_nfe(issuer=client_company.tax_id)
    padded = xml + b" " * (1024 * 1024)
    response = _send(client_company, padded)
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "document_too_large"
    in_batch = _batch(client_company, ("grande.xml", padded)).get_json()
    assert in_batch["results"][0]["error"]["code"] == "document_too_large"
    assert _kept() == []


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "application/octet-stream"])
def test_other_media_types_are_415(client_company, content_type):
    response = client_company.post("/fiscal-documents", data=make_nfe(issuer=client_company.tax_id),
                                   content_type=content_type)
    assert response.status_code == 415 and response.get_json()["error"]["code"] == "unsupported_media_type"


def test_text_xml_is_accepted_too(client_company):
    response = client_company.post("/fiscal-documents", data=make_nfe(issuer=client_company.tax_id),
                                   content_type="text/xml; charset=utf-8")
    assert response.status_code == 201


def test_a_wrong_key_is_401_and_nothing_is_kept(client_company):
    for key in ("vk_live_" + "x" * 43, ""):
        response = client_company.post("/fiscal-documents", key=key or "-", data=make_nfe(),
                                       content_type="application/xml")
        assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"
    assert _kept() == []


@pytest.mark.parametrize(("reason", "status", "code"), [("unpaid", 402, "payment_required"),
                                                        ("reseller", 403, "account_blocked")])
def test_a_blocked_client_cannot_send_documents(client_company, reason, status, code):
    blocking.block(db.session.merge(client_company.organisation), reason, utcnow())
    db.session.commit()
    response = _send(client_company, make_nfe(issuer=client_company.tax_id))
    assert response.status_code == status and response.get_json()["error"]["code"] == code
    assert _kept() == []


def test_a_part_without_a_filename_is_a_file_too(client_company):
    xml = make_nfe(issuer=client_company.tax_id)
    boundary = "fronteira"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"\r\nContent-Type: application/xml\r\n\r\n"
            .encode() + xml + f"\r\n--{boundary}--\r\n".encode())
    response = client_company.post("/fiscal-documents", data=body,
                                   content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 200
    assert response.get_json()["results"] == [{"index": 0, "filename": None, "result": "stored",
                                                "document": response.get_json()["results"][0]["document"]}]


@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary=fronteira"])
def test_a_cut_or_boundless_multipart_body_is_refused_and_nothing_is_kept(client_company, content_type):
    xml = make_nfe(issuer=client_company.tax_id)
    body = b'--fronteira\r\nContent-Disposition: form-data; name="files"; filename="a.xml"\r\n\r\n' + xml[:200]
    response = client_company.post("/fiscal-documents", data=body, content_type=content_type)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "invalid_payload"
    assert _kept() == []
