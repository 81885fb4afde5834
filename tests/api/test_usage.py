"""POST /api/v1/usage: batches checked whole, each event id counted once, clear codes for every refusal."""

import http.client
import json
import random
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.extensions import db
from portal.models import UsageEvent
from portal.services.accounts import integration
from portal.services.billing import usage
from tests import factories

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=True):
        yield


def event(n, **fields) -> dict:
    return {"id": f"evt-{n}", "metric": "documents", "quantity": 1, "occurred_at": "2026-11-20T10:00:00Z", **fields}


def batch(ids, **fields) -> dict:
    return {"events": [event(n, **fields) for n in ids]}


def stored(org=None) -> int:
    db.session.rollback()
    query = db.select(db.func.count()).select_from(UsageEvent)
    if org is not None:
        query = query.where(UsageEvent.organisation_id == org.id)
    return db.session.scalar(query)


def test_a_batch_is_accepted_and_counted(api_client):
    response = api_client.post("/usage", json=batch(range(3), quantity=2))
    assert response.status_code == 200
    assert response.get_json() == {"accepted": 3, "duplicates": 0}
    db.session.rollback()
    assert usage.usage_totals(api_client.organisation.id, NOW - timedelta(days=1), NOW) == {"documents": 6}


def test_a_batch_sent_twice_is_counted_once(api_client):
    first = api_client.post("/usage", json=batch(range(5)))
    second = api_client.post("/usage", json=batch(range(5)))
    assert first.get_json() == {"accepted": 5, "duplicates": 0}
    assert second.get_json() == {"accepted": 0, "duplicates": 5}
    assert stored(api_client.organisation) == 5


def test_batches_sharing_ids_count_each_event_once(api_client):
    api_client.post("/usage", json=batch(range(0, 6)))
    response = api_client.post("/usage", json=batch(range(4, 10)))
    assert response.get_json() == {"accepted": 4, "duplicates": 2}
    assert stored(api_client.organisation) == 10


def test_duplicate_ids_within_one_batch_count_once(api_client):
    response = api_client.post("/usage", json=batch([1, 2, 2, 3, 1, 1]))
    assert response.get_json() == {"accepted": 3, "duplicates": 3}
    assert stored(api_client.organisation) == 3


def test_a_batch_over_a_thousand_is_refused_whole(api_client):
    response = api_client.post("/usage", json=batch(range(usage.MAX_EVENTS + 1)))
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "batch_too_large"
    assert stored() == 0
    assert api_client.post("/usage", json=batch(range(usage.MAX_EVENTS))).get_json()["accepted"] == usage.MAX_EVENTS


