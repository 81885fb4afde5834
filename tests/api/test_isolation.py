"""Tenant isolation of the API (QUALITY.md R4): every API route of the matrix refuses a call without a key,
and an object of one organisation is 404 to another organisation's key."""

import re

from portal.extensions import db
from portal.services.accounts import integration
from tests import factories
from tests.isolation import MATRIX


def _api_rules(app):
    return [(rule, MATRIX[rule.endpoint]) for rule in app.url_map.iter_rules()
            if rule.endpoint in MATRIX and MATRIX[rule.endpoint].who == "api"]


def _methods(rule):
    return sorted(m for m in rule.methods if m not in {"HEAD", "OPTIONS"})


def test_every_api_route_but_the_document_is_in_the_matrix_as_api(app):
    api_endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")}
    assert {e for e in api_endpoints if MATRIX.get(e) is None or MATRIX[e].who != "api"} == {"api.openapi"}


def test_api_routes_refuse_calls_without_a_valid_key(app, client):
    org = factories.make_org("customer")
    integration.generate_key(org, None)
    db.session.commit()
    for rule, _access in _api_rules(app):
        url = re.sub(r"<[^>]+>", "1", rule.rule)
        for method in _methods(rule):
            for headers in ({}, {"X-Api-Key": "vk_live_wrong"}, {"Authorization": "Bearer vk_live_wrong"}):
                response = client.open(url, method=method, headers=headers, json={"events": []})
                assert response.status_code == 401, (rule.endpoint, method, headers, response.status_code)
                assert response.get_json()["error"]["code"] == "unauthorized"


def test_an_organisations_objects_are_404_to_another_organisations_key(app, client):
    kinds = ("customer", "reseller", "partner")
    keys = {}
    for kind in kinds:
        org = factories.make_org(kind)
        keys[kind] = (org, integration.generate_key(org, None))
    db.session.commit()
    checked = 0
    for rule, access in _api_rules(app):
        if access.make is None:
            continue
        owner = factories.make_org("customer")
        owner_key = integration.generate_key(owner, None)
        values = access.make(owner)
        db.session.commit()
        with app.test_request_context():
            url = app.url_for(rule.endpoint, **values)
        for method in _methods(rule):
            assert client.open(url, method=method, headers={"X-Api-Key": owner_key}).status_code == 200
            for kind, (_org, key) in keys.items():
                response = client.open(url, method=method, headers={"X-Api-Key": key})
                assert response.status_code in (403, 404), (rule.endpoint, method, kind, response.status_code)
                checked += 1
    assert checked
