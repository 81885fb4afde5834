"""The service tests' common fixture: the billing tests' little catalog, made inside an English request (the
services' messages are lazy translations, and reading one needs a request)."""

import pytest

from tests.services.billing_helpers import make_catalog


@pytest.fixture
def cat(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield make_catalog()
