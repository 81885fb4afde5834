"""Delivering the sandbox gateway's webhooks to the portal's endpoint, as the provider would over HTTP.

The sandbox lives in the portal's own process, so the request goes through the portal's WSGI application
(every layer a real delivery meets: routing, the signature check, the recording) in an application context
of its own, never sharing the sender's database session. Each attempt is signed at the time it is sent, as
Stripe signs each retry anew.
"""

import time
from urllib.parse import urlsplit

from flask import current_app
from flask.globals import _cv_app
from werkzeug.test import Client

from portal.services.payments import sandbox

# What tells the provider to stop sending: accepted, or a replay of an event already accepted.
DELIVERED = frozenset({200, 201, 202, 204, 409})


def deliver(gateway_code: str, body: str) -> int:
    """Post one signed webhook to /webhooks/<gateway> and return the HTTP status it was answered with."""
    app = current_app._get_current_object()
    base = urlsplit(app.config["BASE_URL"])
    path = app.url_map.bind(base.netloc or "localhost", script_name=base.path or "/").build(
        "webhooks.receive", {"gateway": gateway_code})
    raw = body.encode()
    headers = {sandbox.SIGNATURE_HEADER: sandbox.sign(raw, int(time.time())), "Content-Type": "application/json"}
    token = _cv_app.set(None)  # the request gets its own app context, database session and writers' turn
    try:
        response = Client(app).post(path, data=raw, headers=headers,
                                    base_url=f"{base.scheme or 'http'}://{base.netloc or 'localhost'}")
        return response.status_code
    finally:
        _cv_app.reset(token)
