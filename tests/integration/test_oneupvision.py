"""1UPVISION (config name oneupvision): X-ServiceHook-* headers, HMAC-SHA256 hex of
the raw body, per-tenant secrets chosen by X-ServiceHook-UUID, timestamp freshness."""

import json
import time

import pytest

from hookgate_testlib import (ONEUP_OTHER_UUID, ONEUP_SECRET, ONEUP_SEED, ONEUP_UUID, TT_SECRET_NEW,
                      assert_accepted, assert_answer, assert_error, assert_nothing_published,
                      assert_single_entry, check_envelope, event_id, iso_utc, oneup_body,
                      oneup_headers, published_keys, read_stream, sign_oneup, trutac_headers)

STREAM = "webhooks:{oneupvision}"
TOLERANCE = 300


def deliver(gw, body, path="/webhooks/oneupvision", **kw):
    t0 = time.time()
    resp = gw.post(path, body, oneup_headers(body, **kw))
    return resp, (t0, time.time())


@pytest.mark.parametrize("path", ["/webhooks/oneupvision", "/webhooks"])
def test_seed_punch_is_published(gw, r, path):
    ts = int(time.time())
    resp, window = deliver(gw, ONEUP_SEED, path=path, timestamp=iso_utc(ts))
    eid = event_id("oneupvision", ONEUP_SEED)
    assert_accepted(resp, [eid])
    env = assert_single_entry(r, STREAM, eid)
    check_envelope(env, provider="oneupvision", body=ONEUP_SEED, type_="oneupvision.punch.create",
                   category="attendance.punched", tenant=ONEUP_UUID, subject="2",
                   received=window, time_value=ts)
    # the stream and its dedup key, nothing else
    assert published_keys(r) == sorted([STREAM, STREAM + ":seen:" + eid])


def test_tampered_body_is_refused(gw, r):
    headers = oneup_headers(ONEUP_SEED)
    tampered = ONEUP_SEED.replace(b'"punch_type":"IN"', b'"punch_type":"OUT"')
    assert tampered != ONEUP_SEED
    resp = gw.post("/webhooks/oneupvision", tampered, headers)
    assert_error(resp, 401, "unauthorized")
    assert_nothing_published(r)


def test_wrong_secret_is_refused(gw, r):
    resp, _ = deliver(gw, ONEUP_SEED, secret="not-the-" + "oneup-secret")
    assert_error(resp, 401, "unauthorized")
    assert_nothing_published(r)


def test_file_secret_keeps_inner_text_only(gw, r):
    """The secret file ends with a newline; signing with the newline must fail."""
    resp, _ = deliver(gw, ONEUP_SEED, secret=ONEUP_SECRET + "\n")
    assert_error(resp, 401, "unauthorized")
    assert_nothing_published(r)


def test_missing_signature_is_refused(gw, r):
    resp, _ = deliver(gw, ONEUP_SEED, secret=None)
    assert_error(resp, 401, "unauthorized")
    assert_nothing_published(r)


def test_uppercase_hex_signature_is_accepted(gw, r):
    headers = oneup_headers(ONEUP_SEED)
    headers["X-ServiceHook-Signature"] = headers["X-ServiceHook-Signature"].upper()
    resp = gw.post("/webhooks/oneupvision", ONEUP_SEED, headers)
    eid = event_id("oneupvision", ONEUP_SEED)
    assert_accepted(resp, [eid])
    assert_single_entry(r, STREAM, eid)


@pytest.mark.parametrize("uuid", [ONEUP_OTHER_UUID, None], ids=["unknown-uuid", "missing-uuid"])
def test_unknown_or_missing_tenant_is_refused(gw, r, uuid):
    # Signed with the configured secret: only the UUID is wrong.
    resp, _ = deliver(gw, ONEUP_SEED, uuid=uuid)
    assert_error(resp, 401, "unauthorized")
    assert_nothing_published(r)


def test_duplicate_delivery_publishes_once(gw, r):
    eid = event_id("oneupvision", ONEUP_SEED)
    first, _ = deliver(gw, ONEUP_SEED)
    assert_accepted(first, [eid])
    entry_before = read_stream(r, STREAM)
    second, _ = deliver(gw, ONEUP_SEED)
    assert_answer(second, "duplicate", [eid])
    assert read_stream(r, STREAM) == entry_before
    assert_single_entry(r, STREAM, eid)


def test_retry_with_new_timestamp_is_a_duplicate(gw, r):
    """1UPVISION retries re-sign with a new timestamp; the body is the event."""
    eid = event_id("oneupvision", ONEUP_SEED)
    now = int(time.time())
    assert_accepted(deliver(gw, ONEUP_SEED, timestamp=iso_utc(now - 60))[0], [eid])
    assert_answer(deliver(gw, ONEUP_SEED, timestamp=iso_utc(now))[0], "duplicate", [eid])
    assert_single_entry(r, STREAM, eid)


@pytest.mark.parametrize("offset", [-(TOLERANCE + 15), TOLERANCE + 15, -86400, 365 * 86400],
                         ids=["stale", "future", "a-day-old", "a-year-ahead"])
