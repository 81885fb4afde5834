"""GET /api/v1/me: the organisation of the key, its plan, period and entitlements."""

from datetime import UTC, datetime, timedelta

import time_machine

from portal.extensions import db
from portal.services import catalog
from portal.services.billing import usage
from tests import factories

START = datetime(2026, 11, 1, tzinfo=UTC)
NOW = START + timedelta(days=19, hours=12)


def test_me_tells_plan_period_and_entitlements(api_client):
    org = api_client.organisation
    db.session.rollback()
    plan = factories.make_product("plan", name="Plan Pyme", code="erp-pyme")
    for metric, included in {"users": 3, "companies": 1, "documents": 500}.items():
        catalog.set_quota(plan, metric, included)
    extra_user = factories.make_product("additional_user", code="usuario-adicional", name="Usuario adicional")
    factories.make_subscription(org, plan=plan, start=START, items=[(extra_user, 2)])
    usage.record_events(org, [usage.Event("a", "documents", 120, START + timedelta(days=2)),
                              usage.Event("b", "documents", 5, START - timedelta(days=2))], NOW)
    db.session.commit()
    with time_machine.travel(NOW):
        body = api_client.get("/me").get_json()
    assert body["organisation"]["id"] == org.id and body["organisation"]["name"] == org.name
    assert body["plan"] == {"code": "erp-pyme", "name": "Plan Pyme"}
    assert body["status"] == "active"
    assert body["period"] == {"start": "2026-11-01T00:00:00Z", "end": "2026-12-01T00:00:00Z",
                              "billing_period": "monthly"}
    assert body["subscriptions"][0]["add_ons"] == [{"code": "usuario-adicional", "name": "Usuario adicional",
                                                    "quantity": 2}]
    assert body["entitlements"] == {
        "documents": {"included": 500, "used": 120, "remaining": 380, "overage": 0},
        "users": {"included": 5, "used": 1, "remaining": 4, "overage": 0},
        "companies": {"included": 1, "used": 1, "remaining": 0, "overage": 0},
        "api_calls": {"included": None, "used": 0, "remaining": None, "overage": 0},
    }


def test_me_without_a_subscription(api_client):
    body = api_client.get("/me").get_json()
    assert (body["plan"], body["status"], body["subscriptions"]) == (None, None, [])
    assert body["period"]["billing_period"] is None
    assert body["entitlements"]["users"] == {"included": None, "used": 1, "remaining": None, "overage": 0}


def test_me_answers_for_the_keys_organisation_only(api_client, keyed_org):
    other, other_key = keyed_org()
    assert api_client.get("/me").get_json()["organisation"]["id"] == api_client.organisation.id
    assert api_client.get("/me", key=other_key).get_json()["organisation"]["id"] == other.id


def test_me_costs_a_constant_number_of_queries(api_client, count_queries):
    db.session.rollback()
    factories.make_subscription(api_client.organisation, quotas={"users": 2}, start=START,
                                items=[(factories.make_product("additional_user"), 1)])
    db.session.commit()
    with count_queries() as few:
        api_client.get("/me")
    for _ in range(4):
        factories.make_subscription(api_client.organisation, quotas={"documents": 9}, start=START,
                                    items=[(factories.make_product("module"), 2)])
    db.session.commit()
    with count_queries() as many:
        api_client.get("/me")
    assert many["n"] == few["n"] <= 10
