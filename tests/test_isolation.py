"""Tenant isolation (QUALITY.md R4): every route is in the matrix, and no organisation reaches another's data."""

import re

import pytest

from portal.extensions import db
from portal.models import ROLES
from tests import factories
from tests.isolation import MATRIX

KINDS = ("customer", "reseller", "partner", "vendor")
DENIED = {401, 403, 404}


def _endpoints(app):
    return sorted({rule.endpoint for rule in app.url_map.iter_rules()})


def _rules(app, endpoint):
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint == endpoint]


def _methods(rule):
    return sorted(m for m in rule.methods if m not in {"HEAD", "OPTIONS"})


def _request(client, method, url, data):
    if method == "GET":
        return client.get(url)
    return client.open(url, method=method, data={**data, "csrf_token": client.csrf_token()})


def test_every_route_has_an_entry_in_the_matrix(app):
    missing = [e for e in _endpoints(app) if e not in MATRIX]
    assert not missing, f"add these endpoints to tests/isolation.py: {missing}"
    stale = [e for e in MATRIX if e not in _endpoints(app)]
    assert not stale, f"these matrix entries name no route: {stale}"


def _gated(app):
    return [(e, a) for e, a in sorted(MATRIX.items()) if a.who in ("kind", "owned")]


@pytest.fixture
def members(app):
    """One member of every role of every kind, each in its own organisation, plus a second org per kind."""
    people = {}
    for kind in KINDS:
        for role in ROLES[kind]:
            people[(kind, role)] = factories.make_member(kind, role)
    db.session.commit()
    return people


def test_kind_gated_routes_refuse_every_other_kind_and_visitors(app, members):
    for endpoint, access in _gated(app):
        for rule in _rules(app, endpoint):
            values = {}
            if access.make is not None:
                # End the read transaction begun before the logins wrote: SQLite refuses a write from it.
                db.session.rollback()
                owner = factories.make_org(access.kind)
                values = access.make(owner)
                db.session.commit()
            if values:
                with app.test_request_context():  # url_for needs a request (or SERVER_NAME)
                    url = app.url_for(endpoint, **values)
            else:
                url = re.sub(r"<[^>]+>", "x", rule.rule)
            for method in _methods(rule):
                visitor = app.test_client()
                response = _request(visitor, method, url, access.data)
                assert response.status_code in DENIED | {302}, (endpoint, method, "visitor", response.status_code)
                for (kind, role), membership in members.items():
                    allowed_kind = kind == access.kind
                    allowed_role = access.roles is None or role in access.roles
                    if allowed_kind and allowed_role and access.make is None:
                        continue
                    client = app.test_client()
                    client.login(membership.user.email)
                    response = _request(client, method, url, access.data)
                    assert response.status_code in DENIED, (endpoint, method, kind, role, response.status_code)


def test_team_pages_are_for_administrators_only(app, members):
    for (kind, role), membership in members.items():
        client = app.test_client()
        client.login(membership.user.email)
        status = client.get("/team").status_code
        assert status == (200 if role in {"admin", "manager"} else 403), (kind, role, status)
