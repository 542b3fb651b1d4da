"""TruTac (config name trutac): TT-Hook-Signature "sha1=<hex>" = HMAC-SHA1 of the raw
body, TT-Hook-Event names the event, secrets rotate, tenants come from the path,
and ping is verified but never published."""

import http.client
import json
import time

import pytest

from hookgate_testlib import (ONEUP_SECRET, TRUTAC_SEED, TT_SECRET_NEW, TT_SECRET_OLD,
                              TT_SECRET_UNCONFIGURED, TT_TENANT, TT_TENANT_SECRET,
                              assert_accepted, assert_answer, assert_error,
                              assert_nothing_published, assert_single_entry, check_envelope,
                              event_id, oneup_headers, published_keys, read_stream,
                              trutac_body, trutac_headers)

STREAM = "webhooks:{trutac}"


def deliver(gw, body, path="/webhooks/trutac", **kw):
    t0 = time.time()
    resp = gw.post(path, body, trutac_headers(body, **kw))
    return resp, (t0, time.time())


def check_trutac(env, body, window, category="attendance.punched", subject="CLOCKING-ID-123",
                 tenant=None, type_="trutac.clocking"):
    check_envelope(env, provider="trutac", body=body, type_=type_, category=category,
                   tenant=tenant, subject=subject, received=window, time_window=window)


@pytest.mark.parametrize("path", ["/webhooks/trutac", "/webhooks"])
def test_seed_clocking_is_published(gw, r, path):
    resp, window = deliver(gw, TRUTAC_SEED, path=path)
    eid = event_id("trutac", TRUTAC_SEED)
    assert_accepted(resp, [eid])
    env = assert_single_entry(r, STREAM, eid)
    check_trutac(env, TRUTAC_SEED, window)
    assert published_keys(r) == sorted([STREAM, STREAM + ":seen:" + eid])


def test_detected_by_event_header_alone(gw, r):
    """TT-Hook-Event alone identifies TruTac; without a signature it is then refused."""
    resp = gw.post("/webhooks", TRUTAC_SEED, trutac_headers(TRUTAC_SEED, secret=None))
    assert_error(resp, 401, "unauthorized")
    assert_nothing_published(r)


def test_tampered_body_is_refused(gw, r):
    headers = trutac_headers(TRUTAC_SEED)
    tampered = TRUTAC_SEED.replace(b'"created"', b'"deleted"')
    assert tampered != TRUTAC_SEED
    resp = gw.post("/webhooks/trutac", tampered, headers)
    assert_error(resp, 401, "unauthorized")
    assert_nothing_published(r)


def test_truncated_signature_is_refused(gw, r):
    headers = trutac_headers(TRUTAC_SEED)
    headers["TT-Hook-Signature"] = headers["TT-Hook-Signature"][:-2]
    resp = gw.post("/webhooks/trutac", TRUTAC_SEED, headers)
    assert_error(resp, 401, "unauthorized")
    assert_nothing_published(r)


def test_missing_signature_is_refused(gw, r):
    resp, _ = deliver(gw, TRUTAC_SEED, secret=None)
    assert_error(resp, 401, "unauthorized")
    assert_nothing_published(r)


@pytest.mark.parametrize("secret", [TT_SECRET_NEW, TT_SECRET_OLD], ids=["new", "old"])
def test_rotation_both_configured_secrets_are_accepted(gw, r, secret):
    resp, window = deliver(gw, TRUTAC_SEED, secret=secret)
    eid = event_id("trutac", TRUTAC_SEED)
    assert_accepted(resp, [eid])
    check_trutac(assert_single_entry(r, STREAM, eid), TRUTAC_SEED, window)


@pytest.mark.parametrize("secret", [TT_SECRET_UNCONFIGURED, TT_TENANT_SECRET, ONEUP_SECRET, ""],
                         ids=["unconfigured", "a-tenant-secret", "another-provider", "empty"])
def test_unconfigured_secret_is_refused(gw, r, secret):
    # A tenant's secret belongs to /webhooks/trutac/<tenant> only.
    resp, _ = deliver(gw, TRUTAC_SEED, secret=secret)
    assert_error(resp, 401, "unauthorized")
    assert_nothing_published(r)


