"""Supplier XMLs ("XMLs de fornecedores"): a client's received NF-e by month, recognised and downloaded by its
reseller's managers only; pages in pt_BR and es, htmx fragments, and plain forms without JavaScript."""

import pytest

from portal.extensions import db
from portal.models import AuditEvent, FiscalDocument
from portal.orm import utcnow
from portal.services.fiscal import documents
from tests import factories
from tests.nfe import RECIPIENT, make_nfe
from tests.reseller.helpers import logged_in, make_client, this_month
from tests.reseller.helpers import supplier_xml as supplied

PT = {"Accept-Language": "pt-BR"}
ES = {"Accept-Language": "es"}


@pytest.fixture
def padaria(manager):
    office = db.session.merge(manager.organisation)
    found = make_client(office, "Padaria Pão Dourado Ltda", tax_id=RECIPIENT)
    db.session.commit()
    return found


def url(client, suffix: str = "") -> str:
    return f"/reseller/clients/{client.id}/supplier-xmls{suffix}"


def csrf(page: str) -> str:
    return page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def test_the_manage_page_offers_supplier_xmls_to_managers_only(manager, padaria, login_as):
    page = manager.get(f"/reseller/clients/{padaria.id}", headers=PT).text
    assert "XMLs de fornecedores" in page and url(padaria) in page
    assert "XML de proveedores" in manager.get(f"/reseller/clients/{padaria.id}", headers=ES).text
    accountant = logged_in(login_as, "reseller", "accountant", organisation=db.session.merge(manager.organisation))
    document = supplied(padaria, 1)
    assert url(padaria) not in accountant.get("/reseller/").text
    for address in (url(padaria), url(padaria, f"/{document.id}.xml")):
        assert accountant.get(address).status_code == 403
    token = csrf(accountant.get("/account/password").text)
    refused = accountant.post(url(padaria, "/recognise"), data={"csrf_token": token, "one": document.id})
    assert refused.status_code == 403


def test_the_month_lists_pending_and_recognised_in_portuguese_and_spanish(manager, padaria):
    supplied(padaria, 7, issuer_name="DISTRIBUIDORA AURORA LTDA")
    page = manager.get(url(padaria), headers=PT)
    assert page.status_code == 200
    assert "XMLs de fornecedores" in page.text and "Buscar mais" in page.text and "Reconhecer" in page.text
    assert "DISTRIBUIDORA AURORA LTDA" in page.text and "11.222.333/0001-81" in page.text
    assert "Pendentes (1)" in page.text and "Reconhecidos (0)" in page.text
    spanish = manager.get(url(padaria), headers=ES).text
    assert "XML de proveedores" in spanish and "Buscar más" in spanish and "Reconocer" in spanish


def test_an_earlier_month_is_fetched_by_year_and_month(manager, padaria):
    supplied(padaria, 8, "2025-03-10T09:00:00-03:00", issuer_name="ATACADO ANTIGO LTDA")
    assert "ATACADO ANTIGO LTDA" not in manager.get(url(padaria)).text
    page = manager.get(url(padaria, "?year=2025&month=3"), headers=PT).text
    assert "ATACADO ANTIGO LTDA" in page and "março de 2025" in page.lower()
    fragment = manager.get(url(padaria, "?year=2025&month=3"), headers={"HX-Request": "true"}).text
    assert "<html" not in fragment and 'id="supplier-xmls"' in fragment and "ATACADO ANTIGO LTDA" in fragment
    previous = manager.get(url(padaria, "?year=2025&month=4")).text
    assert "year=2025&amp;month=3" in previous  # the plain link to the month before


@pytest.mark.parametrize("query", ["?year=1999&month=1", "?year=2025&month=13", "?year=abc&month=2"])
def test_a_month_outside_the_picker_is_a_translated_422(manager, padaria, query):
    response = manager.get(url(padaria, query), headers=PT)
    assert response.status_code == 422
    assert "Escolha" in response.text


