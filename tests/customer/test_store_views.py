"""The store's screens: rows and their arrows (htmx or plain links), a product, the cart, activation."""

import re
import threading

import pytest

from portal.extensions import db
from portal.models import Activation, CartLine
from portal.orm import utcnow
from portal.services import catalog
from tests import factories
from tests.services.store_helpers import make_store

HX = {"HX-Request": "true"}


@pytest.fixture
def store(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        made = make_store(utcnow())
        for n in range(4):
            factories.make_product("module", made.cat.basic.software, code=f"mod-{n}", name=f"Módulo {n}",
                                   category=made.erp, prices=(("CLP", "monthly", 1_000, 0),))
        db.session.commit()
        yield made


@pytest.fixture
def admin(app, store):
    client = app.test_client()
    client.login(store.admin.email)
    return client


def _lines():
    db.session.rollback()
    return [(line.product_id, line.quantity) for line in db.session.scalars(db.select(CartLine).order_by(CartLine.id))]


def test_the_store_shows_each_row_with_named_arrows_and_cards(admin, store):
    page = admin.get("/customer/store").get_data(as_text=True)
    assert page.index('id="row-mi-plan"') < page.index('id="row-erp"')
    assert 'aria-label="Next products: ERP"' in page and 'id="row-erp-next"' in page
    assert 'id="row-erp-prev"' in page and 'aria-disabled="true"' in page
    assert "Free" in page and "CLP3,000" in page and "CLP24,990" in page
    assert 'id="cart-badge"' in page


def test_an_arrow_pages_its_row_alone_with_htmx_and_the_whole_page_without(admin):
    fragment = admin.get("/customer/store?row=erp&erp=2", headers=HX).get_data(as_text=True)
    assert fragment.startswith('<section class="store-row" id="row-erp"') and "2 of 2" in fragment
    assert "<html" not in fragment and 'id="row-mi-plan"' not in fragment
    page = admin.get("/customer/store?erp=2").get_data(as_text=True)
    assert "<html" in page and "2 of 2" in page and 'id="row-mi-plan"' in page
    assert admin.get("/customer/store?row=nothing&nothing=2", headers=HX).status_code == 404


def test_the_search_finds_products_by_name_without_accents(admin):
    page = admin.get("/customer/store?q=MODULO").get_data(as_text=True)
    assert "4 products match" in page and "Módulo 3" in page and 'id="row-erp"' not in page


def test_a_product_page_shows_its_description_setup_fee_and_period(admin, store):
    page = admin.get(f"/customer/store/products/{store.cat.module.id}").get_data(as_text=True)
    assert "Setup fee" in page and "CLP20,000" in page and "Monthly" in page
    assert admin.get(f"/customer/store/products/{store.cat.basic.id}").status_code == 404  # a plan: not in a row


def test_adding_with_htmx_answers_the_card_the_badge_and_the_panel(admin, store):
    response = admin.post("/customer/cart", data={"product_id": store.cat.user.id, "quantity": "2",
                                                  "csrf_token": admin.csrf_token()}, headers=HX)
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and f'id="card-{store.cat.user.id}"' in text
    assert 'id="cart-badge" href="/customer/cart" hx-swap-oob="true"' in text and ">1</span>" in text
    assert 'id="cart-panel"' in text and "In your cart: 2" in text
    assert _lines() == [(store.cat.user.id, 2)]


def test_adding_without_javascript_goes_back_to_the_store(admin, store):
    response = admin.form_post("/customer/cart", {"product_id": store.cat.module.id, "next": "/customer/store?erp=2"})
    assert response.status_code == 303 and response.headers["Location"] == "/customer/store?erp=2"
    assert "was added to your cart" in admin.get("/customer/store").get_data(as_text=True)
    response = admin.form_post("/customer/cart", {"product_id": store.free.id, "next": "https://elsewhere.test/"})
    assert response.headers["Location"] == "/customer/store"


@pytest.mark.parametrize("quantity", ["0", "-3", "two", "99999999999999999999", "10001"])
def test_a_bad_quantity_is_a_translated_4xx_and_nothing_is_written(admin, store, quantity):
    response = admin.form_post("/customer/cart", {"product_id": store.cat.user.id, "quantity": quantity},
                               headers={"Accept-Language": "es"})
    assert response.status_code == 422
    assert "cantidad" in response.get_data(as_text=True)
    assert _lines() == []


def test_a_retired_or_unknown_product_cannot_be_added(admin, store):
    catalog.retire_product(store.cat.module)
    db.session.commit()
    assert admin.form_post("/customer/cart", {"product_id": store.cat.module.id}).status_code == 422
    assert admin.form_post("/customer/cart", {"product_id": "2147483648"}).status_code == 422
    assert _lines() == []


def _key_and_fingerprint(page: str) -> dict:
    return {name: re.search(rf'name="{name}" value="([^"]+)"', page).group(1) for name in ("key", "fingerprint")}


def test_the_cart_changes_quantities_removes_and_activates_once(admin, store):
    admin.form_post("/customer/cart", {"product_id": store.cat.user.id, "quantity": "2"})
    admin.form_post("/customer/cart", {"product_id": store.cat.module.id})
    [(_user, _), (_module, _)] = _lines()
    line_id = db.session.scalar(db.select(CartLine.id).where(CartLine.product_id == store.cat.user.id))
    assert admin.form_post(f"/customer/cart/{line_id}", {f"quantity-{line_id}": "0"}).status_code == 422
    assert admin.form_post(f"/customer/cart/{line_id}", {f"quantity-{line_id}": "3"}).status_code == 303
    page = admin.get("/customer/cart").get_data(as_text=True)
    assert "Inventario" in page and "setup fee CLP20,000 included" in page and "19%" in page
    form = _key_and_fingerprint(page)
    first = admin.form_post("/customer/cart/activate", form)
    assert first.status_code == 303 and "/customer/store/activations/" in first.headers["Location"]
    again = admin.form_post("/customer/cart/activate", form)
    assert again.headers["Location"] == first.headers["Location"]
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Activation.id))) == 1
    done = admin.get(first.headers["Location"]).get_data(as_text=True)
    assert "Activated" in done and "Usuario adicional" in done
    assert "Activations made" in admin.get("/customer/store/activations").get_data(as_text=True)
    admin.form_post("/customer/cart", {"product_id": store.free.id})
    other = _key_and_fingerprint(admin.get("/customer/cart").get_data(as_text=True))
    reused = admin.form_post("/customer/cart/activate", {"key": form["key"], "fingerprint": other["fingerprint"]})
    assert reused.status_code == 409 and "already used for another cart" in reused.get_data(as_text=True)