def test_timestamp_outside_tolerance_is_refused(gw, r, offset):
    resp, _ = deliver(gw, ONEUP_SEED, timestamp=iso_utc(time.time() + offset))
    assert_error(resp, 401, "stale_timestamp")
    assert_nothing_published(r)


@pytest.mark.parametrize("offset", [-(TOLERANCE - 15), TOLERANCE - 15], ids=["past", "future"])
def test_timestamp_just_inside_tolerance_is_accepted(gw, r, offset):
    ts = int(time.time() + offset)
    resp, window = deliver(gw, ONEUP_SEED, timestamp=iso_utc(ts))
    eid = event_id("oneupvision", ONEUP_SEED)
    assert_accepted(resp, [eid])
    env = assert_single_entry(r, STREAM, eid)
    check_envelope(env, provider="oneupvision", body=ONEUP_SEED, type_="oneupvision.punch.create",
                   category="attendance.punched", tenant=ONEUP_UUID, subject="2",
                   received=window, time_value=ts)


def test_timestamp_with_offset_is_normalised_to_utc(gw, r):
    ts = int(time.time()) - 30
    local = iso_utc(ts + 7200)[:-1] + "+02:00"  # the same instant, written at UTC+2
    resp, window = deliver(gw, ONEUP_SEED, timestamp=local)
    eid = event_id("oneupvision", ONEUP_SEED)
    assert_accepted(resp, [eid])
    env = assert_single_entry(r, STREAM, eid)
    assert env["time"].endswith("Z"), env["time"]
    check_envelope(env, provider="oneupvision", body=ONEUP_SEED, type_="oneupvision.punch.create",
                   category="attendance.punched", tenant=ONEUP_UUID, subject="2",
                   received=window, time_value=ts)


@pytest.mark.parametrize("timestamp", [None, "yesterday", "2026-13-45T99:00:00Z", ""],
                         ids=["missing", "words", "impossible-date", "empty"])
def test_missing_or_malformed_timestamp_is_refused(gw, r, timestamp):
    headers = oneup_headers(ONEUP_SEED)
    if timestamp is None:
        del headers["X-ServiceHook-Timestamp"]
    else:
        headers["X-ServiceHook-Timestamp"] = timestamp
    resp = gw.post("/webhooks/oneupvision", ONEUP_SEED, headers)
    assert_error(resp, 401, ("stale_timestamp", "unauthorized"))
    assert_nothing_published(r)


@pytest.mark.parametrize("event,category,obj", [
    ("punch.create", "attendance.punched", "punch"),
    ("punch.update", "attendance.punch_updated", "punch"),
    ("attendance.create", "attendance.day_created", "attendance"),
    ("visit.checkin", "visitor.checked_in", "visit"),
    ("people.create", "person.created", "person"),
    ("people.bulk_delete", "person.deleted", "people"),
    ("gadget.spin", "other", "gadget"),
])
def test_category_follows_the_event_header(gw, r, event, category, obj):
    body = oneup_body(obj=obj, obj_id=7001)
    resp, window = deliver(gw, body, event=event)
    eid = event_id("oneupvision", body)
    assert_accepted(resp, [eid])
    env = assert_single_entry(r, STREAM, eid)
    check_envelope(env, provider="oneupvision", body=body, type_="oneupvision." + event,
                   category=category, tenant=ONEUP_UUID, subject="7001", received=window)


def test_string_id_subject(gw, r):
    body = json.dumps({"visit": {"id": "V-42", "status": "in"}}).encode()
    resp, _ = deliver(gw, body, event="visit.checkin")
    eid = event_id("oneupvision", body)
    assert_accepted(resp, [eid])
    env = assert_single_entry(r, STREAM, eid)
    assert env["subject"] == "V-42"


def test_invalid_json_is_refused(gw, r):
    body = b'{"punch":{"id":2,}'
    resp = gw.post("/webhooks/oneupvision", body, oneup_headers(body))
    assert_error(resp, 400, "invalid_json")
    assert_nothing_published(r)


def test_charset_parameter_is_accepted(gw, r):
    headers = oneup_headers(ONEUP_SEED, content_type="application/json; charset=utf-8")
    resp = gw.post("/webhooks/oneupvision", ONEUP_SEED, headers)
    eid = event_id("oneupvision", ONEUP_SEED)
    assert_accepted(resp, [eid])
    assert_single_entry(r, STREAM, eid)


def test_trutac_signature_does_not_authenticate_oneupvision(gw, r):
    """A request routed to oneupvision carrying only TruTac credentials is refused."""
    headers = trutac_headers(ONEUP_SEED, secret=TT_SECRET_NEW)
    resp = gw.post("/webhooks/oneupvision", ONEUP_SEED, headers)
    assert_error(resp, 401, ("unauthorized", "stale_timestamp"))
    assert_nothing_published(r)


def test_signature_of_other_body_is_refused(gw, r):
    other = oneup_body(obj_id=3)
    headers = oneup_headers(ONEUP_SEED)
    headers["X-ServiceHook-Signature"] = sign_oneup(ONEUP_SECRET, other)
    resp = gw.post("/webhooks/oneupvision", ONEUP_SEED, headers)
    assert_error(resp, 401, "unauthorized")
    assert_nothing_published(r)
