"""A client's supplier XMLs as its reseller's manager sees them: by month, pending and recognised, recognised once."""

import zlib
from datetime import UTC, datetime

import pytest

from portal.extensions import db
from portal.models import AuditEvent, FiscalDocument
from portal.services.errors import DomainError
from portal.services.fiscal import client_documents as supplier
from portal.services.fiscal import documents
from portal.services.fiscal.client_documents import Month
from tests import factories
from tests.nfe import RECIPIENT, make_nfce, make_nfe
from tests.reseller.helpers import make_client

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


@pytest.fixture
def office(app):
    return factories.make_org("reseller", "BR")


@pytest.fixture
def padaria(office):
    return make_client(office, "Padaria Pão Dourado Ltda", tax_id=RECIPIENT)


@pytest.fixture
def manager(office):
    return factories.make_member("reseller", "manager", organisation=office).user


def keep(client, xml: bytes) -> FiscalDocument:
    return documents.keep_document(client, xml, NOW).document


def received(client, number: int, issued_at: str = "2026-11-20T10:15:00-03:00") -> FiscalDocument:
    return keep(client, make_nfe(number=number, issued_at=issued_at, year_month=issued_at[2:4] + issued_at[5:7]))


def test_the_month_is_the_clients_calendar_month(padaria):
    assert padaria.timezone == "America/Sao_Paulo"
    # 1 December 01:30 in UTC is still 30 November in São Paulo.
    late = received(padaria, 1, "2026-11-30T22:30:00-03:00")
    early = received(padaria, 2, "2026-12-01T00:10:00-03:00")
    november = list(db.session.scalars(supplier.supplier_documents(padaria, Month(2026, 11), supplier.PENDING)))
    december = list(db.session.scalars(supplier.supplier_documents(padaria, Month(2026, 12), supplier.PENDING)))
    assert november == [late] and december == [early]
    assert supplier.month_of(padaria, datetime(2026, 12, 1, 1, 30, tzinfo=UTC)) == Month(2026, 11)


def test_only_the_clients_received_documents_are_listed(office, padaria):
    mine = received(padaria, 10)
    keep(padaria, make_nfe(issuer=RECIPIENT, recipient="11222333000181", number=11))  # issued by the client
    other = make_client(factories.make_org("reseller", "BR"), "Outra Padaria Ltda", tax_id="11444777000161")
    keep(other, make_nfe(recipient="11444777000161", number=12))
    listed = list(db.session.scalars(supplier.supplier_documents(padaria, Month(2026, 11), supplier.PENDING)))
    assert listed == [mine]
    assert supplier.counts(padaria, Month(2026, 11)) == {"pending": 1, "recognised": 0}
    assert supplier.supplier_document(padaria, mine.id) == mine
    assert supplier.supplier_document(padaria, other.id) is None


def test_recognising_moves_a_document_once_and_audits_it(padaria, manager):
    first, second = received(padaria, 20), received(padaria, 21)
    done = supplier.recognise(padaria, [str(first.id), str(second.id)], manager, NOW, "203.0.113.9")
    assert {document.id for document in done} == {first.id, second.id}
    assert first.recognised_at == NOW and first.recognised_by_id == manager.id
    assert supplier.counts(padaria, Month(2026, 11)) == {"pending": 0, "recognised": 2}
    events = list(db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "supplier_document_recognised")))
    assert {event.object_id for event in events} == {str(first.id), str(second.id)}
    assert events[0].organisation_id == padaria.id and events[0].address == "203.0.113.9"
    # Twice: nothing changes, not even the audit log.
    later = datetime(2026, 11, 26, tzinfo=UTC)
    assert supplier.recognise(padaria, [str(first.id)], manager, later) == []
    db.session.refresh(first)
    assert first.recognised_at == NOW
    assert db.session.scalar(db.select(db.func.count(AuditEvent.id))
                             .where(AuditEvent.action == "supplier_document_recognised")) == 2


@pytest.mark.parametrize("raw", [[], [""], ["abc"], ["99999999999999"], ["-3"]])
def test_a_bad_choice_is_refused_with_nothing_written(padaria, manager, raw):
    received(padaria, 30)
    with pytest.raises(DomainError) as refused:
        supplier.recognise(padaria, raw, manager, NOW)
    assert refused.value.code == "no_document"


def test_another_clients_document_is_refused_and_nothing_is_recognised(office, padaria, manager):
    mine = received(padaria, 40)
    issued = keep(padaria, make_nfce(issuer=RECIPIENT, number=41))
    for foreign in (issued.id, mine.id + 1000):
        with pytest.raises(DomainError) as refused:
            supplier.recognise(padaria, [str(mine.id), str(foreign)], manager, NOW)
        assert refused.value.code == "unknown_document"
    assert db.session.get(FiscalDocument, mine.id).recognised_at is None


def test_the_month_picker_offers_the_years_since_the_oldest_document(padaria):
    assert supplier.years_offered(padaria, NOW) == [2026]
    received(padaria, 50, "2024-03-10T09:00:00-03:00")
    assert supplier.years_offered(padaria, NOW) == [2026, 2025, 2024]
    assert supplier.chosen_month(padaria, None, None, NOW) == Month(2026, 11)
    assert supplier.chosen_month(padaria, "2024", "3", NOW) == Month(2024, 3)
    for year, month, code in (("2023", "1", "invalid_year"), ("20x4", "1", "invalid_year"),
                              ("2025", "13", "invalid_month"), ("2025", "0", "invalid_month")):
        with pytest.raises(DomainError) as refused:
            supplier.chosen_month(padaria, year, month, NOW)
        assert refused.value.code == code


def test_the_download_is_the_bytes_received_named_by_the_access_key(padaria):
    xml = make_nfe(number=60, issuer_name="ATACADÃO PAULISTA S.A.")
    document = keep(padaria, xml)
    assert document.xml != xml and zlib.decompress(document.xml) == xml
    assert documents.document_xml(document) == xml
    assert supplier.xml_filename(document) == f"{document.access_key}.xml"
