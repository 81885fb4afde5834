"""Fixtures for the JSON API: organisations with keys, a client that checks every answer against the
OpenAPI document, and the live portal served from a thread for concurrent clients."""

import re
import threading

import pytest
from jsonschema import Draft202012Validator
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.serving import make_server

from portal.api.openapi import openapi_document
from portal.extensions import db
from portal.services.accounts import integration
from tests import factories

PREFIX = "/api/v1"


def documented_path(rule: str) -> str:
    """/api/v1/invoices/<int:invoice_id> → /invoices/{invoice_id}"""
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.removeprefix(PREFIX))


class ApiChecker:
    """Validates an API answer against the schema the OpenAPI document gives for its path, method and status."""

    def __init__(self, app):
        with app.test_request_context():
            self.document = openapi_document()
        self.app = app
        self.checked: list[tuple[str, str, int]] = []

    def schema_for(self, path: str, method: str, status: int) -> dict:
        adapter = self.app.url_map.bind("portal.test")
        try:
            rule, _args = adapter.match(path.split("?")[0], method=method, return_rule=True)
        except (NotFound, MethodNotAllowed):
            assert status in (404, 405), (path, method, status)
            return {"$ref": "#/components/schemas/Error"}
        operation = self.document["paths"][documented_path(rule.rule)][method.lower()]
        responses = operation["responses"]
        assert str(status) in responses, f"{method} {path} answered {status}, which is not documented"
        return responses[str(status)]["content"]["application/json"]["schema"]

    def check(self, path: str, method: str, response) -> None:
        assert response.mimetype == "application/json", (path, response.status_code, response.data[:200])
        schema = {**self.schema_for(path, method, response.status_code), "components": self.document["components"]}
        Draft202012Validator(schema).validate(response.get_json())
        self.checked.append((method, path, response.status_code))


@pytest.fixture
def api_checker(app) -> ApiChecker:
    return ApiChecker(app)


class ApiClient:
    """Calls the API as an integration does (key in the X-Api-Key header), checking each answer's schema."""

    def __init__(self, client, checker: ApiChecker, key: str | None):
        self.client, self.checker, self.key = client, checker, key

    def request(self, method: str, path: str, key: str | None = None, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        sent_key = self.key if key is None else key
        if sent_key:
            headers["X-Api-Key"] = sent_key
        response = self.client.open(PREFIX + path, method=method, headers=headers, **kwargs)
        self.checker.check(PREFIX + path, method, response)
        return response

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.request("POST", path, **kwargs)


@pytest.fixture
def keyed_org(app):
    """A customer organisation (with an admin) and its integration key, committed."""

    def make(kind: str = "customer", **fields):
        member = factories.make_member(kind, factories.ROLES[kind][0], organisation=factories.make_org(kind, **fields))
        raw = integration.generate_key(member.organisation, member.user)
        db.session.commit()
        return member.organisation, raw

    return make


@pytest.fixture
def api_client(app, api_checker, keyed_org):
    """An API client for a new customer organisation: `.organisation`, `.key`, `.get`, `.post`."""
    organisation, key = keyed_org()
    api = ApiClient(app.test_client(), api_checker, key)
    api.organisation = organisation
    return api


@pytest.fixture
def live_url(app):
    """The test's app served by werkzeug from a thread (several requests at once) on a free local port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-api", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
