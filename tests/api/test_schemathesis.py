"""The API tried by schemathesis against its own OpenAPI document, over HTTP, on this run's database.

Each operation gets a bounded, derandomized run (the same cases on every run): the document's examples, the
coverage phase's boundary values, wrong types and undeclared methods (TRACE, PUT, DELETE…), and fuzzed cases.
Every check schemathesis has runs on each answer: no server error, only documented statuses, content types
and schemas, a 405 with Allow for an undeclared method, no accepted invalid input and no refused valid input,
no ignored authentication.
"""

from datetime import UTC, datetime, timedelta, timezone

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from portal import create_app
from portal.api.openapi import openapi_document
from portal.extensions import db
from tests import factories

MAX_EXAMPLES = 300


def _document() -> dict:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.test_request_context():
        return openapi_document()


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(DOCUMENT)
# The key is each test's own (sent with every call below), not a value to generate.
schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True, with_security_parameters=False)
# A batch of more than 1,000 events is refused with 413 (`batch_too_large`), as the document says.
rejection = schema.config.checks.negative_data_rejection
rejection.expected_statuses = [*rejection.expected_statuses, "413"]


def _window() -> tuple[datetime, datetime]:
    occurred_at = DOCUMENT["components"]["schemas"]["UsageEvent"]["properties"]["occurred_at"]
    return tuple(datetime.fromisoformat(occurred_at[bound]) for bound in ("formatMinimum", "formatMaximum"))


# Schemathesis knows date-time but not the bounds the document gives it (formatMinimum/formatMaximum):
# valid events are drawn from the window the document states, written in a few time zones.
ZONES = [UTC, timezone(timedelta(hours=-3)), timezone(timedelta(hours=5, minutes=30))]
_earliest, _latest = _window()
schemathesis.openapi.format("date-time", st.builds(
    lambda moment, zone: moment.astimezone(zone).isoformat().replace("+00:00", "Z"),
    st.datetimes(min_value=_earliest.replace(tzinfo=None), max_value=_latest.replace(tzinfo=None),
                 timezones=st.just(UTC)),
    st.sampled_from(ZONES),
))


@schema.hook
def map_body(context, body):
    """A quantity is written without a decimal point, as the document says (2.0 is refused, as in
    tests/services/test_usage.py); JSON Schema counts 2.0 as an integer, so schemathesis writes some that way."""
    if isinstance(body, dict) and isinstance(body.get("events"), list):
        for item in body["events"]:
            if isinstance(item, dict) and isinstance(item.get("quantity"), float) and item["quantity"].is_integer():
                item["quantity"] = int(item["quantity"])
    return body


@pytest.fixture
def api_server(app, live_url, keyed_org):
    """The portal served over HTTP, an organisation with invoices (and one of another), and its key: the vendor's,
    the one key that may also check licenses (a partner's license among them)."""
    # Schemathesis sends thousands of requests a minute, a good part of them without a key or with a wrong one
    # (to see that authentication is enforced): the limits are tested on their own, in test_protocol.py.
    app.config.update(API_RATE_LIMIT="100000 per minute", API_FAILED_KEY_LIMIT="100000 per minute",
                      API_LICENSE_CHECK_LIMIT="100000 per minute")
    organisation, key = keyed_org("vendor")
    other, _other_key = keyed_org()
    factories.make_license(factories.make_org("partner", country="BR", currency="BRL"), tax_id="11.222.333/0001-81")
    day = datetime.now(UTC) - timedelta(days=40)
    for n in range(3):
        factories.make_invoice(organisation, issued_at=day + timedelta(days=n), installments=n + 1)
    factories.make_invoice(other, issued_at=day)
    db.session.commit()
    return live_url + "/api/v1", key


# The fiscal documents' bodies are bytes that no schema can fully describe, so two checks cannot hold for them
# and are left out there only (tests/api/test_fiscal_documents.py sends real and broken XMLs instead):
# - an `application/xml` body: any string is schema-valid, but only a real NF-e of the key's company is kept
#   (no schema says "an XML with a right check digit"), so a generated one is refused with 422 by design;
# - a multipart batch: every part is bytes on the wire, so a "wrongly typed" file (the number 0, an object
#   serialised as XML) is indistinguishable from the text of a file, and is answered, as any file, with its
#   own refusal inside a 200.
UNCHECKABLE = {("uploadFiscalDocuments", "application/xml"): positive_data_acceptance,
               ("uploadFiscalDocuments", "multipart/form-data"): negative_data_rejection}


@schema.parametrize()
# One server and one organisation for all the cases of an operation, as a client would meet them.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_api_keeps_its_documented_promises(case, api_server):
    base_url, key = api_server
    check = UNCHECKABLE.get((case.operation.definition.raw.get("operationId"), case.media_type))
    excluded = [check] if check is not None else []
    case.call_and_validate(base_url=base_url, headers={"X-Api-Key": key}, excluded_checks=excluded)
