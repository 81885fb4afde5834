"""The license check API: the vendor's software sends an authorisation code and the client's tax id and gets
valid / cancelled / unknown with the product and its users; only the vendor's key asks, checks are limited per
address, an unknown code costs the same lookup as a real one, and the message is in the language asked for."""

from unittest import mock

import pytest
from sqlalchemy import event

from portal.extensions import db
from portal.models.partners import PartnerClient
from portal.orm import utcnow
from portal.services.accounts import blocking
from portal.services.partners import codes, license_check, stock
from tests import factories

CNPJ = "11.222.333/0001-81"
CPF = "390.533.447-05"
PATH = "/licenses/check"


@pytest.fixture
def vendor_api(api_client, keyed_org):
    """The API client with the vendor's integration key."""
    vendor, key = keyed_org("vendor")
    api_client.key, api_client.organisation = key, vendor
    return api_client


@pytest.fixture
def partner(app):
    return factories.make_org("partner", country="BR", currency="BRL")


def _license(partner, tax_id=CNPJ, users=3, names=None):
    product = factories.make_product("module", name="Módulo SPED", prices=(), names=names or {})
    factories.make_partner_stock(partner, product, 1, users_per_license=users)
    seller = factories.make_member("partner", "seller", organisation=partner).user
    activation = stock.activate(partner, seller, product, "Mercado Boa Vista Ltda", tax_id, "", utcnow())
    db.session.commit()
    return activation


def _check(api, code, tax_id, **kwargs):
    return api.post(PATH, json={"code": code, "tax_id": tax_id}, **kwargs)


def test_a_license_of_the_client_is_valid_with_its_product_and_users(vendor_api, partner):
    activation = _license(partner)
    typed = codes.grouped(activation.code).lower().replace("-", " ")  # as a person reads it out
    response = _check(vendor_api, typed, "11222333000181")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "valid" and body["code_well_formed"] is True
    assert body["product"] == {"code": activation.product.code, "name": "Módulo SPED"}
    assert body["users"] == 3 and body["cancelled_at"] is None
    assert body["activated_at"].endswith("Z")
    assert body["message"] == "The license is valid: Módulo SPED for 3 users."
    assert _check(vendor_api, codes.grouped(activation.code), CNPJ).get_json()["status"] == "valid"


def test_a_cancelled_license_answers_cancelled_to_its_client(vendor_api, partner):
    activation = _license(partner)
    stock.cancel_activation(db.session.merge(activation), factories.make_member("partner", "admin",
                                                                                organisation=partner).user, utcnow())
    db.session.commit()
    body = _check(vendor_api, activation.code, CNPJ).get_json()
    assert body["status"] == "cancelled" and body["users"] == 3 and body["cancelled_at"].endswith("Z")
    assert body["product"]["name"] == "Módulo SPED"
    assert body["message"] == "This license was cancelled. The partner that activated it can activate a new one."


UNKNOWN = {"status": "unknown", "product": None, "users": None, "activated_at": None, "cancelled_at": None,
           "code_well_formed": True,
           "message": "No license has this authorisation code for this tax id. Check both and try again."}


def test_an_unknown_code_and_another_clients_tax_id_answer_alike(vendor_api, partner):
    activation = _license(partner)
    other = _license(partner, tax_id=CPF)
    answers = [
        _check(vendor_api, codes.new_code(), CNPJ),  # a code nobody activated
        _check(vendor_api, activation.code, CPF),  # a real code, with the tax id of another client of the partner
        _check(vendor_api, activation.code, "39.053.344/0001-07"),  # … or of nobody
        _check(vendor_api, other.code, CNPJ),
        _check(vendor_api, activation.code, "1" + CNPJ),  # a digit more is another tax id, not a prefix match
        _check(vendor_api, activation.code, "11222333"),
        _check(vendor_api, activation.code, "./-"),  # nothing of a tax id in it
    ]
    assert [(answer.status_code, answer.get_json()) for answer in answers] == [(200, UNKNOWN)] * len(answers)


def test_a_client_cancelled_altogether_no_longer_has_its_codes_known(vendor_api, partner):
    activation = _license(partner)
    admin = factories.make_member("partner", "admin", organisation=partner).user
    client = db.session.get(PartnerClient, activation.client_id)
    assert stock.cancel_client(partner, client, admin, utcnow()) == 1
    db.session.commit()
    # Its CNPJ was removed from the portal: nothing is left to match it with, so the code is unknown.
    assert _check(vendor_api, activation.code, CNPJ).get_json() == UNKNOWN


