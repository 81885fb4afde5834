"""The integration key of a blocked organisation: 402 `payment_required` while a balance is overdue, 403
`account_blocked` when blocked by hand; it works again as soon as the block is lifted."""

import pytest

from portal.extensions import db
from portal.orm import utcnow
from portal.services.accounts import blocking, integration


@pytest.mark.parametrize("reason, status, code", [("unpaid", 402, "payment_required"),
                                                  ("reseller", 403, "account_blocked"),
                                                  ("staff", 403, "account_blocked")])
def test_a_blocked_accounts_key_answers_with_a_code(app, api_client, reason, status, code):
    blocking.block(db.session.merge(api_client.organisation), reason, utcnow())
    db.session.commit()
    for method, path in (("GET", "/me"), ("GET", "/invoices"), ("POST", "/usage")):
        response = api_client.request(method, path, json={"events": []})
        assert response.status_code == status and response.get_json()["error"]["code"] == code
    assert integration.organisation_for_key(api_client.key).id == api_client.organisation.id
    blocking.unblock(db.session.merge(api_client.organisation), utcnow())
    db.session.commit()
    assert api_client.get("/me").status_code == 200
