"""A reseller that pays for its clients gets one invoice a month, one line per client, never a period twice."""

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from portal.extensions import db
from portal.models import Invoice, InvoiceLine, Subscription
from portal.services.billing import consolidated, invoice_search
from portal.services.billing import subscriptions as subs
from portal.services.billing.invoice_search import InvoiceFilters
from portal.services.billing.rules import add_months
from portal.workflows.billing_run import run_sweep
from tests import factories
from tests.services.billing_helpers import JAN, assert_adds_up, invoices_of, lines_of
from tests.services.test_invoice_pdf import pdf_text

FEB = add_months(JAN, 1)  # 10 February 2026, 09:00 UTC: the monthly renewals of the subscriptions started in JAN
MARCH_2 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # February has ended in Santiago and in São Paulo


def _sweep(now, **kwargs):
    kwargs.setdefault("render_pdfs", False)
    return run_sweep(now, **kwargs)


def _reseller_with_clients(cat, count=2, country="CL", currency="CLP", period="monthly", plan=None):
    reseller = factories.make_org("reseller", country, name="Contasur Asesores SpA")
    clients, subscriptions = [], []
    for n in range(count):
        client = factories.make_org("customer", country, name=f"Cliente {n + 1} SpA", reseller_id=reseller.id)
        subscriptions.append(subs.start_subscription(client, plan or cat.basic, currency, period, JAN,
                                                     trial_days=0, payer=reseller))
        clients.append(client)
    db.session.commit()
    return reseller, clients, subscriptions


def _consolidated(reseller) -> list[Invoice]:
    return list(db.session.scalars(db.select(Invoice).where(
        Invoice.organisation_id == reseller.id, Invoice.period_key.like("reseller:%")).order_by(Invoice.id)))


def test_two_clients_renewing_make_one_draft_with_one_line_per_client(cat):
    reseller, clients, subscriptions = _reseller_with_clients(cat)
    own_before = len(invoices_of(reseller))  # the first periods, invoiced when the subscriptions started
    result = _sweep(FEB)
    assert result.renewed == 2 and result.invoices == 0  # nothing issued yet: the month is not over
    [draft] = _consolidated(reseller)
    assert draft.status == "draft" and draft.number is None and draft.currency == "CLP"
    assert draft.period_key == f"reseller:{reseller.id}:2026-02:CLP"
    assert draft.period_start == datetime(2026, 2, 1, 3, 0, tzinfo=UTC)  # midnight in Santiago (UTC−3 in summer)
    lines = lines_of(draft)
    assert [line.subscription_id for line in lines] == [sub.id for sub in subscriptions]
    for line, client in zip(lines, clients, strict=True):
        assert line.description.startswith(f"{client.name} (RUT ")
        assert line.description.split("RUT ")[1].split(")")[0] == _formatted(client)
        assert "Plan Básico (precio de revendedor, 50% de descuento)" in line.description  # in its language
        assert (line.amount, line.tax_rate_bp, line.tax_amount) == (5_000, 1900, 950)
        assert (line.period_start, line.period_end) == (FEB, add_months(JAN, 2))
    assert_adds_up(draft)
    assert draft.total == 2 * 5_950
    assert len(invoices_of(reseller)) == own_before + 1  # no invoice of its own for either renewal
    assert draft.id not in {i.id for i in db.session.scalars(invoice_search.customer_invoices(reseller,
                                                                                             InvoiceFilters()))}
    for client in clients:  # the clients are billed nothing themselves
        assert invoices_of(client) == []


def _formatted(client) -> str:
    from portal.services.accounts.taxid import format_tax_id

    return format_tax_id(client.country, client.tax_id)