def test_pages_of_a_busy_month_come_through_the_pager(manager, padaria):
    for number in range(100, 127):
        supplied(padaria, number)
    first = manager.get(url(padaria)).text
    assert first.count('name="document"') == 25 and 'rel="next"' in first
    second = manager.get(url(padaria, "?state=pending&page=2"), headers={"HX-Request": "true"}).text
    assert second.count('name="document"') == 2


def test_recognising_one_without_javascript_redirects_and_twice_changes_nothing(manager, padaria):
    document = supplied(padaria, 9)
    token = csrf(manager.get(url(padaria)).text)
    response = manager.post(url(padaria, "/recognise"), data={"csrf_token": token, "one": document.id,
                                                              "state": "pending"}, headers=PT)
    assert response.status_code == 303 and "/supplier-xmls?" in response.headers["Location"]
    assert "1 XML foi reconhecido" in manager.get(response.headers["Location"], headers=PT).text
    recognised_at = db.session.get(FiscalDocument, document.id).recognised_at
    assert recognised_at is not None
    again = manager.post(url(padaria, "/recognise"), data={"csrf_token": token, "one": document.id})
    assert again.status_code == 303
    db.session.expire_all()
    assert db.session.get(FiscalDocument, document.id).recognised_at == recognised_at
    assert db.session.scalar(db.select(db.func.count(AuditEvent.id))
                             .where(AuditEvent.action == "supplier_document_recognised")) == 1
    recognised = manager.get(url(padaria, "?state=recognised"), headers=PT).text
    assert "Reconhecido em" in recognised


def test_recognising_several_with_htmx_answers_the_list(manager, padaria):
    first, second, third = supplied(padaria, 11), supplied(padaria, 12), supplied(padaria, 13)
    token = csrf(manager.get(url(padaria)).text)
    response = manager.post(url(padaria, "/recognise"), headers=ES | {"HX-Request": "true"},
                            data={"csrf_token": token, "document": [first.id, second.id], "state": "pending"})
    assert response.status_code == 200 and "<html" not in response.text
    assert "2 XML fueron reconocidos" in response.text and response.text.count('name="document"') == 1
    assert db.session.get(FiscalDocument, third.id).recognised_at is None


def test_recognising_nothing_or_another_clients_xml_is_refused(manager, padaria):
    mine = supplied(padaria, 14)
    other = make_client(factories.make_org("reseller", "BR"), "Outra Ltda", tax_id="11444777000161")
    db.session.commit()
    foreign = supplied(other, 15, recipient="11444777000161")
    token = csrf(manager.get(url(padaria)).text)
    nothing = manager.post(url(padaria, "/recognise"), data={"csrf_token": token}, headers=PT)
    assert nothing.status_code == 422 and "Escolha pelo menos" in nothing.text
    mixed = manager.post(url(padaria, "/recognise"), headers=PT,
                         data={"csrf_token": token, "document": [mine.id, foreign.id]})
    assert mixed.status_code == 422
    db.session.expire_all()
    assert db.session.get(FiscalDocument, mine.id).recognised_at is None
    assert db.session.get(FiscalDocument, foreign.id).recognised_at is None


def test_the_download_is_the_xml_received_named_by_its_access_key(manager, padaria):
    xml = make_nfe(number=16, issued_at=this_month(), issuer_name="LATICÍNIOS SERRA & FILHOS LTDA")
    document = documents.keep_document(db.session.merge(padaria), xml, utcnow()).document
    db.session.commit()
    response = manager.get(url(padaria, f"/{document.id}.xml"))
    assert response.status_code == 200 and response.data == xml
    assert response.mimetype == "application/xml"
    assert f'filename={document.access_key}.xml' in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    issued = documents.keep_document(db.session.merge(padaria), make_nfe(issuer=RECIPIENT, recipient="11222333000181",
                                                                         number=17), utcnow()).document
    db.session.commit()
    assert manager.get(url(padaria, f"/{issued.id}.xml")).status_code == 404
    assert manager.get(url(padaria, "/99999999.xml")).status_code == 404
