"""HTTP as the API speaks it: 405 with Allow, 429 with Retry-After, answers never cached, and a limit on
wrong keys from one address that a valid key from the same address gets through (QUALITY.md R7)."""

import pytest

from tests.api.conftest import PREFIX

DOCUMENTED = {"/openapi.json": "GET", "/me": "GET", "/usage": "POST", "/invoices": "GET", "/invoices/1": "GET"}


@pytest.mark.parametrize("method", ["TRACE", "DELETE", "PUT", "PATCH"])
def test_an_undeclared_method_is_405_naming_the_methods_allowed(api_client, method):
    for path, declared in DOCUMENTED.items():
        response = api_client.request(method, path)
        assert response.status_code == 405, (method, path)
        assert response.get_json()["error"]["code"] == "method_not_allowed"
        allowed = {m.strip() for m in response.headers["Allow"].split(",")}
        assert declared in allowed and method not in allowed, (method, path, allowed)


def test_too_many_requests_is_429_saying_when_to_retry(app, api_client):
    app.config["API_RATE_LIMIT"] = "2 per minute"
    assert [api_client.get("/me").status_code for _ in range(2)] == [200, 200]
    refused = api_client.get("/me")
    assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_wrong_keys_from_an_address_are_limited_but_a_valid_key_from_it_goes_through(api_client):
    wrong = "vk_live_" + "x" * 43
    assert {api_client.get("/me", key=wrong).status_code for _ in range(60)} == {401}
    refused = api_client.get("/me", key=wrong)
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
    assert api_client.get("/me", key="").status_code == 429  # no key at all is a wrong one too
    assert api_client.get("/me").status_code == 200
    assert api_client.get("/invoices").status_code == 200
    assert api_client.get("/me", key=wrong).status_code == 429


def test_no_answer_of_the_api_is_stored_by_browsers_or_proxies(client, api_client):
    answers = {
        "document": client.get(PREFIX + "/openapi.json"),
        "data": api_client.get("/me"),
        "no key": api_client.get("/me", key=""),
        "unknown path": api_client.get("/nothing-here"),
        "undeclared method": api_client.request("DELETE", "/me"),
        "refused body": api_client.post("/usage", json={"events": []}),
    }
    for label, response in answers.items():
        assert response.headers["Cache-Control"] == "no-store", label
