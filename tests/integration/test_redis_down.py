"""Redis unavailable: with its own redis-server (stopped and restarted by PID in
the test) and its own gateway, so the rest of the suite is unaffected. A delivery
that cannot be made safe is answered 503 (the provider retries), never 200; once
Redis is back on the same port, deliveries succeed again."""

import time

import pytest

from hookgate_testlib import (RedisServer, assert_accepted, assert_error, assert_single_entry,
                              event_id, start_gateway, trutac_body, trutac_headers)

STREAM = "webhooks:{trutac}"


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis_down"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def down_gw(tmp_path_factory, own_redis):
    with start_gateway(tmp_path_factory.mktemp("gw_redis_down"), own_redis.url,
                       overrides={"redis": {"timeout_ms": 500}}) as g:
        yield g


def poll(fn, timeout):
    deadline = time.monotonic() + timeout
    while True:
        result = fn()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def test_503_while_redis_is_down_then_recovers(down_gw, own_redis):
    before = trutac_body(clocking_id="BEFORE-OUTAGE")
    during = trutac_body(clocking_id="DURING-OUTAGE")

    r = own_redis.client()
    assert_accepted(down_gw.post("/webhooks/trutac", before, trutac_headers(before)),
                    [event_id("trutac", before)])
    assert_single_entry(r, STREAM, event_id("trutac", before))
    r.close()

    own_redis.stop()

    # Readiness notices without traffic (allow a few seconds for a background check).
    ready = poll(lambda: down_gw.request("GET", "/readyz").status == 503, 5)
    assert ready, "GET /readyz still %r with Redis down" % down_gw.request("GET", "/readyz")
    assert down_gw.request("GET", "/healthz").status == 200

    t0 = time.monotonic()
    resp = down_gw.post("/webhooks/trutac", during, trutac_headers(during))
    assert_error(resp, 503, "unavailable")
    assert time.monotonic() - t0 < 10, "the 503 took %.1f s" % (time.monotonic() - t0)
    # Refusals unrelated to Redis are unaffected.
    bad = down_gw.post("/webhooks/trutac", during, trutac_headers(during, secret="wrong"))
    assert_error(bad, 401, "unauthorized")

    own_redis.start()  # same port, empty data set

    last = []

    def delivered():
        resp = down_gw.post("/webhooks/trutac", during, trutac_headers(during))
        last[:] = [resp]
        return resp.status == 200

    assert poll(delivered, 10), "no 200 within 10 s of Redis coming back: %r" % last
    assert_accepted(last[0], [event_id("trutac", during)])
    r = own_redis.client()
    assert_single_entry(r, STREAM, event_id("trutac", during))
    assert poll(lambda: down_gw.request("GET", "/readyz").status == 200, 5), \
        "GET /readyz not 200 after Redis came back"
    r.close()
