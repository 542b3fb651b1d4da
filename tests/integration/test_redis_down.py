"""Redis unavailable, each case with its own redis-server (stopped and restarted
by PID in the test) and its own gateway, so the rest of the suite is unaffected.

With the spool (the default), a delivery that Redis cannot take is written to
the local spool, fsync'd, and answered 200 "spooled"; when Redis is back the
drainer replays it, exactly once. With the spool disabled (max_bytes 0), such a
delivery is answered 503 (the provider retries), never 200."""

import os
import time

import pytest

from hookgate_testlib import (RedisServer, assert_accepted, assert_answer, assert_error,
                              assert_single_entry, event_id, read_stream, start_gateway,
                              trutac_body, trutac_headers)

STREAM = "webhooks:{trutac}"


def poll(fn, timeout):
    deadline = time.monotonic() + timeout
    while True:
        result = fn()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


@pytest.fixture()
def own_redis(tmp_path):
    server = RedisServer(tmp_path / "redis")
    os.makedirs(tmp_path / "redis", exist_ok=True)
    server.start()
    yield server
    server.stop()


def test_spooled_while_redis_is_down_then_drained_once(tmp_path, own_redis):
    before = trutac_body(clocking_id="BEFORE-OUTAGE")
    during = [trutac_body(clocking_id="DURING-OUTAGE-%d" % i) for i in range(5)]

    with start_gateway(tmp_path / "gw", own_redis.url,
                       overrides={"redis": {"timeout_ms": 500}}) as gw:
        r = own_redis.client()
        assert_accepted(gw.post("/webhooks/trutac", before, trutac_headers(before)),
                        [event_id("trutac", before)])
        assert_single_entry(r, STREAM, event_id("trutac", before))
        r.close()

        own_redis.stop()

        # Ready all the same: the spool can take events.
        resp = gw.request("GET", "/readyz")
        assert resp.status == 200 and resp.json().get("redis") in ("down", "up"), resp
        assert gw.request("GET", "/healthz").status == 200

        for body in during:
            t0 = time.monotonic()
            resp = gw.post("/webhooks/trutac", body, trutac_headers(body))
            assert time.monotonic() - t0 < 5, "the answer took %.1f s" % (time.monotonic() - t0)
            assert_answer(resp, "spooled", [event_id("trutac", body)])
        # A repeat while down is spooled again; the drain deduplicates it.
        assert_answer(gw.post("/webhooks/trutac", during[0], trutac_headers(during[0])),
                      "spooled", [event_id("trutac", during[0])])
        # Refusals unrelated to Redis are unaffected.
        bad = gw.post("/webhooks/trutac", during[0], trutac_headers(during[0], secret="wrong"))
        assert_error(bad, 401, "unauthorized")
        spool_files = [f for f in os.listdir(tmp_path / "gw" / "spool") if f.endswith(".log")]
        assert spool_files, "no spool segment on disk while Redis is down"

        own_redis.start()  # same port, empty data set
        r = own_redis.client()
        want = {event_id("trutac", b) for b in during}
        assert poll(lambda: len(read_stream(r, STREAM)) >= len(want), 10), \
            "spool not drained within 10 s: %r" % read_stream(r, STREAM)
        time.sleep(0.5)  # a second drain would show up here
        ids = [fields["id"] for _, fields in read_stream(r, STREAM)]
        assert sorted(ids) == sorted(want), ids
        # drained in the order they were acknowledged
        assert ids == [event_id("trutac", b) for b in during]
        assert poll(lambda: not [f for f in os.listdir(tmp_path / "gw" / "spool")
                                 if f.endswith(".log") and
                                 os.path.getsize(tmp_path / "gw" / "spool" / f) > 0], 5), \
            "drained spool segments were not removed"
        assert poll(lambda: gw.request("GET", "/readyz").json().get("redis") == "up", 5)
        # A new delivery goes straight to Redis again.
        after = trutac_body(clocking_id="AFTER-OUTAGE")
        assert_accepted(gw.post("/webhooks/trutac", after, trutac_headers(after)),
                        [event_id("trutac", after)])
        r.close()


def test_503_when_redis_is_down_and_the_spool_is_disabled(tmp_path, own_redis):
    during = trutac_body(clocking_id="NO-SPOOL")
    with start_gateway(tmp_path / "gw", own_redis.url,
                       overrides={"redis": {"timeout_ms": 500},
                                  "spool": {"max_bytes": 0}}) as gw:
        own_redis.stop()
        assert poll(lambda: gw.request("GET", "/readyz").status == 503, 5), \
            "GET /readyz not 503 with Redis down and no spool"
        resp = gw.post("/webhooks/trutac", during, trutac_headers(during))
        assert_error(resp, 503, "unavailable")

        own_redis.start()
        last = []

        def delivered():
            resp = gw.post("/webhooks/trutac", during, trutac_headers(during))
            last[:] = [resp]
            return resp.status == 200

        assert poll(delivered, 10), "no 200 within 10 s of Redis coming back: %r" % last
        assert_accepted(last[0], [event_id("trutac", during)])
        r = own_redis.client()
        assert_single_entry(r, STREAM, event_id("trutac", during))
        r.close()
