"""What an operator relies on (docs/operating.md), against the real binary and a
real redis-server:

  (a) GET /metrics: a strict parse of the Prometheus text exposition and the
      figures after known traffic; admin_listen moves /metrics off the main
      listener;
  (b) the rejected stream <prefix>:{rejected}: one entry per refusal with the
      documented fields, body digests, masked Ombori path tokens (the token is
      nowhere in Redis or the log), and its rate limit;
  (c) `hookgate sign`: the printed request (raw, and as a curl command run with
      sh) is accepted by the gateway for all five providers; a wrong secret
      is 401;
  (d) `hookgate healthcheck`: 0 while the gateway runs, non-zero once it stopped.
"""

import calendar
import hashlib
import http.client
import json
import os
import re
import socket
import subprocess
import time

import pytest

from hookgate_testlib import (HOOKGATE_BIN, TT_SECRET_NEW, TT_SECRET_UNCONFIGURED, Gateway,
                              assert_error, free_port, oneup_headers, sanitizer_env,
                              sanitizer_lines, trutac_body, trutac_headers)

TEAMGO_KEY = "teamgo-key-ops-6b1e93"
INLINE_SECRET = "inline-secret-ops-d40c7a"
OMBORI_TOKEN = "ombori-token-ops-2f8a61c9e4"
OMBORI_WRONG_TOKEN = "wrong-ombori-token-ops-77d3b5"
ONEUP_SECRET = "oneup-secret-e83b17c5a4"
ONEUP_UUID = "1dc54786-9d69-487a-8c17-407ff20d0bdc"
OPS_SECRETS = [TEAMGO_KEY, INLINE_SECRET, OMBORI_TOKEN]

FIVE_PROVIDERS = {
    "providers": {
        "teamgo": {"secrets": [TEAMGO_KEY]},
        "inline": {"secrets": [INLINE_SECRET]},
        "ombori": {"auth": {"tokens": [OMBORI_TOKEN], "token_header": "X-Webhook-Token"}},
    }
}

TIME_MS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
REJECTED = "webhooks:{rejected}"
REJECTED_FIELDS = ["reason", "message", "provider", "client", "path", "status", "size",
                   "sha256", "time", "request_id"]


@pytest.fixture
def gateways(tmp_path_factory, redis_server):
    """gateways(overrides) -> a started Gateway; all are stopped and checked
    (exit status 0, no sanitizer report, no configured secret in stderr) after the test."""
    started = []

    def make(overrides=None, **kw):
        gw = Gateway(tmp_path_factory.mktemp("gwops"), redis_server.url, overrides=overrides,
                     **kw)
        gw.secrets = gw.secrets + OPS_SECRETS
        gw.start()
        started.append(gw)
        return gw

    try:
        yield make
    finally:
        for gw in started:
            gw.stop()
    for gw in started:
        gw.check_stopped_cleanly()


