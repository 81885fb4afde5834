"""The usage overview: per metric, the last 12 periods and the days of one, as SVG charts with the same numbers in
tables, the quota as a line, and CSV; the numbers are the usage service's."""

import re
from datetime import timedelta

from portal.extensions import db
from portal.models import UsageEvent
from portal.orm import utcnow
from portal.services.billing import subscriptions as subs
from portal.services.billing import usage, usage_history
from portal.workflows.billing_run import run_sweep
from tests.services.billing_helpers import make_catalog


def _customer(app, login_as, language="en"):
    client = login_as("customer", "admin")
    now = utcnow()
    with app.test_request_context(headers={"Accept-Language": language}):
        cat = make_catalog()
        org = db.session.merge(client.organisation)
        sub = subs.start_subscription(org, cat.basic, "CLP", "monthly", now - timedelta(days=70), trial_days=0)
        db.session.commit()
        run_sweep(now, render_pdfs=False)  # its months renewed: the current period holds `now`
        db.session.refresh(sub)
        start = sub.current_period_start
        events = [usage.Event("now-1", "documents", 130, now - timedelta(minutes=5)),
                  usage.Event("now-2", "documents", 7, max(start, now - timedelta(days=1))),
                  usage.Event("before-1", "documents", 40, start - timedelta(days=3)),
                  usage.Event("api-1", "api_calls", 900, now - timedelta(hours=1))]
        usage.record_events(org, events, now)
        db.session.commit()
        return client, org.id, now


def _events_sum(org_id, metric, start, end) -> int:
    """The sum of the stored events themselves (the totals read whole hours from their sums)."""
    return db.session.scalar(db.select(db.func.coalesce(db.func.sum(UsageEvent.quantity), 0)).where(
        UsageEvent.organisation_id == org_id, UsageEvent.metric == metric, UsageEvent.occurred_at >= start,
        UsageEvent.occurred_at < end))


def test_the_charts_and_tables_show_the_usage_services_numbers(app, login_as, count_queries):
    client, org_id, now = _customer(app, login_as)
    with count_queries() as counter:
        page = client.get("/customer/account/usage", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    from portal.models import Organisation

    org = db.session.get(Organisation, org_id)
    found = usage_history.overview(org, now)
    assert len(found.periods) == 12 and found.periods[-1][1] > now >= found.periods[-1][0]
    for start, end in found.periods:  # every period's bar and row hold what the usage service counts
        expected = usage.usage_totals(org_id, start, end).get("documents", 0)
        bucket = next(b for b in found.by_period["documents"].buckets if b.start == start)
        assert bucket.used == expected == _events_sum(org_id, "documents", start, end)
    for metric in ("documents", "api_calls"):  # and every day's, in the organisation's time zone
        for bucket in found.by_day[metric].buckets:
            assert bucket.used == _events_sum(org_id, metric, bucket.start, bucket.end)
    assert [b.used for b in found.by_period["documents"].buckets][-2:] == [40, 137]
    assert sum(b.used for b in found.by_day["documents"].buckets) == 137
    chart = re.search(r'<svg class="chart"[^>]*aria-labelledby="chart-documents-title chart-documents-desc".*?</svg>',
                      html, re.S).group(0)
    assert 'role="img"' in chart
    assert '<title id="chart-documents-title">Electronic documents per period</title>' in chart
    assert re.search(r"<title>[^<]+: 137</title>", chart) and re.search(r"<title>[^<]+: 40</title>", chart)
    assert 'class="bar over"' in chart  # 137 beyond the 100 included
    assert '<line class="quota"' in chart and "Included: 100" in chart
    assert "<script" not in html.split("<main", 1)[1].split("</main>")[0]
    assert "style=" not in chart
    assert re.search(r"<td class=\"num\"><span class=\"badge bad\">137</span></td>\s*<td class=\"num\">100</td>", html)
    assert counter["n"] <= 20, counter["n"]


def test_the_usage_csv_has_the_periods_and_the_days(app, login_as):
    client, _org, _now = _customer(app, login_as)
    periods = client.get("/customer/account/usage.csv", buffered=True).get_data(as_text=True).lstrip("\ufeff")
    lines = periods.splitlines()
    assert lines[0] == "Metric,From,To,Used,Included" and len(lines) == 1 + 2 * 12
    assert lines[12].startswith("Electronic documents,") and lines[12].endswith(",137,100")
    days = client.get("/customer/account/usage-days.csv?period=0", buffered=True).get_data(as_text=True)
    assert sum(int(line.split(",")[3]) for line in days.splitlines()[1:] if line.startswith("Electronic")) == 137


def test_a_period_out_of_range_is_refused_in_the_readers_language(app, login_as):
    client, _org, _now = _customer(app, login_as)
    for bad in ("12", "-1", "x", "99999999999999999999"):
        page = client.get(f"/customer/account/usage?period={bad}", headers={"Accept-Language": "es"})
        assert page.status_code == 422, bad
        assert "Elige uno de los últimos 12 períodos" in page.get_data(as_text=True)
        assert client.get(f"/customer/account/usage-days.csv?period={bad}").status_code == 422
    assert client.get("/customer/account/usage?period=11").status_code == 200
