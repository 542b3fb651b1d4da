"""Fault injection: "never lose an acknowledged event" (DESIGN.md).

Each test has its own redis-server (appendonly, appendfsync always: the
durability the project documents) and its own gateway, in temporary
directories, on loopback; processes are signalled by PID only.

Client threads (each its own http.client connection, reconnecting after an
error) send distinct signed TruTac deliveries while a fault is injected: the
gateway or Redis SIGKILLed, Redis stopped or paused, the spool full, SIGHUP,
SIGTERM, a torn spool tail. Every answer is recorded per event id. A 200 (accepted,
duplicate or spooled) acknowledges the event; a 503 or a connection error or
timeout does not.

The invariant, checked once the system has settled (Redis up, gateway running,
spool drained): every acknowledged event is in the stream exactly once, no
event is in the stream twice, and nothing that was never sent is there. Events
not acknowledged may or may not be present.

Set HOOKGATE_FAULT_STATS to a file path to get one JSON line per scenario
(acknowledged / missing / duplicated counts) appended to it.
"""

import collections
import http.client
import json
import os
import re
import signal
import struct
import threading
import time

import pytest
import redis

from hookgate_testlib import (SANITIZER, TT_SECRET_NEW, TT_SECRET_OLD, TT_SECRET_UNCONFIGURED,
                              RedisServer, assert_accepted, assert_answer, assert_error, event_id,
                              start_gateway, trutac_body, trutac_headers)

