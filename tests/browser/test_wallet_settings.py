"""The wallet's automatic payments in a real browser: a Chilean administrator (es) with a card turns on paying
renewals from the wallet first and auto-recharge, reads what will happen, and a negative threshold is refused
on the page with nothing saved. At a desktop's and a phone's width, with and without JavaScript."""

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import WalletSettings
from tests import factories
from tests.browser.conftest import log_in
from tests.browser.test_look import layout_problems
from tests.services.payments.helpers import make_card


def _blur(page) -> None:
    page.evaluate("document.activeElement && document.activeElement.blur()")


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_a_chilean_administrator_turns_on_pay_from_wallet_and_auto_recharge(app, new_page, screenshot, javascript):
    org = factories.make_org("customer", "CL", name="Ferretería Los Andes SpA", locale="es")
    admin = factories.make_member("customer", "admin", organisation=org, locale="es").user
    make_card(org)
    db.session.commit()
    page = new_page(locale="es-CL", javascript=javascript)
    log_in(page, admin.email)
    page.goto(page.url.split("/customer")[0] + "/customer/wallet")
    expect(page.get_by_role("heading", name="Pagos automáticos")).to_be_visible()
    expect(page.get_by_text("se cobra a Visa •••• 4242 lo que debe")).to_be_visible()
    page.get_by_label("Cuando el saldo baje de").fill("-5")
    page.get_by_label("Recargar la billetera automáticamente").check()
    page.get_by_role("button", name="Guardar", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("no puede ser negativo")
    db.session.rollback()
    assert db.session.get(WalletSettings, org.id) is None

    page.get_by_label("Pagar primero las facturas de renovación con la billetera").check()
    page.get_by_label("Recargar la billetera automáticamente").check()
    page.get_by_label("Cuando el saldo baje de").fill("10.000")
    page.get_by_label("Agregar este monto").fill("30.000")
    page.get_by_role("button", name="Guardar", exact=True).click()
    expect(page.get_by_text("Se guardó la configuración de la billetera.")).to_be_visible()
    expect(page.get_by_text("baja de $10.000, se cobran $30.000 a Visa •••• 4242")).to_be_visible()
    db.session.rollback()
    stored = db.session.get(WalletSettings, org.id)
    assert (stored.pay_from_wallet, stored.auto_recharge, stored.recharge_threshold, stored.recharge_amount) == (
        True, True, 10_000, 30_000)
    assert layout_problems(page) == []
    _blur(page)
    screenshot(page, f"wallet-settings-1280-{'js' if javascript else 'nojs'}")
    page.set_viewport_size({"width": 390, "height": 844})
    assert layout_problems(page) == []
    _blur(page)
    screenshot(page, f"wallet-settings-390-{'js' if javascript else 'nojs'}")