def test_a_body_over_a_megabyte_is_refused(api_client):
    padding = [event(n, id=f"{n:0>100}") for n in range(12_000)]
    response = api_client.post("/usage", data=json.dumps({"events": padding}), content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "batch_too_large"
    assert stored() == 0


@pytest.mark.parametrize(("change", "field", "code"), [
    ({"id": None}, "id", "invalid_event"),
    ({"metric": "pages"}, "metric", "invalid_event"),
    ({"quantity": 0}, "quantity", "invalid_event"),
    ({"quantity": -1}, "quantity", "invalid_event"),
    ({"quantity": 10**20}, "quantity", "invalid_event"),
    ({"quantity": 1.5}, "quantity", "invalid_event"),
    ({"quantity": "1"}, "quantity", "invalid_event"),
    ({"occurred_at": "20/11/2026"}, "occurred_at", "invalid_event"),
    ({"occurred_at": "2026-11-20T10:00:00"}, "occurred_at", "invalid_event"),
    ({"occurred_at": "2026-11-20T12:10:00Z"}, "occurred_at", "event_in_future"),
    ({"occurred_at": "2026-09-30T10:00:00Z"}, "occurred_at", "event_too_old"),
])
def test_each_malformed_field_refuses_the_batch_naming_event_and_field(api_client, change, field, code):
    events = [event(n) for n in range(20)]
    events[17] = {k: v for k, v in {**events[17], **change}.items() if v is not None}
    response = api_client.post("/usage", json={"events": events}, headers={"Accept-Language": "es"})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert (error["code"], error["index"], error["field"]) == (code, 17, field)
    assert error["message"]
    assert stored() == 0


def test_messages_follow_the_callers_language(api_client):
    body = {"events": [event(1, metric="pages")]}
    english = api_client.post("/usage", json=body, headers={"Accept-Language": "en"}).get_json()
    assert "metric must be one of" in english["error"]["message"]


def test_a_reused_id_with_other_values_is_a_conflict_and_nothing_is_written(api_client):
    api_client.post("/usage", json=batch([1]))
    response = api_client.post("/usage", json={"events": [event(2), event(1, quantity=5)]})
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert (error["code"], error["index"], error["field"]) == ("event_id_conflict", 1, "id")
    assert stored(api_client.organisation) == 1


@pytest.mark.parametrize("body", [b"{", b"not json", b"\xff\xfe", b"[" * 100_000 + b"]" * 100_000, b""])
def test_a_body_that_is_not_json_is_400(api_client, body):
    response = api_client.post("/usage", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_json"


@pytest.mark.parametrize("body", [[], {"events": []}, {"events": "all"}, {"event": [event(1)]}, 42])
def test_a_body_without_events_is_422(api_client, body):
    response = api_client.post("/usage", json=body)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_payload"


def test_without_a_key_or_with_a_wrong_one_it_is_401(api_client):
    assert api_client.post("/usage", key="", json=batch([1])).status_code == 401
    assert api_client.post("/usage", key="vk_live_" + "x" * 43, json=batch([1])).status_code == 401
    assert stored() == 0


def test_a_key_in_the_url_is_not_accepted(api_client):
    response = api_client.request("POST", f"/usage?api_key={api_client.key}&X-Api-Key={api_client.key}", key="",
                                  json=batch([1]))
    assert response.status_code == 401


def test_a_regenerated_key_stops_the_old_one_at_once(api_client):
    assert api_client.post("/usage", json=batch([1])).status_code == 200
    old = api_client.key
    db.session.rollback()  # SQLite: leave the snapshot taken before the request wrote
    new = integration.generate_key(api_client.organisation, None)
    db.session.commit()
    assert api_client.post("/usage", key=old, json=batch([2])).status_code == 401
    assert api_client.post("/usage", key=new, json=batch([2])).get_json() == {"accepted": 1, "duplicates": 0}


def test_the_rate_limit_answers_429_with_a_json_error(app, api_client):
    app.config["API_RATE_LIMIT"] = "3 per minute"
    statuses = [api_client.get("/me").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_events_reach_back_to_the_previous_billing_period(api_client):
    db.session.rollback()
    factories.make_subscription(api_client.organisation, start=datetime(2026, 11, 15, tzinfo=UTC))
    db.session.commit()
    late = api_client.post("/usage", json={"events": [event(1, occurred_at="2026-10-15T00:00:00Z")]})
    assert late.status_code == 200
    too_late = api_client.post("/usage", json={"events": [event(2, occurred_at="2026-10-14T23:59:59Z")]})
    assert too_late.get_json()["error"]["code"] == "event_too_old"


def _post_live(base: str, key: str, body: dict) -> tuple[int, dict]:
    connection = http.client.HTTPConnection(urlsplit(base).netloc, timeout=60)
    try:
        connection.request("POST", "/api/v1/usage", body=json.dumps(body),
                           headers={"X-Api-Key": key, "Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_the_same_batch_sent_eight_times_at_once_counts_once(api_client, live_url):
    body = batch(range(300))
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: _post_live(live_url, api_client.key, body), range(8)))
    assert {status for status, _ in answers} == {200}
    assert sum(answer["accepted"] for _, answer in answers) == 300
    assert all(answer["accepted"] + answer["duplicates"] == 300 for _, answer in answers)
    assert stored(api_client.organisation) == 300


def test_overlapping_batches_sent_concurrently_count_each_event_once(api_client, live_url):
    # Eight batches of 200 ids sliding by 100: 900 different ids, most of them in two batches.
    bodies = [batch(range(start, start + 200)) for start in range(0, 800, 100)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda body: _post_live(live_url, api_client.key, body), bodies))
    assert sum(answer["accepted"] for _, answer in answers) == 900
    assert sum(answer["duplicates"] for _, answer in answers) == 700
    assert stored(api_client.organisation) == 900


def test_batches_listing_shared_ids_in_different_orders_never_deadlock(api_client, live_url):
    bodies = []
    for seed in range(8):
        events = [event(n) for n in range(seed * 50, seed * 50 + 400)]
        random.Random(seed).shuffle(events)
        bodies.append({"events": events})
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda body: _post_live(live_url, api_client.key, body), bodies))
    assert {status for status, _ in answers} == {200}, answers
    assert sum(answer["accepted"] for _, answer in answers) == 750
    assert stored(api_client.organisation) == 750


def test_a_batch_replayed_three_times_gives_the_same_stored_rows(api_client):
    body = batch(range(50), quantity=4)
    answers = [api_client.post("/usage", json=body).get_json() for _ in range(3)]
    assert answers == [{"accepted": 50, "duplicates": 0}] + [{"accepted": 0, "duplicates": 50}] * 2
    db.session.rollback()
    assert usage.usage_totals(api_client.organisation.id, NOW - timedelta(days=1), NOW) == {"documents": 200}


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
EVENT_LIKE = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.text(max_size=120), st.integers(), st.none()),
        "metric": st.one_of(st.sampled_from(["documents", "users", "companies", "api_calls", "pages", ""]),
                            JSON_VALUES),
        "quantity": st.one_of(st.integers(min_value=-5, max_value=2 * usage.MAX_QUANTITY),
                              st.floats(allow_nan=False), st.text(max_size=5), st.booleans()),
        "occurred_at": st.one_of(
            st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                         timezones=st.sampled_from([UTC, None])).map(lambda d: d.isoformat()),
            st.text(max_size=40), st.integers()),
        "extra": JSON_VALUES,
    },
)
PAYLOADS = st.one_of(
    JSON_VALUES,
    st.fixed_dictionaries({"events": st.lists(st.one_of(EVENT_LIKE, JSON_VALUES), max_size=6)}),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=PAYLOADS)