def test_uppercase_hex_signature_is_accepted(gw, r):
    headers = trutac_headers(TRUTAC_SEED)
    headers["TT-Hook-Signature"] = "sha1=" + headers["TT-Hook-Signature"][5:].upper()
    resp = gw.post("/webhooks/trutac", TRUTAC_SEED, headers)
    eid = event_id("trutac", TRUTAC_SEED)
    assert_accepted(resp, [eid])
    assert_single_entry(r, STREAM, eid)


def test_duplicate_delivery_publishes_once(gw, r):
    eid = event_id("trutac", TRUTAC_SEED)
    assert_accepted(deliver(gw, TRUTAC_SEED)[0], [eid])
    before = read_stream(r, STREAM)
    # A retry signed with the other (rotated) secret is still the same event.
    assert_answer(deliver(gw, TRUTAC_SEED, secret=TT_SECRET_OLD)[0], "duplicate", [eid])
    assert_answer(deliver(gw, TRUTAC_SEED, path="/webhooks")[0], "duplicate", [eid])
    assert read_stream(r, STREAM) == before
    assert_single_entry(r, STREAM, eid)


def test_distinct_bodies_are_distinct_events(gw, r):
    a = trutac_body(clocking_id="C-A")
    b = trutac_body(clocking_id="C-B")
    assert_accepted(deliver(gw, a)[0], [event_id("trutac", a)])
    assert_accepted(deliver(gw, b)[0], [event_id("trutac", b)])
    entries = read_stream(r, STREAM)
    assert [json.loads(f["event"])["subject"] for _, f in entries] == ["C-A", "C-B"]


@pytest.mark.parametrize("action,category", [
    ("created", "attendance.punched"),
    ("updated", "attendance.punch_updated"),
    ("deleted", "attendance.punch_deleted"),
])
def test_category_follows_the_action(gw, r, action, category):
    body = trutac_body(action=action, clocking_id="CLK-" + action)
    resp, window = deliver(gw, body)
    eid = event_id("trutac", body)
    assert_accepted(resp, [eid])
    env = assert_single_entry(r, STREAM, eid)
    check_trutac(env, body, window, category=category, subject="CLK-" + action)


def test_unknown_event_is_still_published_as_other(gw, r):
    body = json.dumps({"action": "created", "vehicle": {"id": "VEH-9"}}).encode()
    resp, window = deliver(gw, body, event="vehicle")
    eid = event_id("trutac", body)
    assert_accepted(resp, [eid])
    env = assert_single_entry(r, STREAM, eid)
    assert env["type"] == "trutac.vehicle"
    assert env["category"] == "other"
    assert env["data"] == json.loads(body)


def test_tenant_route_uses_tenant_secret(gw, r):
    resp, window = deliver(gw, TRUTAC_SEED, path="/webhooks/trutac/" + TT_TENANT,
                           secret=TT_TENANT_SECRET)
    eid = event_id("trutac", TRUTAC_SEED)
    assert_accepted(resp, [eid])
    env = assert_single_entry(r, STREAM, eid)
    check_trutac(env, TRUTAC_SEED, window, tenant=TT_TENANT)


@pytest.mark.parametrize("secret", [TT_SECRET_NEW, TT_SECRET_OLD], ids=["new", "old"])
def test_tenant_route_refuses_provider_secrets(gw, r, secret):
    resp, _ = deliver(gw, TRUTAC_SEED, path="/webhooks/trutac/" + TT_TENANT, secret=secret)
    assert_error(resp, 401, "unauthorized")
    assert_nothing_published(r)


@pytest.mark.parametrize("secret", [TT_SECRET_NEW, TT_TENANT_SECRET], ids=["provider", "tenant"])
def test_unknown_path_tenant_is_refused(gw, r, secret):
    resp, _ = deliver(gw, TRUTAC_SEED, path="/webhooks/trutac/unknown-tenant", secret=secret)
    assert_error(resp, 401, "unauthorized")
    assert_nothing_published(r)


