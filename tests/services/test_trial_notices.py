"""Before a free month ends the customer is told, once by e-mail and meanwhile by a banner, when it ends and
what the plan then costs."""

from datetime import timedelta

import pytest

from portal.extensions import db
from portal.models import OutboxMessage
from portal.orm import utcnow
from portal.services import trial_notices
from portal.services.billing import subscriptions as subs
from tests import factories
from tests.services.billing_helpers import JAN, make_catalog


@pytest.fixture
def trial(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        cat = make_catalog()
        membership = factories.make_member("customer", "admin")
        factories.make_member("customer", "member", organisation=membership.organisation)
        sub = subs.start_subscription(membership.organisation, cat.basic, "CLP", "monthly", JAN,
                                      items=[(cat.user, 2)])
        yield membership, sub


def test_the_admins_are_told_once_a_week_before_the_trial_ends_what_it_will_cost(trial):
    membership, sub = trial
    assert trial_notices.send_trial_notices(JAN + timedelta(days=22)) == 0  # eight days before: not yet
    assert trial_notices.send_trial_notices(JAN + timedelta(days=24)) == 1
    assert trial_notices.send_trial_notices(JAN + timedelta(days=25)) == 0  # once per trial
    [message] = db.session.scalars(db.select(OutboxMessage)).all()
    assert message.recipient == membership.user.email
    # Plan Básico CLP 10,000 + 2 users × 3,000 = 16,000, plus Chile's 19 %.
    assert "$19.040" in message.text_body and "OXXO" in message.text_body  # in the organisation's Spanish
    ending = trial_notices.trial_ending(membership.organisation, JAN + timedelta(days=24))
    assert (ending.amount, ending.ends_at) == (19_040, sub.trial_ends_at)
    assert trial_notices.trial_ending(membership.organisation, JAN + timedelta(days=5)) is None


def test_the_banner_shows_on_the_home_and_the_store_in_the_last_week(app, trial):
    membership, sub = trial
    sub.trial_ends_at = sub.current_period_end = utcnow() + timedelta(days=20)
    db.session.commit()
    client = app.test_client()
    client.login(membership.user.email)
    assert "Your free month ends" not in client.get("/customer/").get_data(as_text=True)
    sub.trial_ends_at = sub.current_period_end = utcnow() + timedelta(days=3)
    db.session.commit()
    for page in ("/customer/", "/customer/store"):
        text = client.get(page).get_data(as_text=True)
        assert "Your free month ends" in text and "CLP19,040" in text, page