def test_any_payload_gets_an_answer_never_a_500_and_refusals_write_nothing(api_client, payload):
    before = stored(api_client.organisation)
    response = api_client.post("/usage", data=json.dumps(payload), content_type="application/json")
    assert response.status_code in (200, 400, 409, 413, 422), response.get_json()
    if response.status_code != 200:
        assert stored(api_client.organisation) == before
    else:
        assert stored(api_client.organisation) == before + response.get_json()["accepted"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=200))
def test_any_bytes_get_an_answer_never_a_500(api_client, body):
    response = api_client.post("/usage", data=body, content_type="application/json")
    assert response.status_code in (200, 400, 409, 422)


@pytest.mark.parametrize("event_id", ["\ud800", "a\udfffb", "a\x00b", "tab\there", "esc\x1b", "del\x7f", "nel\x85"])
def test_an_id_with_a_lone_surrogate_or_a_control_character_is_422(api_client, event_id):
    """Neither database can store them as text (PostgreSQL refuses NUL, both refuse half a UTF-16 pair)."""
    body = json.dumps({"events": [event(1), event(2, id=event_id)]})  # ensure_ascii: "\\ud800" on the wire
    response = api_client.post("/usage", data=body, content_type="application/json")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert (error["code"], error["index"], error["field"]) == ("invalid_event", 1, "id")
    assert stored() == 0


def test_an_id_in_any_script_and_with_spaces_is_accepted(api_client):
    ids = ["pedido nº 7", "注文-42", "\U0001F9FE recibo"]
    response = api_client.post("/usage", json={"events": [event(n, id=i) for n, i in enumerate(ids)]})
    assert response.get_json() == {"accepted": 3, "duplicates": 0}


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/jsonx"])
def test_a_body_not_sent_as_json_is_415(api_client, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = api_client.post("/usage", data=json.dumps(batch([1])), headers=headers)
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "unsupported_media_type"
    assert stored() == 0


def test_json_with_a_charset_is_json(api_client):
    response = api_client.post("/usage", data=json.dumps(batch([1])),
                               headers={"Content-Type": "application/json; charset=utf-8"})
    assert response.get_json() == {"accepted": 1, "duplicates": 0}


def _post_chunked(base: str, key: str, body: bytes) -> tuple[int, dict]:
    connection = http.client.HTTPConnection(urlsplit(base).netloc, timeout=60)
    try:
        chunks = (body[start:start + 65536] for start in range(0, len(body), 65536))
        connection.request("POST", "/api/v1/usage", body=chunks, encode_chunked=True,
                           headers={"X-Api-Key": key, "Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_a_chunked_body_over_the_limit_is_413_and_one_within_it_is_read_whole(api_client, live_url):
    padding = json.dumps({"events": [event(n, id=f"{n:0>100}") for n in range(12_000)]}).encode()
    assert len(padding) > 1024 * 1024
    status, answer = _post_chunked(live_url, api_client.key, padding)
    assert (status, answer["error"]["code"]) == (413, "batch_too_large")
    status, answer = _post_chunked(live_url, api_client.key, json.dumps(batch(range(900))).encode())
    assert (status, answer) == (200, {"accepted": 900, "duplicates": 0})


def test_the_documents_example_event_is_accepted_and_its_window_stated(client, api_client):
    """The window is in the schema, as bounds a client can check, and its edges and example are accepted."""
    document = client.get("/api/v1/openapi.json").get_json()
    schema = document["components"]["schemas"]["UsageEvent"]
    occurred_at = schema["properties"]["occurred_at"]
    earliest, latest = (datetime.fromisoformat(occurred_at[k]) for k in ("formatMinimum", "formatMaximum"))
    assert latest - earliest == timedelta(days=27, minutes=5)
    assert NOW + timedelta(minutes=5) <= latest < NOW + timedelta(minutes=6)
    events = schema["examples"] + [{**event(n), "occurred_at": when} for n, when in enumerate(
        [occurred_at["examples"][0], occurred_at["formatMinimum"], occurred_at["formatMaximum"]])]
    assert api_client.post("/usage", json={"events": events}).get_json() == {"accepted": 4, "duplicates": 0}