PING_BODY = b'{"hook":{"id":"HOOK-1","events":["clocking"]},"zen":"ping"}'


def test_ping_is_answered_and_not_published(gw, r):
    resp, _ = deliver(gw, PING_BODY, event="ping")
    assert_answer(resp, "ping", [])
    assert_nothing_published(r)
    # On the detecting route too.
    resp, _ = deliver(gw, PING_BODY, path="/webhooks", event="ping", secret=TT_SECRET_OLD)
    assert_answer(resp, "ping", [])
    assert_nothing_published(r)


@pytest.mark.parametrize("secret", [TT_SECRET_UNCONFIGURED, None], ids=["wrong", "missing"])
def test_ping_with_bad_signature_is_refused(gw, r, secret):
    resp, _ = deliver(gw, PING_BODY, event="ping", secret=secret)
    assert_error(resp, 401, "unauthorized")
    assert_nothing_published(r)


def test_invalid_json_with_valid_signature(gw, r):
    body = b'{"action": "created", "clocking": {"id": "X",}'
    resp, _ = deliver(gw, body)
    assert_error(resp, 400, "invalid_json")
    assert_nothing_published(r)


@pytest.mark.parametrize("body", [
    b'{"action":"created","action":"deleted","clocking":{"id":"DUP"}}',
    b'{"action":"created","clocking":{"id":"\xff\xfe"}}',
    b'{"action":"created","clocking":{"id":"\xc0\xaf"}}',
    b'{"action":"created","clocking":{"id":"\xed\xa0\x80"}}',
    b'{"action":"created","clocking":{"id":"C"}} {"second":1}',
    b'',
], ids=["duplicate-key", "invalid-utf8", "overlong-utf8", "surrogate-utf8", "two-values",
        "empty"])
def test_unacceptable_json_with_valid_signature(gw, r, body):
    resp, _ = deliver(gw, body)
    assert_error(resp, 400, ("invalid_json", "bad_request"))
    assert_nothing_published(r)


def test_deeply_nested_json_is_refused_cleanly(gw, r):
    body = b'{"action":"created","clocking":{"id":"D","x":' + b"[" * 100000 + b"]" * 100000 + b"}}"
    resp, _ = deliver(gw, body)
    assert 400 <= resp.status < 500, resp
    assert_nothing_published(r)
    assert gw.request("GET", "/healthz").status == 200


def test_data_is_unchanged(gw, r):
    """Numbers beyond 64 bits, unicode and escapes reach the consumer as sent."""
    body = ('{"action":"created","clocking":{"id":"CLK-\\u00e9-\\/","driverId":"Zo\u00eb \U0001F69A",'
            '"odometer":123456789012345678901234567890,"ratio":0.1,"big":-1.5e300,'
            '"nested":{"a":[1,2,{"b":null}],"t":true,"f":false},"s":"tab\\tnl\\nq\\"bs\\\\"}}'
            ).encode("utf-8")
    resp, window = deliver(gw, body)
    eid = event_id("trutac", body)
    assert_accepted(resp, [eid])
    env = assert_single_entry(r, STREAM, eid)
    expected = json.loads(body)
    assert env["data"] == expected
    assert env["subject"] == expected["clocking"]["id"] == "CLK-\u00e9-/"


def test_oneupvision_headers_do_not_authenticate_trutac(gw, r):
    body = TRUTAC_SEED
    resp = gw.post("/webhooks/trutac", body, oneup_headers(body))
    assert_error(resp, 401, "unauthorized")
    assert_nothing_published(r)


def test_keep_alive_connection_carries_several_deliveries(gw, r):
    bodies = [trutac_body(clocking_id="KA-%d" % i) for i in range(3)]
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=10)
    try:
        for body in bodies:
            conn.request("POST", "/webhooks/trutac", body=body, headers=trutac_headers(body))
            resp = conn.getresponse()
            doc = json.loads(resp.read())
            assert resp.status == 200, doc
            assert doc == {"status": "accepted", "ids": [event_id("trutac", body)]}
    finally:
        conn.close()
    assert len(read_stream(r, STREAM)) == 3
