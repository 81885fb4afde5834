"""Every action the audit log records has words for the activity lists: no raw code reaches a screen."""

import re

from portal.activity import ACTION_LABELS
from portal.config import PROJECT_ROOT


def test_every_recorded_action_has_a_label():
    recorded = set()
    for path in (PROJECT_ROOT / "portal").rglob("*.py"):
        recorded |= set(re.findall(r"""\brecord\(\s*["']([a-z_]+)["']""", path.read_text()))
    assert recorded, "no audit.record calls found"
    assert recorded - set(ACTION_LABELS) == set()


def test_countries_are_named_in_the_page_language(app):
    from flask import render_template_string
    from flask_babel import refresh

    for language, expected in (("es", "Brasil"), ("pt-BR", "Brasil"), ("en", "Brazil")):
        with app.test_request_context(headers={"Accept-Language": language}):
            refresh()  # the test's app context outlives each request: forget the last one's language
            assert render_template_string("{{ 'BR'|country }} {{ 'XX'|country }}") == f"{expected} XX"


def test_what_the_billing_run_did_is_signed_by_the_portal_not_by_someone(app, login_as):
    from portal.extensions import db
    from portal.services import audit

    client = login_as("customer", "admin")
    audit.record("invoice_issued", organisation=db.session.merge(client.organisation))
    audit.record("login_failed", organisation=db.session.merge(client.organisation))
    db.session.commit()
    page = client.get("/customer/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Vitrine, automáticamente" in page and "alguien" in page
