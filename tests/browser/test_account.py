"""The account area in a real browser: a Chilean customer (in Spanish) opens "Mi cuenta" from the sidebar and
reads what it owes, its billing cycle and the estimate of its next invoice with the overage so far, then this
month's account with its overconsumption; the pages
fit a desktop and a phone, with and without JavaScript."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.services.billing import subscriptions as subs
from portal.services.billing import usage
from tests import factories
from tests.browser.conftest import log_in
from tests.browser.test_look import layout_problems
from tests.services.billing_helpers import make_catalog

CUSTOMER = "Panadería Los Aromos SpA"


def chilean_customer(app) -> str:
    """A Chilean bakery on Plan Básico with two additional users, 130 documents issued (30 beyond its plan) and an
    invoice two months overdue; returns its administrator's e-mail."""
    now = datetime.now(UTC).replace(microsecond=0)
    with app.test_request_context(headers={"Accept-Language": "es"}):
        cat = make_catalog()
        org = factories.make_org("customer", name=CUSTOMER, locale="es")
        subs.start_subscription(org, cat.basic, "CLP", "monthly", now - timedelta(days=5), trial_days=0,
                                items=[(cat.user, 2)])
        usage.record_events(org, [usage.Event("dte-1", "documents", 130, now - timedelta(days=2))], now)
        factories.make_invoice(org, issued_at=now - timedelta(days=60), lines=[("Implementación ERP", 1, 50_000)])
        membership = factories.make_member("customer", "admin", organisation=org, locale="es")
        db.session.commit()
        return membership.user.email


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_a_chilean_customer_reads_its_overview_and_its_months_account(app, new_page, screenshot, javascript):
    email = chilean_customer(app)
    page = new_page(locale="es-CL", javascript=javascript, width=1024)
    log_in(page, email)
    page.get_by_role("link", name="Mi cuenta").click()
    expect(page.get_by_role("heading", name="Mi cuenta", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Resumen de facturación")).to_have_attribute("aria-current", "page")
    balance = page.get_by_role("region", name="Saldo pendiente")
    expect(balance).to_contain_text("2 facturas pendientes")
    expect(balance).to_contain_text("Facturas vencidas")
    cycle = page.get_by_role("region", name="Ciclo de facturación")
    expect(cycle).to_contain_text("Próxima renovación")
    expect(cycle).to_contain_text("Documentos electrónicos por sobre los 100 incluidos")
    expect(cycle.locator("tfoot")).to_contain_text("$20.825")  # 10.000 + 2 × 3.000 + 30 × 50, and 19 % IVA
    expect(page.get_by_role("region", name="Última compra")).to_contain_text("$")
    assert layout_problems(page) == []
    screenshot(page, f"account-overview-1024-{'js' if javascript else 'nojs'}")
    if javascript:
        page.set_viewport_size({"width": 390, "height": 844})
        assert layout_problems(page) == []
        screenshot(page, "account-overview-390")
        page.set_viewport_size({"width": 1024, "height": 800})

    page.get_by_role("link", name="Cuenta mensual").click()
    expect(page.get_by_role("link", name="Cuenta mensual")).to_have_attribute("aria-current", "page")
    services = page.get_by_role("region", name="Servicios activos")
    expect(services).to_contain_text("Plan Básico")
    expect(services).to_contain_text("Usuario adicional")
    activations = page.get_by_role("region", name="Activaciones realizadas en el período")
    expect(activations).to_contain_text("Iniciada")
    overage = page.get_by_role("region", name="Sobreconsumo")
    expect(overage.locator("tbody tr").first).to_contain_text("Documentos electrónicos")
    expect(overage.locator("tbody tr").first).to_contain_text("$1.500")  # 30 beyond the 100 included, $50 each
    assert layout_problems(page) == []
    screenshot(page, f"account-month-1024-{'js' if javascript else 'nojs'}")
    if javascript:
        page.set_viewport_size({"width": 390, "height": 844})
        assert layout_problems(page) == []
        screenshot(page, "account-month-390")


def brazilian_customer(app) -> str:
    """A Brazilian bakery whose annual Plan Básico got two additional users, then one fewer, then Plan Pro."""
    with app.test_request_context(headers={"Accept-Language": "pt-BR"}):
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=60)
        cat = make_catalog()
        org = factories.make_org("customer", "BR", name="Padaria Pão Dourado Ltda")
        membership = factories.make_member("customer", "admin", organisation=org, locale="pt_BR", name="João Lima")
        actor = membership.user
        sub = subs.start_subscription(org, cat.basic, "BRL", "annual", start, trial_days=0, actor=actor)
        subs.add_addon(sub, cat.user, start + timedelta(days=10), quantity=2, actor=actor)
        subs.change_quantity(sub, cat.user, 1, start + timedelta(days=20), actor=actor)
        subs.change_plan(sub, cat.pro, start + timedelta(days=30), actor=actor)
        db.session.commit()
        return membership.user.email


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_a_brazilian_customer_reads_its_subscription_history(app, new_page, screenshot, javascript):
    email = brazilian_customer(app)
    page = new_page(locale="pt-BR", javascript=javascript, width=1024)
    log_in(page, email)
    page.get_by_role("link", name="Minha conta").click()
    page.get_by_role("link", name="Histórico de assinatura").click()
    expect(page.get_by_role("link", name="Histórico de assinatura")).to_have_attribute("aria-current", "page")
    rows = page.locator("#history tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(0)).to_contain_text("Plano alterado")
    expect(rows.nth(0)).to_contain_text("Plan Básico → Plan Pro")
    expect(rows.nth(1)).to_contain_text("2 → 1")
    expect(rows.nth(2)).to_contain_text("Complemento adicionado")
    expect(rows.nth(3)).to_contain_text("Iniciada")
    expect(rows.nth(3)).to_contain_text("João Lima")
    assert layout_problems(page) == []
    screenshot(page, f"account-history-1024-{'js' if javascript else 'nojs'}")
    with page.expect_download() as download:
        page.get_by_role("link", name="Exportar como CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("Data,Assinatura,Mudança") and len(text.splitlines()) == 5
    rows.nth(3).get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Fatura")
    if javascript:
        page.go_back()
        page.set_viewport_size({"width": 390, "height": 844})
        expect(rows).to_have_count(4)
        assert layout_problems(page) == []
        screenshot(page, "account-history-390")


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_a_chilean_customer_reads_its_usage_chart_and_picks_a_period(app, new_page, screenshot, javascript):
    email = chilean_customer(app)
    page = new_page(locale="es-CL", javascript=javascript, width=1024)
    log_in(page, email)
    page.goto("/customer/account")
    page.get_by_role("link", name="Descripción general del uso").click()
    chart = page.get_by_role("img", name="Documentos electrónicos por período")
    expect(chart).to_be_visible()
    expect(chart.locator("rect.bar.over")).to_have_count(1)  # this period: 130, beyond the 100 included
    expect(chart.locator("line.quota")).to_have_count(1)
    periods = page.get_by_role("region", name="Documentos electrónicos")
    expect(periods.locator("tbody tr").first).to_contain_text("130")
    expect(page.locator("#usage_days")).to_contain_text("130")
    assert layout_problems(page) == []
    screenshot(page, f"account-usage-1024-{'js' if javascript else 'nojs'}")
    page.get_by_label("Período", exact=True).select_option("1")
    if not javascript:
        page.get_by_role("button", name="Mostrar").click()
    expect(page).to_have_url(re.compile(r"period=1"))
    expect(page.locator("#usage_days")).to_contain_text("Nada consumido en este período.")
    if javascript:
        page.set_viewport_size({"width": 390, "height": 844})
        assert layout_problems(page) == []
        screenshot(page, "account-usage-390")


def annual_chilean_customer(app) -> str:
    """A Chilean bakery on an annual Plan Básico begun 40 days ago: two months begun, ten whole months unused."""
    with app.test_request_context(headers={"Accept-Language": "es"}):
        cat = make_catalog()
        org = factories.make_org("customer", name=CUSTOMER, locale="es")
        subs.start_subscription(org, cat.basic, "CLP", "annual",
                                datetime.now(UTC).replace(microsecond=0) - timedelta(days=40), trial_days=0)
        membership = factories.make_member("customer", "admin", organisation=org, locale="es")
        db.session.commit()
        return membership.user.email


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_a_chilean_customer_suspends_an_annual_plan_after_seeing_its_refund(app, new_page, screenshot, javascript):
    email = annual_chilean_customer(app)
    page = new_page(locale="es-CL", javascript=javascript, width=1024)
    log_in(page, email)
    page.goto("/customer/account")
    page.get_by_role("link", name="Tus planes activos").click()
    expect(page.get_by_role("region", name=re.compile("Plan Básico"))).to_contain_text("Anual")
    screenshot(page, f"account-plans-1024-{'js' if javascript else 'nojs'}")
    page.get_by_role("link", name="Suspender la suscripción").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Suspender Plan Básico")
    expect(page.locator("dl.facts")).to_contain_text("10")  # whole months refunded
    expect(page.locator("dl.facts")).to_contain_text("$99.166")  # 10/12 of $100.000 plus its 19 % IVA
    assert layout_problems(page) == []
    screenshot(page, f"account-suspend-1024-{'js' if javascript else 'nojs'}")
    page.get_by_role("button", name="Confirmar la suspensión").click()
    expect(page.get_by_role("status").filter(has_text="suspendida").first).to_be_visible()
    page.get_by_role("link", name="Historial de suscripción").click()
    first = page.locator("#history tbody tr").first
    expect(first).to_contain_text("Suspendida")
    first.get_by_role("link", name=re.compile("NC")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Nota de crédito")
    expect(page.locator("main")).to_contain_text("$99.166")


def test_a_customer_who_paid_by_card_chooses_to_get_the_refund_back_on_the_card(app, new_page, screenshot):
    from portal.models import Invoice, Refund
    from tests.services.payments.helpers import make_card, pay_by_card

    email = annual_chilean_customer(app)
    [invoice] = db.session.scalars(db.select(Invoice).where(Invoice.kind == "invoice")).all()
    from portal.models import Organisation

    card = make_card(db.session.get(Organisation, invoice.organisation_id), last4="4242")
    db.session.commit()
    pay_by_card(invoice.organisation_id, invoice.id, invoice.total, card.id, "pay-all",
                now=datetime.now(UTC) - timedelta(days=39))
    page = new_page(locale="es-CL", width=1024)
    log_in(page, email)
    page.goto("/customer/account/plans")
    page.get_by_role("link", name="Suspender la suscripción").click()
    expect(page.get_by_role("group", name="A dónde vuelven los $99.166")).to_be_visible()
    page.get_by_label("La tarjeta con que pagaste: Visa •••• 4242", exact=False).check()
    # The two choices read as every choice of the portal does, in the text's weight; only the question is bold.
    choices = page.locator("fieldset label.check")
    assert choices.evaluate_all("labels => labels.map(label => getComputedStyle(label).fontWeight)") == ["400", "400"]
    assert layout_problems(page) == []
    screenshot(page, "account-suspend-refund-to-card-1024")
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 800})
        screenshot(page, f"account-suspend-refund-to-card-{width}")
    page.get_by_role("button", name="Confirmar la suspensión").click()
    expect(page.get_by_role("status").filter(has_text="suspendida").first).to_be_visible()
    db.session.rollback()
    [refund] = db.session.scalars(db.select(Refund)).all()
    assert (refund.destination, refund.state, refund.amount) == ("method", "succeeded", 99_166)


def test_a_brazilian_customer_upgrades_after_seeing_the_proration_and_finds_it_in_the_history(app, new_page,
                                                                                            screenshot):
    with app.test_request_context(headers={"Accept-Language": "pt-BR"}):
        cat = make_catalog()
        org = factories.make_org("customer", "BR", name="Padaria Pão Dourado Ltda")
        subs.start_subscription(org, cat.basic, "BRL", "monthly",
                                datetime.now(UTC).replace(microsecond=0) - timedelta(days=10), trial_days=0)
        membership = factories.make_member("customer", "admin", organisation=org, locale="pt_BR", name="João Lima")
        db.session.commit()
    page = new_page(locale="pt-BR", width=1024)
    log_in(page, membership.user.email)
    page.goto("/customer/account/plans")
    page.get_by_label("Mudar de plano").select_option(label="Plan Pro")
    page.get_by_role("button", name="Ver quanto custa").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mudar de Plan Básico para Plan Pro")
    preview = page.locator("dl.facts")
    expect(preview).to_contain_text("Diferença pelo resto do período")
    amount = preview.locator("dd").first.inner_text()
    assert layout_problems(page) == []
    screenshot(page, "account-plan-change-1024")
    page.get_by_role("button", name="Confirmar a mudança").click()
    expect(page.locator(".flash-success")).to_contain_text("O plano foi alterado")
    page.get_by_role("link", name="Histórico de assinatura").click()
    first = page.locator("#history tbody tr").first
    expect(first).to_contain_text("Plano alterado")
    expect(first).to_contain_text("Plan Básico → Plan Pro")
    expect(first).to_contain_text(amount)
    expect(first).to_contain_text("João Lima")


@pytest.mark.parametrize("width", [1280, 390])
def test_axe_finds_no_violation_in_the_account_area(app, new_page, width):
    from tests.browser.test_accessibility import axe_violations

    email = chilean_customer(app)
    with app.test_request_context(headers={"Accept-Language": "es"}):
        from portal.models import Product, Subscription

        sub = db.session.scalar(db.select(Subscription).order_by(Subscription.id.desc()).limit(1))
        pro = db.session.scalar(db.select(Product).where(Product.code == "pro"))
        sub_id, pro_id = sub.id, pro.id
    page = new_page(width=width, locale="es-CL", bypass_csp=True)  # axe is injected as an inline script
    log_in(page, email)
    problems = []
    for path in ("/customer/account", "/customer/account/plans", f"/customer/account/plans/{sub_id}/suspend",
                 f"/customer/account/plans/{sub_id}/plan?plan={pro_id}", "/customer/account/month",
                 "/customer/account/history", "/customer/account/usage"):
        response = page.goto(path)
        assert response.ok, f"{path} answered {response.status}"
        problems += axe_violations(page)
    assert not problems, "\n".join(problems)