STREAM = "webhooks:{trutac}"
PATH = "/webhooks/trutac"
DURABLE_REDIS = ["--appendonly", "yes", "--appendfsync", "always"]
ACK_WORDS = ("accepted", "duplicate", "spooled")
SETTLE_S = 15.0
# More HTTP threads than the default (one per CPU): the 8 client connections
# are served in parallel, and the publisher groups their deliveries.
GW_OVERRIDES = {"threads": 8, "redis": {"timeout_ms": 1000}}


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def poll(fn, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        result = fn()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def classify(status, data, eid):
    """The outcome of one delivery: an ack word, "503" (unavailable), or
    something no fault test expects ("bad-200", "503-<error>", "http-<status>")."""
    try:
        doc = json.loads(data)
    except ValueError:
        doc = None
    if status == 200:
        if isinstance(doc, dict) and doc.get("status") in ACK_WORDS and doc.get("ids") == [eid]:
            return doc["status"]
        return "bad-200"  # still a 200, so still an acknowledgement
    if status == 503 and isinstance(doc, dict) and doc.get("error") == "unavailable":
        return "503"
    if status == 503 and isinstance(doc, dict):
        return "503-%s" % doc.get("error")  # e.g. overloaded: not acknowledged either
    return "http-%d" % status


def is_ack(outcome):
    return outcome in ACK_WORDS or outcome == "bad-200"


class Burst:
    """`threads` client threads, each sending its own distinct signed TruTac
    deliveries one after the other on one keep-alive connection (a new one
    after any error), recording (event id, outcome, detail) in order."""

    def __init__(self, port, name, threads=8, per_thread=40, secret=TT_SECRET_NEW,
                 request_timeout=12.0, max_seconds=40.0, keep_alive=True):
        self.port = port
        self.keep_alive = keep_alive  # False: a new connection for every delivery
        self.secret = secret
        self.request_timeout = request_timeout
        self.max_seconds = max_seconds
        self.bodies = [[trutac_body(clocking_id="%s-%d-%d" % (name, t, i))
                        for i in range(per_thread)] for t in range(threads)]
        self.results = [[] for _ in range(threads)]
        self.total = threads * per_thread
        self.answered = 0
        self.crashes = []
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._running = threads
        self._threads = [threading.Thread(target=self._run, args=(t,), daemon=True)
                         for t in range(threads)]
        self._deadline = None

    def start(self):
        self._deadline = time.monotonic() + self.max_seconds
        for th in self._threads:
            th.start()
        return self

    def stop(self):
        self._stop.set()

    def join(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        for th in self._threads:
            th.join(max(0.0, deadline - time.monotonic()))
        alive = sum(th.is_alive() for th in self._threads)
        assert alive == 0, "%d client threads still running after %.0f s" % (alive, timeout)
        assert not self.crashes, "client thread failed: %r" % self.crashes
        return self

    def wait_answered(self, n, timeout=20.0):
        """Waits until n deliveries have an outcome (or every thread is done)."""
        with self._cond:
            self._cond.wait_for(lambda: self.answered >= n or self._running == 0, timeout)
            return self.answered

    def count(self, outcome):
        with self._cond:
            return sum(1 for rs in self.results for _, o, _ in rs if o == outcome)

    def outcomes(self):
        return collections.Counter(o for rs in self.results for _, o, _ in rs)

    def _connect(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.request_timeout)

    def _run(self, t):
        conn = None
        try:
            for body in self.bodies[t]:
                if self._stop.is_set() or time.monotonic() > self._deadline:
                    break
                eid = event_id("trutac", body)
                if conn is None:
                    conn = self._connect()
                headers = trutac_headers(body, secret=self.secret)
                if not self.keep_alive:
                    headers["Connection"] = "close"
                try:
                    conn.request("POST", PATH, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    outcome, detail = classify(resp.status, data, eid), data[:300]
                    if resp.will_close or not self.keep_alive:
                        conn.close()
                        conn = None
                except (OSError, http.client.HTTPException) as e:
                    outcome, detail = "error", repr(e)
                    conn.close()
                    conn = None
                with self._cond:
                    self.results[t].append((eid, outcome, detail))
                    self.answered += 1
                    self._cond.notify_all()
                if outcome == "error":
                    time.sleep(0.01)  # the gateway may be gone: do not spin
        except Exception as e:  # a bug in this test, reported by join()
            self.crashes.append(repr(e))
        finally:
            if conn is not None:
                conn.close()
            with self._cond:
                self._running -= 1
                self._cond.notify_all()


class Ledger:
    """Every delivery made in one test: event id -> outcomes, in order."""

    def __init__(self):
        self.outcomes = collections.defaultdict(list)

    def add(self, eid, outcome):
        self.outcomes[eid].append(outcome)

    def add_burst(self, burst):
        for rs in burst.results:
            for eid, outcome, _ in rs:
                self.add(eid, outcome)

    def acked(self):
        return {eid for eid, outs in self.outcomes.items() if any(map(is_ack, outs))}

    def sent(self):
        return set(self.outcomes)

    def counter(self):
        return collections.Counter(o for outs in self.outcomes.values() for o in outs)


def deliver(gw, ledger, body, secret=TT_SECRET_NEW):
    """One delivery on its own connection; records and returns the Response."""
    resp = gw.post(PATH, body, trutac_headers(body, secret=secret))
    ledger.add(event_id("trutac", body), classify(resp.status, resp.body, event_id("trutac", body)))
    return resp


def spool_segments(spool_dir):
    try:
        names = os.listdir(spool_dir)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if n.startswith("spool-") and n.endswith(".log"))


def stream_entries(server):
    """The stream's entries, or None while Redis does not answer."""
    try:
        c = server.client()
        try:
            return c.xrange(STREAM, "-", "+")
        finally:
            c.close()
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
            redis.exceptions.BusyLoadingError):
        return None


def record_stats(scenario, **figures):
    path = os.environ.get("HOOKGATE_FAULT_STATS")
    if not path:
        return
    line = dict(scenario=scenario, build=SANITIZER or "plain", **figures)
    with open(path, "a") as f:
        f.write(json.dumps(line, sort_keys=True) + "\n")


def settle_and_check(scenario, server, gw, ledger, must_be_absent=(), t_start=None, **extra):
    """Waits (up to SETTLE_S) for Redis up, every acknowledged event in the
    stream and the spool drained (its segment files gone), then asserts the
    invariant. Returns the stream's event ids in stream order."""
    acked = ledger.acked()
    spool_dir = gw.config["spool"]["dir"]

    def settled():
        entries = stream_entries(server)
        return (entries is not None and acked <= {f.get("id") for _, f in entries}
                and not spool_segments(spool_dir))

    poll(settled, SETTLE_S, interval=0.1)
    entries = stream_entries(server)
    assert entries is not None, "redis does not answer"
    ids = [f.get("id") for _, f in entries]
    counts = collections.Counter(ids)
    missing = sorted(acked - set(counts))
    duplicated = {eid: n for eid, n in counts.items() if n > 1}
    unexpected = sorted(set(counts) - ledger.sent())
    present_but_absent = sorted(set(counts) & set(must_be_absent))
    # Each entry's dedup key names that entry (what makes a replay a no-op).
    c = server.client()
    pipe = c.pipeline(transaction=False)
    for entry_id, fields in entries:
        pipe.get("%s:seen:%s" % (STREAM, fields.get("id")))
    seen = pipe.execute()
    # For the figures: publish attempts that found their event already there
    # (since Redis last started) show as EVALSHA calls beyond the XADDs.
    calls = {k: v.get("calls") for k, v in c.info("commandstats").items()}
    c.close()
    bad_dedup = [(f.get("id"), entry_id, s) for (entry_id, f), s in zip(entries, seen)
                 if s != entry_id and counts[f.get("id")] == 1]
    leftover = spool_segments(spool_dir)
    outcomes = ledger.counter()
    record_stats(scenario, sent=len(ledger.sent()), acked=len(acked),
                 not_acked=len(ledger.sent() - acked), in_stream=len(ids),
                 missing=len(missing), duplicated=len(duplicated), unexpected=len(unexpected),
                 outcomes=dict(outcomes), spool_left=len(leftover),
                 seconds=round(time.monotonic() - t_start, 2) if t_start else None,
                 evalsha_calls=calls.get("cmdstat_evalsha"), xadd_calls=calls.get("cmdstat_xadd"),
                 **extra)
    log_tail = gw.log_text()[-3000:]
    assert not missing, "%s: %d acknowledged events missing from the stream (of %d acked; " \
        "outcomes %r), e.g. %r\n--- gateway stderr tail ---\n%s" % (
            scenario, len(missing), len(acked), dict(outcomes), missing[:5], log_tail)
    assert not duplicated, "%s: %d events in the stream more than once: %r" % (
        scenario, len(duplicated), list(duplicated.items())[:5])
    assert not unexpected, "%s: events in the stream that were never sent: %r" % (
        scenario, unexpected[:5])
    assert not present_but_absent, "%s: events that must not be in the stream are: %r" % (
        scenario, present_but_absent[:5])
    assert not bad_dedup, "%s: dedup keys that do not name their entry: %r" % (
        scenario, bad_dedup[:5])
    assert not leftover, "%s: spool segments left after draining: %r" % (scenario, leftover)
    return ids


def assert_no_anomalies(ledger, allowed=("accepted", "duplicate", "spooled", "503", "error")):
    odd = {o: n for o, n in ledger.counter().items() if o not in allowed}
    assert not odd, "unexpected answers: %r (all: %r)" % (odd, dict(ledger.counter()))


@pytest.fixture()
def durable_redis(tmp_path):
    server = RedisServer(tmp_path / "redis", extra_args=DURABLE_REDIS)
    server.start()
    yield server
    server.stop()


def log_messages(gw, level=None):
    return [o.get("msg", "") for o in gw.log_lines() if level is None or o.get("level") == level]


# --------------------------------------------------------------------------
# 1. Redis stopped: everything spooled, then drained once, in order
# --------------------------------------------------------------------------


def test_redis_stopped_all_spooled_then_drained_once_in_order(tmp_path, durable_redis):
    t0 = time.monotonic()
    ledger = Ledger()
    with start_gateway(tmp_path / "gw", durable_redis.url, overrides=GW_OVERRIDES) as gw:
        durable_redis.stop()
        burst = Burst(gw.port, "spooled", threads=8, per_thread=25).start().join()
        ledger.add_burst(burst)
        assert burst.outcomes() == {"spooled": burst.total}, \
            "with Redis stopped every delivery must be 200 spooled: %r\n%r" % (
                dict(burst.outcomes()),
                [d for rs in burst.results for _, o, d in rs if o != "spooled"][:5])
        assert spool_segments(gw.config["spool"]["dir"]), "no spool segment while Redis is down"
        assert stream_entries(durable_redis) is None

        durable_redis.start()  # same port and directory
        ids = settle_and_check("1-redis-stopped", durable_redis, gw, ledger, t_start=t0)
        assert len(ids) == burst.total
        # Per client thread, the stream holds its events in the order acknowledged.
        position = {eid: n for n, eid in enumerate(ids)}
        for t, rs in enumerate(burst.results):
            acked = [eid for eid, o, _ in rs]
            assert sorted(acked, key=position.get) == acked, \
                "thread %d: events drained out of the order they were acknowledged" % t
        assert poll(lambda: gw.request("GET", "/readyz").json().get("redis") == "up", 5)


# --------------------------------------------------------------------------
# 2. hookgate SIGKILLed mid-burst, restarted on the same spool
# --------------------------------------------------------------------------


@pytest.mark.parametrize("redis_state", ["down", "returns", "up"])
def test_gateway_sigkill_mid_burst_then_restart(tmp_path, durable_redis, redis_state):
    """down:    Redis stopped for the whole burst (kill while spooling);
    returns: Redis stopped for the first third, started again (the drainer
             replays while new deliveries go straight to Redis), kill at two thirds;
    up:      Redis up throughout."""
    t0 = time.monotonic()
    ledger = Ledger()
    with start_gateway(tmp_path / "gw", durable_redis.url, overrides=GW_OVERRIDES) as gw:
        if redis_state != "up":
            durable_redis.stop()
        burst = Burst(gw.port, "kill9-" + redis_state, threads=8, per_thread=40).start()
        if redis_state == "returns":
            burst.wait_answered(burst.total // 3)
            durable_redis.start()
            burst.wait_answered(2 * burst.total // 3)
        else:
            burst.wait_answered(burst.total // 2)
        gw.kill()
        burst.stop()
        burst.join()
        ledger.add_burst(burst)
        assert_no_anomalies(ledger)
        outcomes = burst.outcomes()
        assert sum(outcomes[w] for w in ACK_WORDS) > 0, outcomes
        if redis_state == "down":
            assert outcomes["accepted"] == 0 and outcomes["spooled"] > 0, outcomes
        elif redis_state == "returns":
            assert outcomes["spooled"] > 0, outcomes
        if durable_redis.proc.poll() is not None:
            durable_redis.start()
        gw.start()  # same config, port and spool directory
        settle_and_check("2-sigkill-gateway-redis-" + redis_state, durable_redis, gw, ledger,
                         t_start=t0)


def test_gateway_sigkill_while_draining_then_restart(tmp_path, durable_redis):
    """The spool holds a few hundred events; Redis comes back and the gateway
    is killed as soon as the drain has begun. After the restart the drainer
    replays from the last record it had consumed: what was already in Redis
    must not be added again."""
    t0 = time.monotonic()
    ledger = Ledger()
    with start_gateway(tmp_path / "gw", durable_redis.url, overrides=GW_OVERRIDES) as gw:
        durable_redis.stop()
        burst = Burst(gw.port, "kill9-drain", threads=8, per_thread=80).start().join()
        ledger.add_burst(burst)
        assert burst.outcomes() == {"spooled": burst.total}, dict(burst.outcomes())
        durable_redis.start()
        c = durable_redis.client()
        assert poll(lambda: c.xlen(STREAM) > 0, 10, interval=0.001), "the drain did not start"
        gw.kill()
        at_kill = c.xlen(STREAM)
        c.close()
        gw.start()
        settle_and_check("2-sigkill-gateway-while-draining", durable_redis, gw, ledger,
                         t_start=t0, in_stream_at_kill=at_kill)


# --------------------------------------------------------------------------
# 3. Redis SIGKILLed mid-burst and restarted from its append-only file
# --------------------------------------------------------------------------


def test_redis_sigkill_mid_burst_then_restart(tmp_path, durable_redis):
    t0 = time.monotonic()
    ledger = Ledger()
    with start_gateway(tmp_path / "gw", durable_redis.url, overrides=GW_OVERRIDES) as gw:
        burst = Burst(gw.port, "rkill", threads=8, per_thread=50).start()
        burst.wait_answered(burst.total // 4)
        durable_redis.kill()
        # Keep Redis down until the spool has taken some deliveries.
        poll(lambda: burst.count("spooled") >= 10 or burst.answered >= burst.total, 15)
        durable_redis.start()  # same port and directory: reloads the AOF
        burst.join()
        ledger.add_burst(burst)
        assert_no_anomalies(ledger, allowed=ACK_WORDS)
        outcomes = burst.outcomes()
        assert outcomes["accepted"] > 0 and outcomes["spooled"] > 0, outcomes
        settle_and_check("3-sigkill-redis", durable_redis, gw, ledger, t_start=t0)


def test_redis_paused_past_timeout_mid_burst_then_resumed(tmp_path, durable_redis):
    """Redis stops answering (SIGSTOP) with publishes already sent to it: the
    gateway gives up after redis.timeout_ms and spools them, and Redis, once
    resumed (SIGCONT), still executes what was in its socket buffers. The
    drainer's replay of those must find them already there."""
    t0 = time.monotonic()
    ledger = Ledger()
    overrides = dict(GW_OVERRIDES, redis={"timeout_ms": 300})
    with start_gateway(tmp_path / "gw", durable_redis.url, overrides=overrides) as gw:
        burst = Burst(gw.port, "rpause", threads=8, per_thread=50).start()
        burst.wait_answered(burst.total // 4)
        durable_redis.proc.send_signal(signal.SIGSTOP)
        try:
            poll(lambda: burst.count("spooled") >= 16 or burst.answered >= burst.total, 15)
        finally:
            durable_redis.proc.send_signal(signal.SIGCONT)
        burst.join()
        ledger.add_burst(burst)
        assert_no_anomalies(ledger, allowed=ACK_WORDS)
        outcomes = burst.outcomes()
        assert outcomes["accepted"] > 0 and outcomes["spooled"] > 0, outcomes
        settle_and_check("3b-redis-paused", durable_redis, gw, ledger, t_start=t0)


# --------------------------------------------------------------------------
# 4. Spool full: 503, /readyz 503; only the spooled events are drained
# --------------------------------------------------------------------------


def test_spool_full_answers_503_and_only_spooled_events_are_drained(tmp_path, durable_redis):
    t0 = time.monotonic()
    ledger = Ledger()
    max_bytes = 8192
    overrides = dict(GW_OVERRIDES, spool={"max_bytes": max_bytes})
    with start_gateway(tmp_path / "gw", durable_redis.url, overrides=overrides) as gw:
        spool_dir = gw.config["spool"]["dir"]
        durable_redis.stop()
        bodies = [trutac_body(clocking_id="full-%d" % i) for i in range(20)]
        words = []
        for body in bodies:
            resp = deliver(gw, ledger, body)
            if resp.status == 200:
                assert_answer(resp, "spooled", [event_id("trutac", body)])
                words.append("spooled")
            else:
                assert_error(resp, 503, "unavailable")
                words.append("503")
        spooled = words.count("spooled")
        assert spooled >= 1 and words == ["spooled"] * spooled + ["503"] * (len(words) - spooled) \
            and spooled < len(words), "expected some spooled, then only 503: %r" % words
        on_disk = sum(os.path.getsize(os.path.join(spool_dir, n))
                      for n in spool_segments(spool_dir))
        assert 0 < on_disk <= max_bytes, on_disk
        # The spool refuses deliveries and Redis is down: not ready. (Checked
        # at the end, so that the drain below is checked in any case.)
        last_ready = []
        poll(lambda: last_ready.append(gw.request("GET", "/readyz")) or
             last_ready[-1].status == 503, 2)
        ready = last_ready[-1]

        durable_redis.start()
        refused = [event_id("trutac", b) for b, w in zip(bodies, words) if w == "503"]
        ids = settle_and_check("4-spool-full", durable_redis, gw, ledger,
                               must_be_absent=refused, t_start=t0)
        assert ids == [event_id("trutac", b) for b, w in zip(bodies, words) if w == "spooled"]
        assert poll(lambda: gw.request("GET", "/readyz").status == 200, 5)
        # The provider retries what was refused: now accepted, once.
        for body, word in zip(bodies, words):
            if word == "503":
                assert_accepted(deliver(gw, ledger, body), [event_id("trutac", body)])
        ids = settle_and_check("4-spool-full-retried", durable_redis, gw, ledger)
        assert sorted(ids) == sorted(event_id("trutac", b) for b in bodies)
        assert ready.status == 503, \
            "GET /readyz answered %r while Redis was down and the spool refused deliveries " \
            "with 503 (%d bytes spooled, max_bytes %d)" % (ready, on_disk, max_bytes)
        assert_error(ready, 503, "unavailable")


# --------------------------------------------------------------------------
# 5. SIGHUP: secret rotation mid-burst; invalid configs refused
# --------------------------------------------------------------------------


def test_sighup_rotates_secrets_mid_burst_and_refuses_bad_configs(tmp_path, durable_redis):
    t0 = time.monotonic()
    ledger = Ledger()
    overrides = dict(GW_OVERRIDES,
                     providers={"trutac": {"secrets": ["env:TT_SECRET_OLD"]}})
    with start_gateway(tmp_path / "gw", durable_redis.url, overrides=overrides) as gw:
        def reloads():
            return sum(m.startswith("configuration reloaded") for m in log_messages(gw, "info"))

        def refusals():
            return sum("reload refused" in m for m in log_messages(gw, "error"))

        burst = Burst(gw.port, "hup", threads=8, per_thread=60, secret=TT_SECRET_OLD).start()
        burst.wait_answered(burst.total // 4)
        gw.config["providers"]["trutac"]["secrets"] = ["env:TT_SECRET_NEW", "env:TT_SECRET_OLD"]
        gw.write_config()
        gw.send_signal(signal.SIGHUP)
        # One signal at a time: two pending SIGHUPs would be delivered as one.
        assert poll(lambda: reloads() == 1, 10), "first reload not logged"
        answered_at_reload = burst.answered
        burst.wait_answered(answered_at_reload + 40)
        gw.send_signal(signal.SIGHUP)  # the same file again
        burst.join()
        assert answered_at_reload < burst.total, "the burst was over before the reload"
        ledger.add_burst(burst)
        assert burst.outcomes() == {"accepted": burst.total}, \
            "deliveries signed with the old secret across a reload: %r\n%r" % (
                dict(burst.outcomes()),
                [d for rs in burst.results for _, o, d in rs if o != "accepted"][:5])
        assert poll(lambda: reloads() == 2, 10), "reloads logged: %d" % reloads()

        def check_secrets(tag):
            for secret in (TT_SECRET_NEW, TT_SECRET_OLD):
                body = trutac_body(clocking_id="hup-%s-%s" % (tag, secret[:6]))
                assert_accepted(deliver(gw, ledger, body, secret=secret),
                                [event_id("trutac", body)])
            body = trutac_body(clocking_id="hup-%s-third" % tag)
            assert_error(deliver(gw, ledger, body, secret=TT_SECRET_UNCONFIGURED),
                         401, "unauthorized")

        check_secrets("reloaded")

        good = dict(gw.config)
        bad_files = [
            ("broken-json", json.dumps(good)[:-20]),
            ("unknown-key", json.dumps(dict(good, no_such_key=1))),
        ]
        for n, (tag, text) in enumerate(bad_files, 1):
            with open(gw.config_path, "w") as f:
                f.write(text)
            gw.send_signal(signal.SIGHUP)
            assert poll(lambda: refusals() == n, 10), \
                "%s: no error log line with 'reload refused'; stderr tail:\n%s" % (
                    tag, gw.log_text()[-2000:])
            assert gw.proc.poll() is None, "hookgate exited after a bad reload"
            assert gw.request("GET", "/healthz").status == 200
            check_secrets(tag)
        assert reloads() == 2
        gw.write_config()  # leave a valid file behind
        settle_and_check("5-sighup", durable_redis, gw, ledger, t_start=t0)


# --------------------------------------------------------------------------
# 6. SIGTERM under load: exit 0; everything acknowledged survives
# --------------------------------------------------------------------------


@pytest.mark.parametrize("connections", ["keep-alive", "one-per-delivery"])
@pytest.mark.parametrize("redis_state", ["up", "down"])
def test_sigterm_under_load(tmp_path, durable_redis, redis_state, connections):
    """keep-alive:       the clients keep their connections (hookgate goes on
                      serving them after SIGTERM, so it exits when they stop);
    one-per-delivery: a new connection for each delivery (those opened after
                      SIGTERM are never served: not acknowledged)."""
    t0 = time.monotonic()
    ledger = Ledger()
    keep_alive = connections == "keep-alive"
    with start_gateway(tmp_path / "gw", durable_redis.url, overrides=GW_OVERRIDES) as gw:
        if redis_state == "down":
            durable_redis.stop()
        burst = Burst(gw.port, "term-%s-%s" % (redis_state, connections), threads=8,
                      per_thread=300 if keep_alive else 1000, keep_alive=keep_alive).start()
        burst.wait_answered(160)
        code = gw.stop(timeout=15)
        at_exit, gw_stop_seconds = burst.answered, gw.stop_seconds or -1.0
        burst.stop()
        assert code == 0, "exit status after SIGTERM under load: %r (stopped in %s s)" % (
            code, gw.stop_seconds)
        burst.join()
        ledger.add_burst(burst)
        assert_no_anomalies(ledger)
        if not keep_alive:
            assert at_exit < burst.total, "the burst was over before hookgate exited"
        messages = log_messages(gw)
        assert "SIGTERM received: shutting down" in messages and messages[-1] == "stopped", \
            messages[-5:]
        if redis_state == "down":
            assert burst.outcomes()["spooled"] > 0, burst.outcomes()
            durable_redis.start()
        gw.start()
        settle_and_check("6-sigterm-redis-%s-%s" % (redis_state, connections), durable_redis,
                         gw, ledger, t_start=t0, stop_seconds=round(gw_stop_seconds, 2),
                         answered_by_exit=at_exit)


# --------------------------------------------------------------------------
# 7. Torn spool tail: dropped at start, the rest drained once
# --------------------------------------------------------------------------


@pytest.mark.parametrize("tail", ["garbage", "torn-record"])
def test_torn_spool_tail_is_dropped_and_the_rest_drained(tmp_path, durable_redis, tail):
    """garbage:     b"HGS1" + 10 random bytes appended to the newest segment;
    torn-record: the newest segment loses the last 7 bytes of its last record,
                 as if the machine had crashed during that write (its event
                 must then not appear: the record is unreadable)."""
    t0 = time.monotonic()
    ledger = Ledger()
    with start_gateway(tmp_path / "gw", durable_redis.url, overrides=GW_OVERRIDES) as gw:
        spool_dir = gw.config["spool"]["dir"]
        durable_redis.stop()
        bodies = [trutac_body(clocking_id="torn-%d" % i) for i in range(6)]
        for body in bodies:
            assert_answer(deliver(gw, ledger, body), "spooled", [event_id("trutac", body)])
        assert gw.stop() == 0
        segments = spool_segments(spool_dir)
        assert segments, "no spool segment after spooling"
        newest = os.path.join(spool_dir, segments[-1])
        size = os.path.getsize(newest)
        torn_away = []
        if tail == "garbage":
            garbage = b"HGS1" + os.urandom(10)
            with open(newest, "ab") as f:
                f.write(garbage)
            dropped = len(garbage)
        else:
            with open(newest, "rb") as f:
                data = f.read()
            off, last = 0, None
            while off < len(data):  # magic, u32 length, u32 crc, u64 time, payload
                assert data[off:off + 4] == b"HGS1", "unexpected spool framing at %d" % off
                last = off
                off += 20 + struct.unpack_from("<I", data, off + 4)[0]
            assert off == size and last is not None
            os.truncate(newest, size - 7)
            dropped = size - 7 - last
            # The last event's record is gone: treat it as never acknowledged.
            torn_away = [event_id("trutac", bodies[-1])]
            ledger.outcomes[torn_away[0]] = ["torn"]

        durable_redis.start()
        gw.start()
        warnings = [m for m in log_messages(gw, "warn") if "dropping" in m]
        assert len(warnings) == 1, "expected one warning about dropped spool bytes: %r" % warnings
        m = re.search(r"dropping (\d+) bytes", warnings[0])
        assert m and int(m.group(1)) == dropped, (warnings[0], dropped)
        ids = settle_and_check("7-torn-tail-" + tail, durable_redis, gw, ledger,
                               must_be_absent=torn_away, t_start=t0)
        assert ids == [event_id("trutac", b) for b in bodies
                       if event_id("trutac", b) not in torn_away]


def test_sigterm_refuses_new_work_but_finishes_requests_in_progress(tmp_path, durable_redis):
    """After SIGTERM: a new connection is refused at once; a new request on a
    kept-alive connection gets 503 with Retry-After and Connection: close; a
    request whose body was still arriving is finished and acknowledged."""
    import socket

    body = trutac_body(clocking_id="in-progress")
    headers = trutac_headers(body)
    raw = body.encode() if isinstance(body, str) else body
    with start_gateway(tmp_path / "gw", durable_redis.url) as gw:
        # a keep-alive connection that has already been served once
        alive = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
        alive.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert alive.recv(4096).startswith(b"HTTP/1.1 200")
        # a request in progress: headers and half of the body sent
        slow = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
        head = "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n" % (PATH, len(raw))
        head += "".join("%s: %s\r\n" % kv for kv in headers.items()) + "\r\n"
        slow.sendall(head.encode() + raw[:len(raw) // 2])
        time.sleep(0.2)

        gw.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        # new connections: refused, not left hanging
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", gw.port), timeout=2).recv(1)
        # a new request on the kept-alive connection: it is closed (idle at
        # SIGTERM), or answered 503 with Retry-After and Connection: close
        other = trutac_body(clocking_id="after-sigterm")
        other_raw = other.encode() if isinstance(other, str) else other
        req = "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n" % (PATH, len(other_raw))
        req += "".join("%s: %s\r\n" % kv for kv in trutac_headers(other).items()) + "\r\n"
        try:
            alive.sendall(req.encode() + other_raw)
            reply = alive.recv(65536).decode(errors="replace")
        except OSError:
            reply = ""
        if reply:
            assert reply.startswith("HTTP/1.1 503"), reply[:200]
            assert "\r\nRetry-After: 1\r\n" in reply and "Connection: close" in reply, reply
            assert '"unavailable"' in reply, reply
        # the request in progress completes and is acknowledged; a request
        # pipelined right behind it on the same connection is new work: 503
        # with Retry-After, and the connection is closed after it
        third = trutac_body(clocking_id="pipelined-after-sigterm")
        third_raw = third.encode() if isinstance(third, str) else third
        pipelined = "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n" % (
            PATH, len(third_raw))
        pipelined += "".join("%s: %s\r\n" % kv for kv in trutac_headers(third).items())
        slow.sendall(raw[len(raw) // 2:] + pipelined.encode() + b"\r\n" + third_raw)
        answer, deadline = "", time.monotonic() + 10
        while time.monotonic() < deadline:
            chunk = slow.recv(65536).decode(errors="replace")
            if not chunk:
                break  # closed after the 503
            answer += chunk
        first, _, second = answer.partition("HTTP/1.1 503")
        assert first.startswith("HTTP/1.1 200") and '"accepted"' in first, answer[:400]
        assert second, "no 503 for the request pipelined after SIGTERM: %r" % answer[-400:]
        assert "Retry-After: 1" in second and "Connection: close" in second, second
        slow.close()
        alive.close()
        code = gw.stop(timeout=15)
        assert code == 0, code
        r = durable_redis.client()
        ids = [f["id"] for _, f in r.xrange(STREAM)]
        assert ids == [event_id("trutac", body)], ids