@pytest.mark.parametrize("typed", [
    "ABCD",  # too short
    "2" * 21,  # too long
    "0OIL-2345-6789-ABCD-EFGH",  # characters outside the alphabet
    " \t ",
    "a\x00b",
])
def test_a_code_that_cannot_be_one_is_unknown_and_said_to_be_mistyped(vendor_api, partner, typed):
    body = _check(vendor_api, typed, CNPJ).get_json()
    assert body["status"] == "unknown" and body["code_well_formed"] is False and body["product"] is None
    assert body["message"].startswith("This is not an authorisation code")


def test_a_mistyped_character_of_a_real_code_is_caught_by_its_check_character(vendor_api, partner):
    code = _license(partner).code
    wrong = ("3" if code[5] == "2" else "2").join([code[:5], code[6:]])
    body = _check(vendor_api, wrong, CNPJ).get_json()
    assert body["status"] == "unknown" and body["code_well_formed"] is False


@pytest.mark.parametrize("body", [None, [], {}, {"code": "X"}, {"tax_id": CNPJ}, {"code": 7, "tax_id": CNPJ},
                                  {"code": "ABCD", "tax_id": ["1"]}, {"code": "", "tax_id": CNPJ},
                                  {"code": "A" * 65, "tax_id": CNPJ}, {"code": "ABCD", "tax_id": "1" * 65}])
def test_a_body_without_the_two_texts_is_refused(vendor_api, body):
    if body is None:
        response = vendor_api.post(PATH, data="code=ABCD&tax_id=1", content_type="application/x-www-form-urlencoded")
    else:
        response = vendor_api.post(PATH, json=body)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_payload" and error["field"] in ("code", "tax_id")


