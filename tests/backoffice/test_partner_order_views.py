"""The staff's approvals queue: every partner's pending orders, one opened, approved (stock credited with the
bonus, setup fees invoiced once) or cancelled, once; a billing clerk reads but does not decide."""

from datetime import UTC, datetime

import pytest

from portal.extensions import db
from portal.models import AuditEvent, Invoice
from portal.models.partners import PartnerOrder, PartnerStock
from portal.services.partners import orders
from tests import factories

PT = {"Accept-Language": "pt-BR"}
HTMX = {"HX-Request": "true"}
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def _pending(name: str, product: str, quantity: int) -> tuple[int, dict]:
    partner = factories.make_org("partner", country="BR", currency="BRL", name=name)
    _list, products = factories.make_partner_catalog(partner)
    admin = factories.make_member("partner", "admin", organisation=partner).user
    orders.add_line(partner, admin, "purchase", products[product], quantity, NOW)
    order = orders.confirm(orders.draft_for(partner, admin), admin, NOW)
    db.session.commit()
    return order.id, products


@pytest.fixture
def staff(login_as):
    return login_as("vendor", "advisor")


def test_the_queue_lists_every_partners_pending_orders(staff):
    first, _products = _pending("Moderniza Parceiro Sul", "completo", 10)
    second, _products = _pending("Parceiro Norte", "light", 2)
    page = staff.get("/backoffice/partner-orders", headers=PT).get_data(as_text=True)
    assert "Pedidos a aprovar" in page and "Moderniza Parceiro Sul" in page and "Parceiro Norte" in page
    assert "(PEND)" in page and 'Moderniza Completo <span class="nowrap">× 10 + 1</span>' in page  # kept together
    assert "estoque do parceiro" in page and "assinatura" not in page


def test_staff_approve_an_order_from_the_queue_once(staff):
    order_id, products = _pending("Moderniza Parceiro Sul", "completo", 10)
    page = staff.get(f"/backoffice/partner-orders/{order_id}", headers=PT).get_data(as_text=True)
    assert "Pauta Parceiros 2026" in page and "1.500,00" in page and "Aprovar" in page
    response = staff.form_post(f"/backoffice/partner-orders/{order_id}/approve", headers=PT)
    assert response.status_code == 303 and response.headers["Location"].endswith("/backoffice/partner-orders")
    db.session.expire_all()
    order = db.session.get(PartnerOrder, order_id)
    assert order.status == "finalised" and order.decided_by_id == staff.user.id
    stock = db.session.scalar(db.select(PartnerStock).where(PartnerStock.partner_id == order.partner_id))
    assert (stock.available, stock.total) == (11, 11)  # 10 bought + 1 free
    invoice = db.session.get(Invoice, order.setup_invoice_id)
    assert invoice.organisation_id == order.partner_id and invoice.subtotal == 10 * 15000
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "partner_order_approved",
                                                         AuditEvent.object_id == str(order_id))) is not None
    queue = staff.get("/backoffice/partner-orders", headers=PT).get_data(as_text=True)
    assert "foi aprovado" in queue and "Nenhum pedido aguarda aprovação" in queue

    again = staff.form_post(f"/backoffice/partner-orders/{order_id}/cancel", headers=PT)
    assert again.status_code == 409 and "já foi aprovado" in again.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(PartnerOrder, order_id).status == "finalised"
    # the setup fees, and the first month of the partner's subscription the order started
    assert db.session.scalar(db.select(db.func.count(Invoice.id))) == 2


def test_staff_cancel_an_order_and_nothing_is_credited(staff):
    order_id, _products = _pending("Parceiro Norte", "light", 2)
    response = staff.form_post(f"/backoffice/partner-orders/{order_id}/cancel", headers=HTMX)
    assert response.status_code == 204 and response.headers["HX-Location"].endswith("/backoffice/partner-orders")
    db.session.expire_all()
    assert db.session.get(PartnerOrder, order_id).status == "cancelled"
    assert db.session.scalar(db.select(db.func.count(PartnerStock.id))) == 0
    late = staff.form_post(f"/backoffice/partner-orders/{order_id}/approve", headers=PT)
    assert late.status_code == 409 and "já foi cancelado" in late.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(PartnerStock.id))) == 0


def test_a_billing_clerk_reads_the_queue_but_cannot_decide(login_as):
    order_id, _products = _pending("Parceiro Norte", "light", 2)
    billing = login_as("vendor", "billing")
    page = billing.get("/backoffice/partner-orders", headers=PT).get_data(as_text=True)
    assert "Parceiro Norte" in page and "Aprovar o pedido" not in page
    assert billing.form_post(f"/backoffice/partner-orders/{order_id}/approve").status_code == 403
    db.session.expire_all()
    assert db.session.get(PartnerOrder, order_id).status == "pending"


def test_a_draft_or_unknown_order_is_not_found(staff, login_as):
    partner = factories.make_org("partner", country="BR", currency="BRL")
    _list, products = factories.make_partner_catalog(partner)
    seller = factories.make_member("partner", "seller", organisation=partner).user
    draft = orders.add_line(partner, seller, "purchase", products["light"], 1, NOW).order
    db.session.commit()
    assert staff.get(f"/backoffice/partner-orders/{draft.id}").status_code == 404
    assert staff.form_post(f"/backoffice/partner-orders/{draft.id}/approve").status_code == 404
    assert staff.get("/backoffice/partner-orders/99999999999999999999").status_code == 404
    db.session.expire_all()
    assert db.session.get(PartnerOrder, draft.id).status == "draft"


def test_a_partners_admin_cannot_reach_the_queue(login_as):
    order_id, _products = _pending("Parceiro Norte", "light", 2)
    admin = login_as("partner", "admin")
    assert admin.get("/backoffice/partner-orders").status_code in (403, 404)
    assert admin.form_post(f"/backoffice/partner-orders/{order_id}/approve").status_code in (403, 404)


def test_the_order_to_approve_says_what_approving_invoices_and_adds_to_the_monthly_subscription(staff):
    order_id, _products = _pending("Moderniza Parceiro Sul", "completo", 10)
    page = staff.get(f"/backoffice/partner-orders/{order_id}", headers=PT).get_data(as_text=True)
    billing = page.split('id="order-billing"')[1].split("</section>")[0].replace("\xa0", " ")
    assert "O que a aprovação fatura" in billing and "R$ 1.500,00, faturado uma vez" in billing
    assert "+10" in billing and "O primeiro mês, R$ 899,00, faturado na aprovação" in billing
    assert "assinatura mensal do parceiro" in billing and "sua assinatura" not in billing
    staff.form_post(f"/backoffice/partner-orders/{order_id}/approve")
    page = staff.get(f"/backoffice/partner-orders/{order_id}", headers=PT).get_data(as_text=True)
    billing = page.split('id="order-billing"')[1].split("</section>")[0].replace("\xa0", " ")
    assert "Faturado e mensalidade" in billing and "O primeiro mês, R$ 899,00, na fatura" in billing
    assert "Aprovar" not in page
