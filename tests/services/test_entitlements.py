"""Entitlements: plan quotas plus add-ons, against the use of the current period."""

from datetime import UTC, datetime, timedelta

from portal.extensions import db
from portal.services import catalog
from portal.services.billing import usage
from portal.services.billing.entitlements import entitlements_for
from tests import factories

START = datetime(2026, 11, 1, tzinfo=UTC)
NOW = START + timedelta(days=10)


def _report(org, *events):
    parsed = [usage.Event(f"e-{n}", metric, quantity, at) for n, (metric, quantity, at) in enumerate(events)]
    usage.record_events(org, parsed, NOW)


def test_plan_quotas_plus_add_ons(app):
    org = factories.make_org("customer")
    extra_user = factories.make_product("additional_user", name="Usuario adicional")
    extra_company = factories.make_product("additional_company", name="Empresa adicional")
    pack = factories.make_product("module", name="Facturación electrónica")
    catalog.set_quota(pack, "documents", 100)
    factories.make_subscription(org, quotas={"users": 3, "companies": 1, "documents": 500}, start=START,
                                items=[(extra_user, 2), (extra_company, 1), (pack, 3)])
    found = entitlements_for(org, NOW)
    included = {metric: e.included for metric, e in found.metrics.items()}
    assert included == {"users": 5, "companies": 2, "documents": 800, "api_calls": None}


def test_an_add_on_with_its_own_quota_adds_that_instead_of_one(app):
    org = factories.make_org("customer")
    five_users = factories.make_product("additional_user", name="Pack 5 usuarios")
    catalog.set_quota(five_users, "users", 5)
    factories.make_subscription(org, quotas={"users": 1}, start=START, items=[(five_users, 2)])
    assert entitlements_for(org, NOW).metrics["users"].included == 11


def test_use_counts_members_period_usage_and_latest_companies(app):
    org = factories.make_org("customer")
    for _ in range(4):
        factories.make_member("customer", "member", organisation=org)
    factories.make_subscription(org, quotas={"users": 3, "companies": 2, "documents": 10, "api_calls": 1000},
                                start=START)
    _report(org, ("documents", 7, START + timedelta(days=1)), ("documents", 6, START + timedelta(days=2)),
            ("documents", 50, START - timedelta(days=3)),  # the previous period: not this one's use
            ("api_calls", 400, START + timedelta(days=3)),
            ("companies", 3, START + timedelta(days=1)), ("companies", 2, START + timedelta(days=4)))
    metrics = entitlements_for(org, NOW).metrics
    assert (metrics["users"].used, metrics["users"].remaining, metrics["users"].overage) == (4, 0, 1)
    assert (metrics["documents"].used, metrics["documents"].remaining, metrics["documents"].overage) == (13, 0, 3)
    assert (metrics["api_calls"].used, metrics["api_calls"].remaining) == (400, 600)
    assert (metrics["companies"].used, metrics["companies"].remaining) == (2, 0)


def test_companies_default_to_one_when_never_reported(app):
    org = factories.make_org("customer")
    factories.make_subscription(org, quotas={"companies": 3}, start=START)
    companies = entitlements_for(org, NOW).metrics["companies"]
    assert (companies.used, companies.remaining) == (1, 2)


def test_several_active_subscriptions_add_up_and_suspended_ones_do_not(app):
    org = factories.make_org("customer")
    first = factories.make_subscription(org, quotas={"documents": 100}, start=START)
    factories.make_subscription(org, quotas={"documents": 50}, start=START + timedelta(days=5), status="trial")
    factories.make_subscription(org, quotas={"documents": 1000}, start=START, status="suspended")
    found = entitlements_for(org, NOW)
    assert found.metrics["documents"].included == 150
    assert found.primary == first
    assert [s.status for s in found.subscriptions] == ["active", "trial"]


def test_without_subscriptions_nothing_is_limited(app):
    org = factories.make_org("customer")
    factories.make_member("customer", "admin", organisation=org)
    db.session.flush()
    found = entitlements_for(org, NOW)
    assert found.primary is None
    assert all(e.included is None and e.remaining is None and e.overage == 0 for e in found.metrics.values())
    assert found.metrics["users"].used == 1
    assert found.period.start == START


def test_entitlements_cost_a_constant_number_of_queries(app, count_queries):
    org = factories.make_org("customer")
    extra_user = factories.make_product("additional_user")
    factories.make_subscription(org, quotas={"users": 2}, start=START, items=[(extra_user, 1)])
    db.session.commit()
    db.session.expire_all()
    with count_queries() as small:
        entitlements_for(org, NOW)
    for _ in range(5):
        factories.make_subscription(org, quotas={"users": 2, "documents": 5}, start=START,
                                    items=[(factories.make_product("module"), 1)])
    db.session.commit()
    db.session.expire_all()
    with count_queries() as large:
        entitlements_for(org, NOW)
    assert large["n"] == small["n"]


def test_an_annual_period_includes_twelve_months_of_documents_but_not_of_users(app):
    org = factories.make_org("customer")
    factories.make_subscription(org, period="annual", quotas={"users": 3, "documents": 100, "api_calls": 10},
                                start=START)
    metrics = entitlements_for(org, NOW).metrics
    assert (metrics["users"].included, metrics["documents"].included, metrics["api_calls"].included) == (3, 1200,
                                                                                                         120)
    assert entitlements_for(org, NOW).period.end == datetime(2027, 11, 1, tzinfo=UTC)