def test_a_cart_changed_in_another_tab_is_shown_again_and_not_activated(admin, store):
    admin.form_post("/customer/cart", {"product_id": store.cat.user.id})
    form = _key_and_fingerprint(admin.get("/customer/cart").get_data(as_text=True))
    admin.form_post("/customer/cart", {"product_id": store.free.id})
    response = admin.form_post("/customer/cart/activate", form)
    assert response.status_code == 422 and "Your cart changed since you saw it" in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Activation.id))) == 0


def test_eight_confirmations_at_once_activate_once(app, admin, store):
    admin.form_post("/customer/cart", {"product_id": store.cat.user.id, "quantity": "2"})
    form = _key_and_fingerprint(admin.get("/customer/cart").get_data(as_text=True))
    form["csrf_token"] = admin.csrf_token()
    answers, start = [], threading.Barrier(8)

    def confirm():
        start.wait()
        answers.append(admin.post("/customer/cart/activate", data=form))

    threads = [threading.Thread(target=confirm) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {(r.status_code, r.headers.get("Location")) for r in answers} == {(303, answers[0].headers["Location"])}
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Activation.id))) == 1
    db.session.refresh(store.sub)
    assert [item.quantity for item in store.sub.items] == [2]


def test_members_see_the_store_but_cannot_buy(app, store):
    member = factories.make_member("customer", "member", organisation=store.org)
    db.session.commit()
    client = app.test_client()
    client.login(member.user.email)
    page = client.get("/customer/store").get_data(as_text=True)
    assert "My plan" in page and 'action="/customer/cart"' not in page and 'id="cart-badge"' not in page
    assert client.form_post("/customer/cart", {"product_id": store.cat.user.id}).status_code == 403
    assert client.get("/customer/cart").status_code == 403
    assert client.form_post("/customer/cart/activate", {"key": "x" * 20, "fingerprint": "y"}).status_code == 403