def _statements(app):
    seen: list[str] = []

    def before(_connection, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    return seen, lambda: event.remove(db.engine, "before_cursor_execute", before)


def test_every_answer_runs_the_same_lookup_and_compares_the_tax_id_in_constant_time(app, vendor_api, partner):
    activation = _license(partner)
    cases = {"valid": (activation.code, CNPJ), "unknown code": (codes.new_code(), CNPJ),
             "wrong tax id": (activation.code, CPF), "malformed code": ("not a code", CNPJ),
             "empty tax id": (activation.code, "--")}
    lookups = {}
    for label, (code, tax_id) in cases.items():
        seen, stop = _statements(app)
        with mock.patch.object(license_check.hmac, "compare_digest", wraps=license_check.hmac.compare_digest) as cmp:
            license_check.check_license(code, tax_id)
        stop()
        assert cmp.call_count == 1, label
        (compared, typed), _kwargs = cmp.call_args
        assert len(compared) == len(typed) == license_check.MAX_TAX_ID, label  # always the same length
        assert len(seen) == 1, (label, seen)
        lookups[label] = seen[0]
    assert len(set(lookups.values())) == 1, lookups


def test_without_a_valid_key_the_check_is_401(vendor_api):
    for key in ("", "vk_live_" + "x" * 43):
        response = vendor_api.post(PATH, key=key or "", json={"code": codes.new_code(), "tax_id": CNPJ})
        assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("kind", ["customer", "partner", "reseller"])
def test_a_key_that_is_not_the_vendors_cannot_check_licenses(vendor_api, keyed_org, partner, kind):
    activation = _license(partner)
    _org, key = keyed_org(kind)
    response = _check(vendor_api, activation.code, CNPJ, key=key)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "vendor_key_required"
    if kind == "partner":  # not even the partner that activated it
        _member = factories.make_member("partner", "admin", organisation=partner)
        from portal.services.accounts import integration

        own = integration.generate_key(partner, None)
        db.session.commit()
        assert _check(vendor_api, activation.code, CNPJ, key=own).status_code == 403


def test_a_blocked_vendor_key_is_refused(vendor_api):
    blocking.block(db.session.merge(vendor_api.organisation), "staff", utcnow())
    db.session.commit()
    response = _check(vendor_api, codes.new_code(), CNPJ)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "account_blocked"


def test_checks_are_limited_per_address_with_retry_after_not_per_key(app, vendor_api, partner):
    app.config.update(API_LICENSE_CHECK_LIMIT="2 per minute", API_RATE_LIMIT="1 per minute")
    code = _license(partner).code
    office = {"environ_base": {"REMOTE_ADDR": "127.0.0.2"}}
    assert [_check(vendor_api, code, CNPJ, **office).status_code for _ in range(2)] == [200, 200]
    refused = _check(vendor_api, code, CNPJ, **office)
    assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # The same vendor key from another client's office goes on working: one office never uses up the others'.
    for address in ("127.0.0.3", "127.0.0.4"):
        assert _check(vendor_api, code, CNPJ, environ_base={"REMOTE_ADDR": address}).status_code == 200


def test_wrong_keys_on_the_check_are_limited_per_address(app, vendor_api):
    app.config["API_FAILED_KEY_LIMIT"] = "3 per minute"
    wrong = {"key": "vk_live_" + "y" * 43, "environ_base": {"REMOTE_ADDR": "127.0.0.5"}}
    assert [_check(vendor_api, "ABCD", CNPJ, **wrong).status_code for _ in range(3)] == [401] * 3
    assert _check(vendor_api, "ABCD", CNPJ, **wrong).status_code == 429


@pytest.mark.parametrize(("language", "valid", "unknown", "mistyped", "refused"), [
    ("es-CL,es;q=0.9", "La licencia es válida", "Ninguna licencia tiene", "Esto no es un código", "Envía un objeto"),
    ("pt-BR,pt;q=0.9,en;q=0.5", "A licença é válida", "Nenhuma licença tem", "Isto não é um código",
     "Envie um objeto"),
    ("en-US,en;q=0.9", "The license is valid", "No license has", "This is not an authorisation code",
     "Send a JSON object"),
])
def test_messages_are_in_the_language_asked_for(vendor_api, partner, language, valid, unknown, mistyped, refused):
    activation = _license(partner, names={"es": {"name": "Módulo SPED (es)"}, "pt_BR": {"name": "Módulo SPED"}})
    headers = {"Accept-Language": language}
    answer = _check(vendor_api, activation.code, CNPJ, headers=headers).get_json()
    assert answer["message"].startswith(valid) and answer["message"].endswith(
        ("3 usuarios.", "3 usuários.", "3 users."))
    if language.startswith("es"):
        assert answer["product"]["name"] == "Módulo SPED (es)"
    assert _check(vendor_api, codes.new_code(), CNPJ, headers=headers).get_json()["message"].startswith(unknown)
    assert _check(vendor_api, "ABCD", CNPJ, headers=headers).get_json()["message"].startswith(mistyped)
    error = vendor_api.post(PATH, json={"code": 1}, headers=headers).get_json()["error"]
    assert error["message"].startswith(refused)


def test_one_user_is_said_in_the_singular(vendor_api, partner):
    activation = _license(partner, users=1)
    spanish = _check(vendor_api, activation.code, CNPJ, headers={"Accept-Language": "es"}).get_json()
    assert spanish["message"].endswith("para 1 usuario.")


def test_the_openapi_document_describes_the_check(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"][PATH]["post"]
    assert operation["operationId"] == "checkLicense"
    assert {"200", "401", "403", "422", "429"} <= set(operation["responses"])
    answer = document["components"]["schemas"]["LicenseCheck"]
    assert answer["properties"]["status"]["enum"] == ["valid", "cancelled", "unknown"]
    codes_listed = document["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    assert "vendor_key_required" in codes_listed
    request = document["components"]["schemas"]["LicenseCheckRequest"]["properties"]
    assert codes.normalise(request["code"]["examples"][0]) is not None  # the example is a code a client could have


def test_the_vendor_key_command_prints_a_key_that_checks_licenses_and_revokes_the_previous(app, runner, partner):
    from portal.services.accounts import integration

    refused = runner.invoke(args=["vendor-key"])
    assert refused.exit_code != 0 and "no vendor organisation" in refused.output
    vendor = factories.make_org("vendor")
    activation = _license(partner)
    first = runner.invoke(args=["vendor-key"])
    assert first.exit_code == 0 and vendor.name in first.output
    key = first.output.split()[-1]
    db.session.expire_all()
    assert integration.organisation_for_key(key).id == vendor.id
    client = app.test_client()
    answer = client.post("/api/v1/licenses/check", headers={"X-Api-Key": key},
                         json={"code": activation.code, "tax_id": CNPJ})
    assert answer.status_code == 200 and answer.get_json()["status"] == "valid"
    second = runner.invoke(args=["vendor-key"]).output.split()[-1]
    db.session.expire_all()
    assert second != key and integration.organisation_for_key(key) is None
