"""The OpenAPI 3.1 document: every route documented and every documented path a route, refs that resolve,
the key header as security scheme, and answers that match their schemas (checked by tests/api/conftest.py)."""

import pytest
from jsonschema import Draft202012Validator

from tests.api.conftest import PREFIX, documented_path

METHODS = {"get", "post", "put", "patch", "delete"}


def _routes(app) -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            routes.setdefault(documented_path(rule.rule), set()).update(
                m.lower() for m in rule.methods if m.lower() in METHODS)
    return routes


@pytest.fixture
def document(client):
    response = client.get(PREFIX + "/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def test_the_document_is_public_and_openapi_3_1(document):
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": PREFIX}]
    assert document["paths"]["/openapi.json"]["get"]["security"] == []


def test_every_route_is_documented_and_every_documented_path_is_a_route(app, document):
    documented = {path: {m for m in item if m in METHODS} for path, item in document["paths"].items()}
    assert documented == _routes(app)


def test_the_key_travels_in_the_x_api_key_header(document):
    schemes = document["components"]["securitySchemes"]
    assert schemes == {"integrationKey": {**schemes["integrationKey"], "type": "apiKey", "in": "header",
                                          "name": "X-Api-Key"}}
    assert document["security"] == [{"integrationKey": []}]
    for path, item in document["paths"].items():
        for name in ("api_key", "key", "X-Api-Key"):
            assert all(p["name"] != name for op in item.values() for p in op.get("parameters", [])), path


def test_every_operation_documents_its_answers_and_errors(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation.get("operationId") and operation.get("summary"), (path, method)
            responses = operation["responses"]
            assert any(status.startswith("2") for status in responses), (path, method)
            if operation.get("security") != []:
                assert "401" in responses and "429" in responses, (path, method)
            for status, answer in responses.items():
                assert "application/json" in answer["content"], (path, method, status)
                if not status.startswith("2"):
                    assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_every_reference_resolves_and_every_schema_is_valid_json_schema(document):
    schemas = document["components"]["schemas"]
    for ref in set(_refs(document)):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref
    for schema in schemas.values():
        Draft202012Validator.check_schema(schema)


def test_error_codes_are_listed(document):
    codes = document["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    for code in ("unauthorized", "invalid_json", "invalid_event", "batch_too_large", "event_in_future",
                 "event_too_old", "event_id_conflict", "invalid_parameter", "not_found", "too_many_requests"):
        assert code in codes


def test_the_usage_api_documents_that_it_takes_json_only(document):
    operation = document["paths"]["/usage"]["post"]
    assert list(operation["requestBody"]["content"]) == ["application/json"]
    assert "415" in operation["responses"]
    codes = document["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    assert "unsupported_media_type" in codes


def test_an_invoice_id_is_documented_in_the_range_the_column_holds(document):
    (parameter,) = document["paths"]["/invoices/{invoice_id}"]["get"]["parameters"]
    assert parameter["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}


def test_unknown_paths_and_methods_answer_documented_json_errors(api_client):
    assert api_client.get("/nothing-here").get_json()["error"]["code"] in ("not_found", "unauthorized")
    response = api_client.request("DELETE", "/usage")
    assert response.status_code == 405 and response.get_json()["error"]["code"] == "method_not_allowed"


def test_the_answers_of_the_api_tests_were_checked(api_client):
    api_client.get("/me")
    api_client.get("/invoices")
    api_client.post("/usage", json={"events": []})
    assert [status for _method, _path, status in api_client.checker.checked] == [200, 200, 422]
