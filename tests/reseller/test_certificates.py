"""A client's digital certificate: every check before it is kept, and kept only encrypted."""

import os
from datetime import UTC, datetime

import pytest

from portal.extensions import db
from portal.models import ClientCertificate
from portal.services.errors import DomainError
from portal.services.resellers import certificates
from tests import factories
from tests.pfx import PASSWORD, der_of, make_pfx

CNPJ = "45398765000160"


@pytest.fixture
def client_org(app):
    office = factories.make_org("reseller", "BR")
    return factories.make_org("customer", "BR", name="Padaria Pão Dourado Ltda", tax_id=CNPJ, reseller_id=office.id)


def refusal(client_org, data: bytes, password: str = PASSWORD) -> str:
    with pytest.raises(DomainError) as raised:
        certificates.store_certificate(client_org, data, password, datetime.now(UTC))
    assert db.session.scalar(db.select(db.func.count()).select_from(ClientCertificate)) == 0
    return raised.value.code


def test_a_valid_certificate_is_kept_encrypted(client_org):
    pfx = make_pfx(CNPJ)
    row = certificates.store_certificate(client_org, pfx, "segredo-123", datetime.now(UTC))
    assert row.tax_id == CNPJ and row.holder.startswith("PADARIA PAO DOURADO LTDA") and row.issuer == "AC TESTE RFB v5"
    stored = (row.encrypted_pfx + row.encrypted_password).encode()
    assert der_of(pfx) not in stored and pfx not in stored and b"segredo-123" not in stored
    assert der_of(pfx).hex().encode() not in stored
    assert certificates.certificate_file(row) == (pfx, "segredo-123")


def test_a_persons_certificate_is_matched_by_its_cpf(app):
    person = factories.make_org("customer", "BR", name="Maria Souza", tax_id="52998224725")
    row = certificates.store_certificate(person, make_pfx(cnpj=None, cpf="52998224725"), "segredo-123",
                                         datetime.now(UTC))
    assert row.tax_id == "52998224725"


@pytest.mark.parametrize(("make", "password", "code"), [
    (lambda: make_pfx(CNPJ, days_left=-1), "segredo-123", "certificate_expired"),
    (lambda: make_pfx(CNPJ, starts_in_days=2), "segredo-123", "certificate_not_yet_valid"),
    (lambda: make_pfx(CNPJ), "wrong password", "certificate_wrong_password"),
    (lambda: make_pfx(CNPJ, mismatched_key=True), "segredo-123", "certificate_key_mismatch"),
    (lambda: make_pfx("11222333000181"), "segredo-123", "certificate_other_holder"),
    (lambda: make_pfx(None), "segredo-123", "certificate_other_holder"),
    (lambda: b"-----BEGIN CERTIFICATE-----\nnot a pfx\n", "segredo-123", "certificate_not_pkcs12"),
    (lambda: os.urandom(2048), "segredo-123", "certificate_not_pkcs12"),
    (lambda: b"\0" * (20 * 1024 * 1024), "segredo-123", "certificate_too_large"),
    (lambda: b"", "segredo-123", "certificate_missing"),
])
def test_each_bad_certificate_gets_its_own_answer_and_nothing_is_kept(client_org, make, password, code):
    assert refusal(client_org, make(), password) == code


def test_a_new_certificate_replaces_the_previous_one(client_org):
    now = datetime.now(UTC)
    certificates.store_certificate(client_org, make_pfx(CNPJ, days_left=10), "segredo-123", now)
    newer = certificates.store_certificate(client_org, make_pfx(CNPJ, days_left=400), "segredo-123", now)
    assert db.session.scalar(db.select(db.func.count()).select_from(ClientCertificate)) == 1
    assert certificates.certificate_state(newer.not_after, now) == "valid"


def test_the_state_warns_under_30_days(client_org):
    now = datetime.now(UTC)
    row = certificates.store_certificate(client_org, make_pfx(CNPJ, days_left=20), "segredo-123", now)
    assert certificates.certificate_state(row.not_after, now) == "expiring"
    assert certificates.certificate_state(None, now) == "missing"