def wait_for(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(0.05)


def http_get(port, path, method="GET"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), resp.read()
    finally:
        conn.close()


def run_cli(args, env=None, stdin=b"", timeout=30):
    full_env = dict(env if env is not None else os.environ)
    full_env.update(sanitizer_env())
    proc = subprocess.run([HOOKGATE_BIN] + args, input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=full_env, timeout=timeout)
    err = proc.stderr.decode("utf-8", "replace")
    assert not sanitizer_lines(err), "sanitizer report from hookgate %s:\n%s" % (args[0], err)
    return proc.returncode, proc.stdout, err


# --------------------------------------------------------------------------
# (a) /metrics
# --------------------------------------------------------------------------

METRIC_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE_RE = re.compile(r"^(%s)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$" % METRIC_NAME)
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def parse_labels(text, line):
    labels, pos = {}, 0
    while pos < len(text):
        m = LABEL_RE.match(text, pos)
        assert m, "bad label set in %r" % line
        assert m.group(1) not in labels, "label %s repeated in %r" % (m.group(1), line)
        labels[m.group(1)] = m.group(2).replace('\\"', '"').replace("\\n", "\n") \
            .replace("\\\\", "\\")
        pos = m.end()
        if m.group(3) == "" and pos != len(text):
            raise AssertionError("bad label set in %r" % line)
    return labels


def parse_value(text, line):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    assert re.match(r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$", text), \
        "bad sample value in %r" % line
    return float(text)


class Metrics:
    """A strictly parsed Prometheus text exposition (format 0.0.4)."""

    def __init__(self, text):
        assert text.endswith("\n"), "the exposition must end with a newline"
        self.families = {}  # name -> {"type", "help", "samples": [(name, labels, value)]}
        self.order = []
        done = set()
        current = None
        for line in text.split("\n")[:-1]:
            if line == "":
                continue  # empty lines are ignored
            if line.startswith("#"):
                parts = line.split(" ", 3)
                if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                    assert len(parts) == 4, "%s line without text: %r" % (parts[1], line)
                    kind, name, rest = parts[1], parts[2], parts[3]
                    assert re.match("^%s$" % METRIC_NAME, name), line
                    fam = self.families.setdefault(name, {"type": None, "help": None,
                                                          "samples": []})
                    assert not fam["samples"], \
                        "%s for %s after its samples: %r" % (kind, name, line)
                    assert name not in done, "%s for %s, whose samples ended" % (kind, name)
                    if kind == "TYPE":
                        assert fam["type"] is None, "second TYPE for %s" % name
                        assert rest in TYPES, "unknown type in %r" % line
                        fam["type"] = rest
                    else:
                        assert fam["help"] is None, "second HELP for %s" % name
                        fam["help"] = rest
                    if name not in self.order:
                        self.order.append(name)
                continue
            m = SAMPLE_RE.match(line)
            assert m, "not a sample line: %r" % line
            name, labels_text, value_text = m.group(1), m.group(2) or "", m.group(3)
            family = self._family_of(name)
            assert family is not None, "sample %s has no TYPE line before it" % name
            if current != family:
                if current is not None:
                    done.add(current)
                assert family not in done, "samples of %s are not together" % family
                current = family
            labels = parse_labels(labels_text, line)
            fam = self.families[family]
            key = (name, tuple(sorted(labels.items())))
            assert key not in {(n, tuple(sorted(l.items()))) for n, l, _ in fam["samples"]}, \
                "duplicate sample %r" % line
            fam["samples"].append((name, labels, parse_value(value_text, line)))
        for name, fam in self.families.items():
            assert fam["type"] and fam["help"], "%s lacks a HELP or TYPE line" % name

    def _family_of(self, name):
        if name in self.families and self.families[name]["type"]:
            return name
        for suffix in ("_bucket", "_sum", "_count"):
            base = name[:-len(suffix)]
            if name.endswith(suffix) and self.families.get(base, {}).get("type") in (
                    "histogram", "summary"):
                return base
        return None

    def samples(self, name):
        fam = self.families.get(self._family_of(name) or name)
        assert fam is not None, "metric %s is missing" % name
        return [(labels, value) for n, labels, value in fam["samples"] if n == name]

    def value(self, name, **labels):
        want = {k: str(v) for k, v in labels.items()}
        found = [v for l, v in self.samples(name) if l == want]
        assert len(found) == 1, "%s%r: found %r among %r" % (name, want, found,
                                                              self.samples(name))
        return found[0]


def get_metrics(port):
    status, headers, body = http_get(port, "/metrics")
    assert status == 200, (status, body[:300])
    ctype = headers.get("content-type", "")
    assert ctype.startswith("text/plain") and "version=0.0.4" in ctype, ctype
    return Metrics(body.decode("utf-8"))


def wait_metrics(port, condition, what):
    """The metrics once condition(metrics) holds."""
    def attempt():
        m = get_metrics(port)
        return m if condition(m) else None
    return wait_for(attempt, what=what)


def hookgate_version():
    code, out, _ = run_cli(["--version"])
    assert code == 0
    m = re.match(r"^hookgate (\S+)\n$", out.decode())
    assert m, out
    return m.group(1)


def test_metrics_after_traffic(gateways, r):
    gw = gateways()
    bodies = [trutac_body(clocking_id="MET-%d" % i) for i in range(3)]
    for b in bodies:
        assert gw.post("/webhooks/trutac", b, trutac_headers(b)).json()["status"] == "accepted"
    assert gw.post("/webhooks/trutac", bodies[0],
                   trutac_headers(bodies[0])).json()["status"] == "duplicate"
    ping = b'{"hook":{"id":1}}'
    assert gw.post("/webhooks/trutac", ping, trutac_headers(ping, event="ping")).status == 200
    bad = trutac_body(clocking_id="MET-BAD")
    assert_error(gw.post("/webhooks/trutac", bad,
                         trutac_headers(bad, secret=TT_SECRET_UNCONFIGURED)), 401, "unauthorized")
    oneup = b'{"punch":{"id":5}}'
    assert gw.post("/webhooks/oneupvision", oneup, oneup_headers(oneup)).status == 200

    m = wait_metrics(gw.port, lambda m: m.value("hookgate_rejected_records_total",
                                                 result="recorded") == 1,
                     "the refusal to be recorded")

    # requests by provider and HTTP status: 3 accepted + 1 duplicate + 1 ping
    assert m.value("hookgate_requests_total", provider="trutac", status=200) == 5
    assert m.value("hookgate_requests_total", provider="trutac", status=401) == 1
    assert m.value("hookgate_requests_total", provider="oneupvision", status=200) == 1
    for p in ("teamgo", "inline", "ombori"):  # every provider's 200 is always there
        assert m.value("hookgate_requests_total", provider=p, status=200) == 0
    assert sum(v for _, v in m.samples("hookgate_requests_total")) == 7
    rejections = {l["reason"]: v for l, v in m.samples("hookgate_rejections_total")}
    assert rejections["unauthorized"] == 1
    assert {k: v for k, v in rejections.items() if v} == {"unauthorized": 1}, rejections
    assert {"invalid_json", "bad_request", "unknown_provider", "ambiguous_provider",
            "stale_timestamp", "forbidden", "not_found", "provider_disabled",
            "method_not_allowed", "body_too_large", "unsupported_media_type",
            "unavailable"} <= set(rejections), sorted(rejections)
    assert m.value("hookgate_duplicates_total") == 1
    assert m.value("hookgate_pings_total") == 1
    assert m.value("hookgate_spooled_total") == 0
    assert m.value("hookgate_events_published_total", provider="trutac") == 3
    assert m.value("hookgate_events_published_total", provider="oneupvision") == 1

    # the publish histogram: one observation per publish (4 trutac + 1 oneupvision)
    assert m.families["hookgate_publish_duration_seconds"]["type"] == "histogram"
    buckets = m.samples("hookgate_publish_duration_seconds_bucket")
    les = [l["le"] for l, _ in buckets]
    assert les[-1] == "+Inf", les
    bounds = [float(x) for x in les[:-1]]
    assert bounds == sorted(bounds) and len(set(bounds)) == len(bounds), les
    counts = [v for _, v in buckets]
    assert all(a <= b for a, b in zip(counts, counts[1:])), "buckets not cumulative: %r" % counts
    count = m.value("hookgate_publish_duration_seconds_count")
    assert count == 5 and counts[-1] == count, (counts, count)
    total = m.value("hookgate_publish_duration_seconds_sum")
    assert 0 < total < 5 * 10, total

    assert m.value("hookgate_redis_up") == 1
    assert m.value("hookgate_spool_bytes") == 0
    assert m.value("hookgate_spool_events") == 0
    assert m.value("hookgate_spool_oldest_age_seconds") == 0
    assert m.value("hookgate_spool_writable") == 1
    assert m.value("hookgate_rejected_records_total", result="dropped") == 0
    assert m.value("hookgate_build_info", version=hookgate_version()) == 1
    for name in ("hookgate_requests_total", "hookgate_rejections_total",
                 "hookgate_duplicates_total", "hookgate_events_published_total",
                 "hookgate_rejected_records_total", "hookgate_pings_total",
                 "hookgate_spooled_total"):
        assert m.families[name]["type"] == "counter", name
    for name in ("hookgate_redis_up", "hookgate_spool_bytes", "hookgate_spool_events",
                 "hookgate_spool_oldest_age_seconds", "hookgate_spool_writable",
                 "hookgate_build_info"):
        assert m.families[name]["type"] == "gauge", name


def test_metrics_gauges_follow_requests(gateways, r):
    """The HTTP gauges: a delivery whose body is still arriving counts as in progress, one
    waiting for Redis counts as publishing too, and both fall back to zero once it is
    answered. (Redis is paused for writes for 1 s, well under redis.timeout_ms.)"""
    gw = gateways({"redis": {"timeout_ms": 5000}})
    body = trutac_body(clocking_id="GAUGE-1")
    head = ["POST /webhooks/trutac HTTP/1.1", "Host: 127.0.0.1",
            "Content-Length: %d" % len(body)]
    head += ["%s: %s" % kv for kv in trutac_headers(body).items()]
    data = ("\r\n".join(head) + "\r\n\r\n").encode() + body
    sock = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    try:
        sock.sendall(data[:-10])
        m = wait_metrics(gw.port, lambda m: m.value("hookgate_requests_in_progress") == 1,
                         "the unfinished request to count as in progress")
        assert m.value("hookgate_requests_publishing") == 0
        assert m.value("hookgate_connections") >= 2  # the delivery's, and this scrape's
        for name in ("hookgate_connections", "hookgate_requests_in_progress",
                     "hookgate_requests_publishing"):
            assert m.families[name]["type"] == "gauge", name

        r.execute_command("CLIENT", "PAUSE", 1000, "WRITE")
        sock.sendall(data[-10:])
        m = wait_metrics(gw.port, lambda m: m.value("hookgate_requests_publishing") == 1,
                         "the request to wait on the paused Redis")
        assert m.value("hookgate_requests_in_progress") == 1
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(4096)
            assert chunk, "connection closed before the answer: %r" % answer
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200 "), answer
        assert b'"status":"accepted"' in answer, answer
    finally:
        sock.close()
    wait_metrics(gw.port, lambda m: m.value("hookgate_requests_in_progress") == 0 and
                 m.value("hookgate_requests_publishing") == 0,
                 "the gauges to return to zero")


def test_client_gone_while_publishing(gateways, r):
    """Clients that send a whole delivery and hang up at once, while Redis is paused for
    writes: every event is still stored (the provider will retry; the retry is a duplicate),
    and none of these requests stays counted as in progress or publishing afterwards (the
    publishing count gates 503 overloaded at max_pending)."""
    gw = gateways({"redis": {"timeout_ms": 5000}})
    bodies = [trutac_body(clocking_id="GONE-%d" % i) for i in range(20)]
    r.execute_command("CLIENT", "PAUSE", 1500, "WRITE")
    for body in bodies:
        head = ["POST /webhooks/trutac HTTP/1.1", "Host: 127.0.0.1",
                "Content-Length: %d" % len(body)]
        head += ["%s: %s" % kv for kv in trutac_headers(body).items()]
        sock = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        sock.shutdown(socket.SHUT_WR)
        sock.close()
    wait_metrics(gw.port, lambda m: m.value("hookgate_requests_in_progress") == 0 and
                 m.value("hookgate_requests_publishing") == 0 and
                 m.value("hookgate_events_published_total", provider="trutac") == 20,
                 "every delivery published and none left counted")
    assert r.xlen("webhooks:{trutac}") == 20


def test_metrics_parser_rejects_bad_expositions():
    """The parser above is strict enough to catch a broken exposition."""
    good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 2\n"
    assert Metrics(good).value("a_total", x=1) == 2
    for bad in ("a_total 1\n",  # no TYPE
                "# HELP a_total A.\n# TYPE a_total counter\na_total{x=1} 2\n",  # unquoted
                "# HELP a_total A.\n# TYPE a_total counter\na_total 2\n# TYPE a_total counter\n",
                "# HELP a_total A.\n# TYPE a_total counter\na_total 2\na_total 3\n",
                "# HELP a_total A.\n# TYPE a_total counter\na_total two\n",
                "# HELP a_total A.\n# TYPE a_total counter\na_total 2",  # no final newline
                "# HELP a A.\n# TYPE a gauge\n# HELP b B.\n# TYPE b gauge\na 1\nb 1\na 2\n"):
        with pytest.raises(AssertionError):
            Metrics(bad)


def test_admin_listen_serves_metrics_elsewhere(gateways, r):
    admin_port = free_port()
    gw = gateways({"admin_listen": "127.0.0.1:%d" % admin_port})
    body = trutac_body(clocking_id="ADMIN-1")
    assert gw.post("/webhooks/trutac", body, trutac_headers(body)).status == 200

    m = get_metrics(admin_port)
    assert m.value("hookgate_requests_total", provider="trutac", status=200) == 1
    assert m.value("hookgate_build_info", version=hookgate_version()) == 1
    for path in ("/healthz", "/readyz"):
        assert http_get(admin_port, path)[0] == 200, path
    status, _, _ = http_get(admin_port, "/metrics", method="POST")
    assert status == 405
    assert http_get(admin_port, "/webhooks")[0] == 404

    resp = gw.request("GET", "/metrics")
    assert_error(resp, 404, "not_found")
    assert gw.request("GET", "/healthz").status == 200
    assert gw.request("GET", "/readyz").status == 200
    # the main listener's 404 was an ordinary refused request
    m = wait_metrics(admin_port, lambda m: m.value("hookgate_requests_total", provider="none",
                                                   status=404) == 1, "the 404 to be counted")
    assert m.value("hookgate_rejections_total", reason="not_found") == 1


# --------------------------------------------------------------------------
# (b) the rejected stream
# --------------------------------------------------------------------------


def redis_dump(r):
    """Every key name and value in Redis, as one text (to search for a secret)."""
    parts = []
    for key in r.scan_iter():
        parts.append(key)
        kind = r.type(key)
        if kind == "string":
            parts.append(r.get(key))
        elif kind == "stream":
            for entry_id, fields in r.xrange(key):
                parts.append(entry_id)
                for k, v in fields.items():
                    parts.extend((k, v))
        elif kind == "hash":
            for k, v in r.hgetall(key).items():
                parts.extend((k, v))
        elif kind in ("list",):
            parts.extend(r.lrange(key, 0, -1))
        elif kind in ("set",):
            parts.extend(r.smembers(key))
        elif kind == "zset":
            parts.extend(r.zrange(key, 0, -1))
        else:
            raise AssertionError("unexpected key type %s for %s" % (kind, key))
    return "\n".join(parts)


def sha256_hex(b):
    return hashlib.sha256(b).hexdigest()


def test_rejected_stream_records_refusals(gateways, r):
    gw = gateways(FIVE_PROVIDERS)
    marker = "REJECTED-BODY-MARKER-93c1"
    t0 = time.time()

    bad_sig = trutac_body(clocking_id=marker)
    assert_error(gw.post("/webhooks/trutac", bad_sig,
                         trutac_headers(bad_sig, secret=TT_SECRET_UNCONFIGURED)),
                 401, "unauthorized")
    unknown = json.dumps({"note": marker}).encode()
    assert_error(gw.post("/nope", unknown, {"Content-Type": "application/json"}),
                 404, "not_found")
    plain = ("text " + marker).encode()
    assert_error(gw.post("/webhooks/trutac", plain, {"Content-Type": "text/plain"}),
                 415, "unsupported_media_type")
    ombori = json.dumps({"type": "positionCalled", "organization": "org-1",
                         "data": {"position": {"id": marker}}}).encode()
    assert_error(gw.post("/webhooks/ombori/" + OMBORI_WRONG_TOKEN, ombori,
                         {"Content-Type": "application/json"}), 401, "unauthorized")
    # the right token: accepted, and not recorded anywhere either
    good = json.dumps({"type": "positionCalled", "organization": "org-1",
                       "data": {"position": {"id": "ok-1"}}}).encode()
    assert gw.post("/webhooks/ombori/" + OMBORI_TOKEN, good,
                   {"Content-Type": "application/json"}).json()["status"] == "accepted"
    t1 = time.time()

    entries = wait_for(lambda: (lambda e: e if len(e) >= 4 else None)(r.xrange(REJECTED)),
                       what="four entries in %s" % REJECTED)
    time.sleep(0.2)
    entries = r.xrange(REJECTED)
    assert len(entries) == 4, entries
    want = [
        {"reason": "unauthorized", "message": "signature does not match", "provider": "trutac",
         "path": "/webhooks/trutac", "status": "401", "size": str(len(bad_sig)),
         "sha256": sha256_hex(bad_sig)},
        {"reason": "not_found", "message": "no such path", "provider": "", "path": "/nope",
         "status": "404", "size": str(len(unknown)), "sha256": ""},
        {"reason": "unsupported_media_type", "message": "Content-Type must be application/json",
         "provider": "trutac", "path": "/webhooks/trutac", "status": "415",
         "size": str(len(plain)), "sha256": ""},
        {"reason": "unauthorized", "message": "token does not match", "provider": "ombori",
         "path": "/webhooks/ombori/*", "status": "401", "size": str(len(ombori)),
         "sha256": sha256_hex(ombori)},
    ]
    for (entry_id, fields), expected in zip(entries, want):
        assert list(fields) == REJECTED_FIELDS, list(fields)
        assert fields["client"] == "127.0.0.1", fields
        assert TIME_MS_RE.match(fields["time"]), fields["time"]
        # the id of the answer's X-Request-Id and of the log line
        assert re.fullmatch(r"[0-9a-f]{16}", fields["request_id"]), fields["request_id"]
        when = calendar.timegm(time.strptime(fields["time"][:19], "%Y-%m-%dT%H:%M:%S"))
        assert t0 - 2 <= when <= t1 + 2, (fields["time"], t0, t1)
        got = {k: fields[k] for k in expected}
        assert got == expected, "rejected entry %s:\n  got  %r\n  want %r" % (entry_id, got,
                                                                            expected)

    dump = redis_dump(r)
    assert marker not in dump, "a refused body was stored in Redis"
    for token in (OMBORI_WRONG_TOKEN, OMBORI_TOKEN):
        assert token not in dump, "an Ombori path token is stored in Redis"
        assert token not in gw.log_text(), "an Ombori path token is in the gateway log"
    assert "/webhooks/ombori/*" in gw.log_text()


def test_rejected_stream_rate_limit(gateways, r):
    gw = gateways({"redis": {"rejected_per_second": 5}})
    body = trutac_body(clocking_id="FLOOD")
    headers = trutac_headers(body, secret=TT_SECRET_UNCONFIGURED)
    t0 = time.monotonic()
    for _ in range(200):
        assert gw.post("/webhooks/trutac", body, headers).status == 401
    elapsed = time.monotonic() - t0

    def settled():
        m = get_metrics(gw.port)
        rec = m.value("hookgate_rejected_records_total", result="recorded")
        drop = m.value("hookgate_rejected_records_total", result="dropped")
        return (rec, drop) if rec + drop == 200 else None

    recorded, dropped = wait_for(settled, what="all 200 refusals to be recorded or dropped")
    xlen = r.xlen(REJECTED)
    assert xlen == recorded, (xlen, recorded)
    # a bucket of 2 x 5 tokens, refilled at 5 a second
    limit = 10 + elapsed * 5 + 1
    assert 5 <= recorded <= limit, "recorded %d refusals in %.2f s; at most %.0f allowed" % (
        recorded, elapsed, limit)
    assert dropped == 200 - recorded
    m = get_metrics(gw.port)
    assert m.value("hookgate_requests_total", provider="trutac", status=401) == 200
    assert m.value("hookgate_rejections_total", reason="unauthorized") == 200


# --------------------------------------------------------------------------
# (c) hookgate sign
# --------------------------------------------------------------------------


def hookgate_sign(provider, body, secret, *args):
    """`hookgate sign PROVIDER --secret S ARGS < body` -> (path, headers, body)."""
    code, out, err = run_cli(["sign", provider, "--secret", secret] + list(args), stdin=body)
    assert code == 0, "hookgate sign %s: exit %d: %s" % (provider, code, err)
    head, sep, rest = out.partition(b"\n\n")
    assert sep, out[:300]
    lines = head.decode().split("\n")
    method, path, version = lines[0].split(" ")
    assert (method, version) == ("POST", "HTTP/1.1"), lines[0]
    headers = dict(line.split(": ", 1) for line in lines[1:])
    length = int(headers.pop("Content-Length"))
    assert rest[length:] == b"\n", rest[length:][:100]
    return path, headers, rest[:length]


SIGN_CASES = {
    # provider: (stdin body, secret, extra args)
    "teamgo": (b'{"checkin_time":"2016-12-09 09:02:11+00","pass_id":11249854}', TEAMGO_KEY,
               ["--event", "checkin"]),
    "inline": (b'{"events":[{"type":"reservation-created","data":{"id":"R-1"}},'
               b'{"type":"voucher-used","data":{"id":"V-1"}}]}', INLINE_SECRET, []),
    "ombori": (b'{"type":"positionCalled","organization":"org-1",'
               b'"data":{"position":{"id":"P-1"}}}', OMBORI_TOKEN, []),
    "trutac": (b'{"action":"created","clocking":{"id":"SIGN-1"}}', TT_SECRET_NEW, []),
    "oneupvision": (b'{"punch":{"id":9,"punch_type":"IN"}}', ONEUP_SECRET,
                    ["--event", "punch.create", "--tenant", ONEUP_UUID]),
}


def variant(provider, body, n):
    """The body with one value changed, so that each case is a new event."""
    return body.replace(b'"id":"', b'"id":"v%d-' % n, 1) if b'"id":"' in body else \
        body.replace(b'"id":', b'"id":%d' % n, 1)


def stream_ids(r, provider):
    return [f["id"] for _, f in r.xrange("webhooks:{%s}" % provider)]


@pytest.fixture
def five(gateways, r):
    return gateways(FIVE_PROVIDERS)


@pytest.mark.parametrize("provider", sorted(SIGN_CASES))
def test_sign_output_is_accepted(five, r, provider):
    body, secret, args = SIGN_CASES[provider]
    path, headers, payload = hookgate_sign(provider, body, secret, *args)
    assert path.startswith("/webhooks/" + provider), path
    resp = five.post(path, payload, headers)
    assert resp.status == 200, resp
    doc = resp.json()
    assert doc["status"] == "accepted", doc
    assert len(doc["ids"]) == (2 if provider == "inline" else 1), doc
    assert stream_ids(r, provider) == doc["ids"]
    for _, fields in r.xrange("webhooks:{%s}" % provider):
        env = json.loads(fields["event"])
        assert env["provider"] == provider and env["source"] == "/webhooks/" + provider

    # the same request again: a duplicate (Teamgo: its token is single-use, but the
    # same delivery again is the same event), nothing added
    again = five.post(path, payload, headers)
    assert again.json() == {"status": "duplicate", "ids": doc["ids"]}, again
    assert stream_ids(r, provider) == doc["ids"]


def test_sign_ombori_header_token(five, r):
    body = variant("ombori", SIGN_CASES["ombori"][0], 1)
    path, headers, payload = hookgate_sign("ombori", body, OMBORI_TOKEN,
                                           "--header", "X-Webhook-Token")
    assert path == "/webhooks/ombori" and headers["X-Webhook-Token"] == OMBORI_TOKEN
    assert five.post(path, payload, headers).json()["status"] == "accepted"
    assert len(stream_ids(r, "ombori")) == 1


@pytest.mark.parametrize("provider", sorted(SIGN_CASES))
def test_sign_with_wrong_secret_is_401(five, r, provider):
    body, secret, args = SIGN_CASES[provider]
    path, headers, payload = hookgate_sign(provider, body, "not-the-" + secret, *args)
    assert_error(five.post(path, payload, headers), 401, "unauthorized")
    assert stream_ids(r, provider) == []


@pytest.mark.parametrize("provider", sorted(SIGN_CASES))
def test_sign_curl_command_runs(five, r, provider):
    body, secret, args = SIGN_CASES[provider]
    body = variant(provider, body, 2)
    url = "http://127.0.0.1:%d%s" % (five.port, "/" if provider == "trutac" else "")
    code, out, err = run_cli(["sign", provider, "--secret", secret, "--curl", url] + args,
                             stdin=body)
    assert code == 0, err
    script = out.decode()
    assert script.startswith("printf '%s' ") and "curl -sS -X POST" in script, script
    proc = subprocess.run(["sh"], input=out, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=30)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["status"] == "accepted", doc
    assert stream_ids(r, provider) == doc["ids"]


def test_sign_refuses_bad_input():
    code, _, err = run_cli(["sign", "github", "--secret", "x"], stdin=b"{}")
    assert code == 2 and "unknown provider" in err, err
    code, _, err = run_cli(["sign", "oneupvision", "--secret", "x"], stdin=b"{}")
    assert code != 0 and "--event" in err, err
    code, _, err = run_cli(["sign", "trutac", "--secret", "x"], stdin=b"{not json")
    assert code != 0 and "not valid JSON" in err, err


# --------------------------------------------------------------------------
# (d) hookgate healthcheck
# --------------------------------------------------------------------------


def test_healthcheck_follows_the_gateway(gateways):
    gw = gateways({"admin_listen": "127.0.0.1:%d" % free_port()})
    code, _, err = run_cli(["healthcheck", "-c", gw.config_path], env=gw.env)
    assert code == 0, err
    env = dict(gw.env, HOOKGATE_CONFIG=gw.config_path)
    code, _, err = run_cli(["healthcheck"], env=env)
    assert code == 0, err

    assert gw.stop() == 0
    code, _, err = run_cli(["healthcheck", "-c", gw.config_path], env=gw.env)
    assert code != 0, "healthcheck succeeded with the gateway stopped"
    assert "cannot connect" in err, err


def test_healthcheck_without_a_usable_config_fails(tmp_path):
    missing = str(tmp_path / "missing.json")
    code, _, err = run_cli(["healthcheck", "-c", missing])
    assert code != 0 and "missing.json" in err, err
