"""The customer's home shows its plan, what the plan includes and what is used, and what is still to pay."""

import re

from portal.extensions import db
from portal.orm import utcnow
from portal.services.billing import subscriptions as subs
from portal.services.billing import usage
from tests.services.billing_helpers import make_catalog


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def test_the_home_shows_the_plan_its_use_and_the_amount_due(app, login_as, count_queries):
    client = login_as("customer", "admin")
    with app.test_request_context(headers={"Accept-Language": "en"}):
        cat = make_catalog()
        org = db.session.merge(client.organisation)
        subs.start_subscription(org, cat.basic, "CLP", "monthly", utcnow(), trial_days=0, items=[(cat.user, 2)])
        usage.record_events(org, [usage.Event("a1", "documents", 130, utcnow())], utcnow())
        db.session.commit()
    with count_queries() as counter:
        page = client.get("/customer/", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    text = _text(page)
    assert "Plan Básico" in text and "Active" in text
    assert re.search(r"Electronic documents 130 30 above the plan 100", text), text
    assert re.search(r"Users 1 2", text), text  # one member; the plan sets no users, each additional user adds one
    assert "19,040" in text, text  # 10,000 + 2 × 3,000 + 19 % tax, in English
    assert "1 pending invoice" in text
    assert counter["n"] <= 14, counter["n"]


def test_without_a_plan_the_home_says_so_in_the_customers_language(login_as):
    client = login_as("customer", "admin")
    text = _text(client.get("/customer/", headers={"Accept-Language": "pt-BR"}))
    assert "Você ainda não tem um plano" in text and "Nada a pagar" in text
