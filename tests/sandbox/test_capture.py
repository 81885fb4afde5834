"""The sandbox gateway's hosted page: the only place a card number is typed; the portal gets a token back."""

from urllib.parse import parse_qs, urlsplit

import pytest

from portal.services.payments import gateway as gateways
from portal.services.payments.gateway import WebhookRefused

RETURN = "/customer/payment-methods/added"


def _capture_url(app, org_id: int = 7, locale: str = "es") -> str:
    with app.test_request_context():
        return gateways.get("sandbox").start_capture(org_id, RETURN, locale).url


def _post_card(client, url, number="4242 4242 4242 4242", expiry="12/30", cvc="123", holder="Rosa Pérez"):
    return client.form_post(url, {"number": number, "expiry": expiry, "cvc": cvc, "holder": holder})


def test_the_hosted_page_shows_the_card_form_and_the_test_cards_in_the_payers_language(app, client):
    page = client.get(_capture_url(app))
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "Número de la tarjeta" in text and "4000 0000 0000 0341" in text


def test_a_page_without_a_valid_session_is_gone(client):
    assert client.get("/sandbox-gateway/capture?session=forged").status_code == 410


def test_a_test_card_goes_back_to_the_portal_as_a_token_without_its_number(app, client):
    response = _post_card(client, _capture_url(app))
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert location.path == RETURN
    assert "4242424242424242" not in response.headers["Location"]
    with app.test_request_context():
        card = gateways.get("sandbox").finish_capture({"result": parse_qs(location.query)["result"][0]}, 7)
    assert card.token.startswith("tok_sb_succeeds_") and (card.brand, card.last4) == ("visa", "4242")
    assert (card.exp_month, card.exp_year, card.organisation_id) == (12, 2030, 7)


@pytest.mark.parametrize("number, expiry, message", [
    ("4000 0000 0000 0002", "12/30", "rechazada"),
    ("4242 4242 4242 4241", "12/30", "no es un número de tarjeta válido"),
    ("4111 1111 1111 1111", "12/30", "tarjetas de prueba"),
    ("4242 4242 4242 4242", "01/20", "vencida"),
    ("4242 4242 4242 4242", "13/30", "MM/AA"),
])
def test_a_card_the_provider_refuses_is_explained_and_never_sent_back(app, client, number, expiry, message):
    response = _post_card(client, _capture_url(app), number=number, expiry=expiry)
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and message in text
    assert number.replace(" ", "") not in text.replace(" ", "").split("<table")[0]


def test_a_forged_result_is_refused(app):
    with app.test_request_context(), pytest.raises(WebhookRefused):
        gateways.get("sandbox").finish_capture({"result": "forged"}, 7)
