"""The customer's account area ("Mi cuenta > Facturación"): the billing overview, this month's account, and the
pages beside them, and their tables as CSV (the active plans' too: plan_views holds their page and changes)."""

from flask import Response, abort, g, request, stream_with_context
from flask_babel import get_locale
from flask_babel import gettext as _

from portal.customer.views import bp
from portal.extensions import db
from portal.htmx import render
from portal.labels import METRIC_LABELS, PRODUCT_KIND_LABELS, SUBSCRIPTION_EVENT_LABELS, SUBSCRIPTION_STATUS_LABELS
from portal.orm import read_together, utcnow
from portal.pagination import page_of
from portal.routing import id_arg, page_arg
from portal.services.billing import account, account_csv, estimate, history, month, usage_history
from portal.services.billing.entitlements import entitlements_for, subscriptions_in_force
from portal.services.billing.rules import PriceBook
from portal.services.payments import history as payment_history
from portal.services.payments import wallet
from portal.services.payments.offline import gateways


def _csv(lines, stem: str) -> Response:
    response = Response(stream_with_context(lines), mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename={account_csv.filename(stem)}"
    return response


@bp.get("/account")
def account_overview():
    """Show the billing overview: what is owed and overdue, each plan's billing cycle with an estimate of its next
    invoice, and the last purchase."""
    org, now = g.organisation, utcnow()
    balance_rows, kind_rows, wallet_rows, settings_rows, reseller_rows = read_together(
        db.session, account.balances_select(org.id, now), gateways.enabled_kinds_select(org.country),
        wallet.balance_select(org.id, org.currency), wallet.settings_select(org),
        payment_history.paying_resellers_select(org))
    balances = account.balances_from_rows(balance_rows)
    kinds = gateways.offered_from_rows(kind_rows, {balance.currency for balance in balances})
    return render("customer/account/overview.html", balances=balances,
                  payable={currency for currency, offered in kinds.items() if offered},
                  overdue=account.overdue_invoices(org.id, now), subscriptions=subscriptions_in_force(org.id),
                  estimates=estimate.next_invoices(org.id), last=account.last_purchase(org.id),
                  status_labels=SUBSCRIPTION_STATUS_LABELS, wallet_balance=wallet.balance_from_rows(wallet_rows),
                  wallet_settings=wallet.settings_from_rows(org, settings_rows),
                  resellers=payment_history.paying_resellers_from_rows(reseller_rows))


@bp.get("/account/month")
def account_month():
    """Show this month's account: the services in force with their prices, the activations made in the period
    (paged) and the overconsumption of each metric so far."""
    org, book, locale = g.organisation, PriceBook.load(), str(get_locale())
    plan = entitlements_for(org)
    page = page_of(history.events(org.id, actions=month.ACTIVATION_ACTIONS, since=plan.period.start), page_arg())
    return render("customer/account/month.html", "activations", plan=plan,
                  services=month.services(plan.subscriptions, book, locale),
                  overconsumption=month.overconsumption(plan, book), page=page,
                  changes=history.changes(page.items, book, locale), kind_labels=PRODUCT_KIND_LABELS,
                  metric_labels=METRIC_LABELS, event_labels=SUBSCRIPTION_EVENT_LABELS)


@bp.get("/account/month/activations.csv")
def account_month_csv():
    """Download the activations of the current period as CSV."""
    org = g.organisation
    since = entitlements_for(org).period.start
    query = history.events(org.id, actions=month.ACTIVATION_ACTIONS, since=since)
    rows = account_csv.change_rows(org, query, str(get_locale()))
    return _csv(account_csv.stream(account_csv.CHANGE_HEADER, rows), _("activations"))


@bp.get("/account/month/services.csv")
def account_month_services_csv():
    """Download the services in force this period with their prices as CSV."""
    org = g.organisation
    services = month.services(entitlements_for(org).subscriptions, PriceBook.load(), str(get_locale()))
    return _csv(account_csv.stream(account_csv.SERVICE_HEADER, account_csv.service_rows(org, services)),
                _("month-services"))


@bp.get("/account/month/overconsumption.csv")
def account_month_overconsumption_csv():
    """Download the overconsumption of each metric so far this period as CSV."""
    org = g.organisation
    plan = entitlements_for(org)
    rows = account_csv.overconsumption_rows(org, plan.period, month.overconsumption(plan, PriceBook.load()))
    return _csv(account_csv.stream(account_csv.OVERCONSUMPTION_HEADER, rows), _("month-overconsumption"))


@bp.get("/account/plans.csv")
def account_plans_csv():
    """Download the organisation's plans (add-ons, period, state, renewal, payer, price) as CSV."""
    org = g.organisation
    rows = account_csv.plan_rows(org, account.subscriptions(org.id), PriceBook.load(), str(get_locale()))
    return _csv(account_csv.stream(account_csv.PLAN_HEADER, rows), _("active-plans"))


def _history_subscription(subscriptions):
    """The subscription the history is filtered by (`?subscription=<id>`), one of the organisation's, or None."""
    wanted = id_arg("subscription")
    if wanted is None:
        return None
    return next((sub for sub in subscriptions if sub.id == wanted), None) or abort(404)


@bp.get("/account/history")
def account_history():
    """Show the history of every subscription, newest change first (paged), filtered by one subscription."""
    org, book, locale = g.organisation, PriceBook.load(), str(get_locale())
    subscriptions = history.subscriptions_of(org.id)
    chosen = _history_subscription(subscriptions)
    page = page_of(history.events(org.id, chosen.id if chosen else None), page_arg())
    return render("customer/account/history.html", "history", subscriptions=subscriptions, chosen=chosen,
                  page=page, changes=history.changes(page.items, book, locale),
                  args={"subscription": chosen.id} if chosen else {}, book=book, event_labels=SUBSCRIPTION_EVENT_LABELS,
                  status_labels=SUBSCRIPTION_STATUS_LABELS)


@bp.get("/account/history.csv")
def account_history_csv():
    """Download the subscription history (every page, the same filter) as CSV."""
    org = g.organisation
    chosen = _history_subscription(history.subscriptions_of(org.id))
    rows = account_csv.change_rows(org, history.events(org.id, chosen.id if chosen else None), str(get_locale()))
    return _csv(account_csv.stream(account_csv.CHANGE_HEADER, rows), _("subscription-history"))


def _usage(chosen: int):
    return usage_history.overview(g.organisation, utcnow(), chosen)


@bp.get("/account/usage")
def account_usage():
    """Show the usage of each metric over the last 12 periods and per day in one of them (charts and tables)."""
    found = _usage(usage_history.period_index(request.args.get("period")))
    return render("customer/account/usage.html", "usage_days", usage=found, metric_labels=METRIC_LABELS)


@bp.get("/account/usage.csv")
def account_usage_csv():
    """Download the usage per period (the last 12) of every metric as CSV."""
    found = _usage(0)
    return _csv(account_csv.stream(account_csv.USAGE_HEADER, account_csv.usage_rows(g.organisation, found.by_period)),
                _("usage"))


@bp.get("/account/usage-days.csv")
def account_usage_days_csv():
    """Download the usage per day of one period (`?period=`, 0 the current one) as CSV."""
    found = _usage(usage_history.period_index(request.args.get("period")))
    return _csv(account_csv.stream(account_csv.USAGE_HEADER, account_csv.usage_rows(g.organisation, found.by_day)),
                _("usage-per-day"))