def test_the_month_ended_the_draft_is_issued_numbered_due_and_printed_with_a_line_per_client(cat):
    reseller, clients, _subs = _reseller_with_clients(cat)
    _sweep(FEB)
    result = _sweep(MARCH_2)
    assert result.invoices == 1
    [invoice] = _consolidated(reseller)
    assert invoice.status == "open" and invoice.number is not None and invoice.issued_at == MARCH_2
    assert invoice.due_at > MARCH_2
    assert invoice.id in {i.id for i in db.session.scalars(invoice_search.customer_invoices(reseller,
                                                                                           InvoiceFilters()))}
    from portal.workflows.invoice_pdfs import render_and_store

    text = "\n".join(pdf_text(render_and_store(invoice.id).content))
    for client in clients:
        assert client.name in text and _formatted(client) in text
    assert _sweep(MARCH_2).invoices == 0  # issued once


def test_a_sweep_run_again_over_the_same_periods_adds_no_line_twice(cat):
    reseller, _clients, subscriptions = _reseller_with_clients(cat)
    _sweep(FEB)
    [draft] = _consolidated(reseller)
    total = draft.total
    assert _sweep(FEB).closed == 0
    # Put the periods back as they were before the renewal: a sweep that closes them again finds their lines.
    db.session.execute(update(Subscription).where(Subscription.id.in_([s.id for s in subscriptions]))
                       .values(current_period_start=JAN, current_period_end=FEB))
    db.session.commit()
    assert _sweep(FEB).closed == 2
    db.session.refresh(draft)
    assert len(lines_of(draft)) == 2 and draft.total == total
    assert_adds_up(draft)


def test_two_sweeps_at_once_add_each_client_once_to_one_draft_per_reseller(app, cat):
    resellers = []
    for country, currency in (("CL", "CLP"), ("BR", "BRL")):
        reseller, _clients, _subs = _reseller_with_clients(cat, count=12, country=country, currency=currency)
        resellers.append(reseller)
    errors = []

    def sweep():
        try:
            with app.app_context():
                _sweep(FEB, batch_size=5)
        except Exception as error:  # noqa: BLE001 — reported below
            errors.append(error)

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    db.session.rollback()
    for reseller in resellers:
        [draft] = _consolidated(reseller)
        lines = lines_of(draft)
        assert len(lines) == 12 and len({line.subscription_id for line in lines}) == 12
        assert_adds_up(draft)
    assert db.session.scalar(db.select(db.func.count()).select_from(InvoiceLine)
                             .where(InvoiceLine.period_key.is_not(None))) == 24


def test_a_client_switched_to_paying_itself_mid_month_keeps_its_line_and_pays_its_next_renewal(cat):
    reseller, (first, second), (first_sub, _second_sub) = _reseller_with_clients(cat)
    _sweep(FEB)
    subs.change_payer(first_sub, first, FEB + timedelta(days=5))
    db.session.commit()
    _sweep(add_months(JAN, 2))  # the March renewals
    february, march = _consolidated(reseller)
    assert february.status == "open"  # issued after February, with both clients
    assert [line.subscription_id for line in lines_of(february)] == [first_sub.id, _second_sub.id]
    assert [line.description.split(" (")[0] for line in lines_of(march)] == [second.name]
    [own] = invoices_of(first)  # the first client's March renewal is its own invoice, at list price
    assert own.subscription_id == first_sub.id and own.total == 11_900 and own.status == "open"


def test_an_annual_plan_renews_as_one_line_for_the_whole_year_in_the_month_it_renews(cat):
    reseller, (client,), (sub,) = _reseller_with_clients(cat, count=1, period="annual")
    next_year = add_months(JAN, 12)
    _sweep(next_year)
    [draft] = _consolidated(reseller)
    assert draft.period_key == f"reseller:{reseller.id}:2027-01:CLP"
    [line] = lines_of(draft)
    assert (line.subscription_id, line.amount) == (sub.id, 50_000)  # 100,000 a year at 50 % off
    assert (line.period_start, line.period_end) == (next_year, add_months(JAN, 24))
    assert line.description.startswith(client.name)


def test_the_month_is_the_resellers_own(cat):
    key, start, end = consolidated.month_of(datetime(2026, 3, 1, 2, 0, tzinfo=UTC), "America/Santiago")
    assert (key, start, end) == ("2026-02", datetime(2026, 2, 1, 3, 0, tzinfo=UTC),
                                 datetime(2026, 3, 1, 3, 0, tzinfo=UTC))
