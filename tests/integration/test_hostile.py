"""Hostile input (DESIGN.md, "Hostile input"): every limit at its boundary, slow
and abusive clients, garbage bytes, and overload.

Each limit is tested both ways: the value just inside works, the value just
outside is refused with the documented answer (JSON {"error", "message"}
unless libmicrohttpd itself answers). Bytes that http.client refuses to send
go over raw sockets (hookgate_testlib.raw_*). Every gateway and Redis is our
own, on 127.0.0.1; every loop is bounded in count and in time.

The slow and abusive clients test runs its abusers (slow-loris, garbage,
oversized bodies) in a child process: this file run as a script,
`python test_hostile.py abuse PORT SECONDS MAX_BODY`, so that the measured
client's latencies are the gateway's and not this interpreter's GIL.
"""

import asyncio
import json
import math
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from hookgate_testlib import (HOOKGATE_WRAPPER, TT_SECRET_NEW, RedisServer, assert_accepted,
                              assert_error, assert_json_answer, assert_nothing_published,
                              assert_single_entry, event_id, published_keys,
                              raw_exchange, raw_request_bytes, read_stream, sign_trutac,
                              start_gateway, trutac_body, trutac_headers)

STREAM = "webhooks:{trutac}"
PATH = "/webhooks/trutac"
# Time allowances grow under valgrind (everything runs several times slower).
SLOW = 3.0 if HOOKGATE_WRAPPER else 1.0

JSON_MAX_DEPTH = 64  # lib/json.h
JSON_MAX_ITEMS = 10000
JSON_MAX_NODES = 100000
MAX_HEADERS = 100  # gateway/http.c
MAX_URL = 2048
CONNECTION_MEMORY = 32 * 1024  # gateway/http.c


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


def signed_headers(body, event=b"clocking", signature=None, content_length=None):
    """The five header fields of a signed TruTac delivery, as (name, value) bytes."""
    return [
        (b"Host", b"127.0.0.1"),
        (b"Content-Type", b"application/json"),
        (b"Content-Length", str(len(body) if content_length is None else content_length).encode()),
        (b"TT-Hook-Event", event),
        (b"TT-Hook-Signature",
         signature if signature is not None else sign_trutac(TT_SECRET_NEW, body).encode()),
    ]


def signed_request(body, path=PATH, extra=(), **kw):
    return raw_request_bytes(b"POST", path, signed_headers(body, **kw) + list(extra), body)


def count_values(v):
    """Values as lib/json.c counts them: every scalar and container."""
    if isinstance(v, list):
        return 1 + sum(count_values(x) for x in v)
    if isinstance(v, dict):
        return 1 + sum(count_values(x) for x in v.values())
    return 1


def max_members(v):
    if isinstance(v, list):
        return max([len(v)] + [max_members(x) for x in v])
    if isinstance(v, dict):
        return max([len(v)] + [max_members(x) for x in v.values()])
    return 0


def depth_of(v):
    """Containers on the deepest path (the root object counts as 1)."""
    if isinstance(v, list):
        return 1 + max([depth_of(x) for x in v] or [0])
    if isinstance(v, dict):
        return 1 + max([depth_of(x) for x in v.values()] or [0])
    return 0


def compact(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def deep_body(depth, tag):
    """{"action","clocking":{"id","deep":[[...[1]...]]}} nested to `depth` containers."""
    arrays = depth - 2  # the root object and "clocking" are levels 1 and 2
    text = (b'{"action":"created","clocking":{"id":"' + tag.encode() + b'","deep":'
            + b"[" * arrays + b"1" + b"]" * arrays + b"}}")
    assert depth_of(json.loads(text)) == depth
    return text


def items_array_body(n, tag):
    obj = {"action": "created", "clocking": {"id": tag, "deep": [0] * n}}
    assert max_members(obj) == n
    return compact(obj)


def items_object_body(n, tag):
    """The "clocking" object itself has exactly n members."""
    clocking = {"id": tag}
    for i in range(n - 1):
        clocking["k%d" % i] = 0
    obj = {"action": "created", "clocking": clocking}
    assert len(obj["clocking"]) == n
    return compact(obj)


def nodes_body(total, tag):
    """A body with exactly `total` values (root included) and no container over
    JSON_MAX_ITEMS: "deep" holds sub-arrays of at most 9999 zeros."""
    base = {"action": "created", "clocking": {"id": tag, "deep": []}}
    rest = total - count_values(base)  # values still to place inside "deep"
    subs = math.ceil(rest / JSON_MAX_ITEMS)  # each sub-array is 1 + its elements
    elements = rest - subs
    deep = []
    for i in range(subs):
        n = min(JSON_MAX_ITEMS - 1, elements)
        deep.append([0] * n)
        elements -= n
    assert elements == 0
    base["clocking"]["deep"] = deep
    assert count_values(base) == total, (count_values(base), total)
    assert max_members(base) <= JSON_MAX_ITEMS
    return compact(base)


def stream_ids(r):
    return [f["id"] for _, f in read_stream(r, STREAM)]


def ended_without_success(res, also=()):
    """The connection ended (closed, reset) or got a 4xx (or a status in
    `also`); never a 2xx, never a hang."""
    status = res.status
    if status is not None:
        assert 400 <= status < 500 or status in also, \
            "expected a 4xx or a closed connection, got %r" % res
    else:
        assert res.ended in ("eof", "reset"), \
            "expected a 4xx or a closed connection, got %r" % res
        assert res.data == b"", "garbage answered with something that is not HTTP: %r" % res


def assert_up(gw, within=0.0):
    """GET /healthz answers 200 (retried for `within` seconds: after a
    connection limit test the server may not have seen our closes yet)."""
    deadline = time.monotonic() + within
    while True:
        assert gw.proc is not None and gw.proc.poll() is None, "hookgate is not running"
        try:
            resp = gw.request("GET", "/healthz", timeout=10)
            break
        except (ConnectionError, socket.timeout):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    assert resp.status == 200, resp


# --------------------------------------------------------------------------
# Gateways (one per configuration, module-scoped)
# --------------------------------------------------------------------------

MAX_BODY_LIMITS = 4 * 1024 * 1024


@pytest.fixture(scope="module")
def limits_gw(tmp_path_factory, redis_server):
    with start_gateway(tmp_path_factory.mktemp("gw_hostile"), redis_server.url,
                       overrides={"max_body": MAX_BODY_LIMITS}) as g:
        yield g


@pytest.fixture(scope="module")
def timeouts_gw(tmp_path_factory, redis_server):
    with start_gateway(tmp_path_factory.mktemp("gw_timeouts"), redis_server.url,
                       overrides={"connection_timeout": 1, "request_timeout": 2}) as g:
        yield g


# --------------------------------------------------------------------------
# JSON: depth, items, values
# --------------------------------------------------------------------------


def test_json_depth_64_is_accepted(limits_gw, r):
    body = deep_body(JSON_MAX_DEPTH, "DEPTH-64")
    eid = event_id("trutac", body)
    assert_accepted(limits_gw.post(PATH, body, trutac_headers(body)), [eid])
    env = assert_single_entry(r, STREAM, eid)
    assert env["data"] == json.loads(body)


def test_json_depth_65_is_invalid_json(limits_gw, r):
    body = deep_body(JSON_MAX_DEPTH + 1, "DEPTH-65")
    assert_error(limits_gw.post(PATH, body, trutac_headers(body)), 400, "invalid_json")
    assert_nothing_published(r)


@pytest.mark.parametrize("make", [items_array_body, items_object_body], ids=["array", "object"])
def test_json_10000_items_are_accepted(limits_gw, r, make):
    body = make(JSON_MAX_ITEMS, "ITEMS-10000-" + make.__name__)
    eid = event_id("trutac", body)
    assert_accepted(limits_gw.post(PATH, body, trutac_headers(body)), [eid])
    env = assert_single_entry(r, STREAM, eid)
    assert env["data"] == json.loads(body)


@pytest.mark.parametrize("make", [items_array_body, items_object_body], ids=["array", "object"])
def test_json_10001_items_are_invalid_json(limits_gw, r, make):
    body = make(JSON_MAX_ITEMS + 1, "ITEMS-10001-" + make.__name__)
    assert_error(limits_gw.post(PATH, body, trutac_headers(body)), 400, "invalid_json")
    assert_nothing_published(r)


def test_json_100000_values_are_accepted(limits_gw, r):
    body = nodes_body(JSON_MAX_NODES, "NODES-100000")
    assert len(body) < MAX_BODY_LIMITS
    eid = event_id("trutac", body)
    assert_accepted(limits_gw.post(PATH, body, trutac_headers(body)), [eid])
    env = assert_single_entry(r, STREAM, eid)
    assert count_values(env["data"]) == JSON_MAX_NODES
    assert env["data"] == json.loads(body)


def test_json_100001_values_are_invalid_json(limits_gw, r):
    body = nodes_body(JSON_MAX_NODES + 1, "NODES-100001")
    assert_error(limits_gw.post(PATH, body, trutac_headers(body)), 400, "invalid_json")
    assert_nothing_published(r)


def test_json_nul_escape_in_string_round_trips(limits_gw, r):
    body = b'{"action":"created","clocking":{"id":"NUL-ESCAPE","note":"a\\u0000b\\u0000"}}'
    eid = event_id("trutac", body)
    assert_accepted(limits_gw.post(PATH, body, trutac_headers(body)), [eid])
    (_, fields), = read_stream(r, STREAM)
    assert "\x00" not in fields["event"], "a raw NUL in the stored envelope"
    assert "\\u0000" in fields["event"], "the NUL is not escaped in the stored envelope"
    env = assert_single_entry(r, STREAM, eid)
    assert env["data"]["clocking"]["note"] == "a\x00b\x00"
    assert env["data"] == json.loads(body)


# --------------------------------------------------------------------------
# Header fields: count, total size, control characters
# --------------------------------------------------------------------------


def request_with_header_count(total, tag):
    body = trutac_body(clocking_id=tag)
    base = signed_headers(body)
    pad = [(b"X-Pad-%03d" % i, b"v") for i in range(total - len(base))]
    headers = base + pad
    assert len(headers) == total
    return body, raw_request_bytes(b"POST", PATH, headers, body)


def test_100_header_fields_are_accepted(limits_gw, r):
    body, data = request_with_header_count(MAX_HEADERS, "HEADERS-100")
    res = raw_exchange(limits_gw.port, data, timeout=10 * SLOW, until_eof=False)
    eid = event_id("trutac", body)
    assert_accepted(res.response(), [eid])
    assert_single_entry(r, STREAM, eid)


def test_101_header_fields_are_431(limits_gw, r):
    _, data = request_with_header_count(MAX_HEADERS + 1, "HEADERS-101")
    res = raw_exchange(limits_gw.port, data, timeout=10 * SLOW, until_eof=False)
    assert_error(res.response(), 431, "headers_too_large")
    assert_nothing_published(r)


def request_with_head_size(head_size, tag):
    """A signed delivery whose request line and header section (through the
    blank line) are exactly head_size bytes, padded with 60 X-Pad fields."""
    body = trutac_body(clocking_id=tag)
    base = raw_request_bytes(b"POST", PATH, signed_headers(body))
    npad = 60
    room = head_size - len(base) - npad * len(b"X-Pad-00: \r\n")
    assert room > npad
    sizes = [room // npad] * npad
    sizes[-1] += room - sum(sizes)
    pad = [(b"X-Pad-%02d" % i, b"a" * n) for i, n in enumerate(sizes)]
    data = raw_request_bytes(b"POST", PATH, signed_headers(body) + pad, body)
    assert len(data) - len(body) == head_size
    return body, data


def test_28_kb_of_headers_is_accepted(limits_gw, r):
    """A 28,000-byte header section works. (libmicrohttpd keeps about 4.2 KiB
    of the 32 KiB connection pool for itself, so the largest head that works
    is a little over 28 KiB.)"""
    body, data = request_with_head_size(28000, "HEAD-28K")
    res = raw_exchange(limits_gw.port, data, timeout=10 * SLOW, until_eof=False)
    eid = event_id("trutac", body)
    assert_accepted(res.response(), [eid])
    assert_single_entry(r, STREAM, eid)


@pytest.mark.parametrize("size", [CONNECTION_MEMORY + 1, 1024 * 1024], ids=["32KiB+1", "1MiB"])
def test_headers_over_64_kib_are_431(limits_gw, r, size):
    _, data = request_with_head_size(size, "HEAD-%d" % size)
    res = raw_exchange(limits_gw.port, data, timeout=10 * SLOW)
    if size == CONNECTION_MEMORY + 1:
        assert res.status == 431, res  # libmicrohttpd's answer: status only
    else:
        # Far over: a 431, or closed before the client finished sending.
        assert res.status == 431 or (res.status is None and res.ended in ("eof", "reset")), res
    assert res.ended in ("eof", "reset"), "the connection stays open after a 431: %r" % res
    assert_nothing_published(r)
    assert_up(limits_gw)


@pytest.mark.parametrize("char", [b"\t", b"\x01", b"\x1b", b"\x7f"],
                         ids=["tab", "soh", "esc", "del"])
def test_control_character_in_event_header_is_400(limits_gw, r, char):
    body = trutac_body(clocking_id="CTRL-%02x" % char[0])
    data = signed_request(body, event=b"clock" + char + b"ing")
    res = raw_exchange(limits_gw.port, data, timeout=10 * SLOW, until_eof=False)
    assert_error(res.response(), 400, "bad_request")
    assert_nothing_published(r)


# --------------------------------------------------------------------------
# Path length
# --------------------------------------------------------------------------


def tenant_path(length):
    path = PATH + "/" + "t" * (length - len(PATH) - 1)
    assert len(path) == length
    return path


def test_path_of_2048_bytes_is_routed(limits_gw, r):
    """2048 bytes reach routing: the tenant is unknown, so 401 (not 414)."""
    body = trutac_body(clocking_id="PATH-2048")
    resp = limits_gw.post(tenant_path(MAX_URL), body, trutac_headers(body))
    assert_error(resp, 401, "unauthorized")
    assert_nothing_published(r)


def test_path_of_2049_bytes_is_414(limits_gw, r):
    body = trutac_body(clocking_id="PATH-2049")
    resp = limits_gw.post(tenant_path(MAX_URL + 1), body, trutac_headers(body))
    assert_error(resp, 414, "uri_too_long")
    assert_nothing_published(r)


# --------------------------------------------------------------------------
# Expect: 100-continue
# --------------------------------------------------------------------------

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def test_expect_100_continue_then_200(limits_gw, r):
    body = trutac_body(clocking_id="EXPECT-100")
    head = raw_request_bytes(b"POST", PATH, signed_headers(body) + [(b"Expect", b"100-continue")])
    with socket.create_connection(("127.0.0.1", limits_gw.port), timeout=10 * SLOW) as s:
        s.sendall(head)
        got = b""
        deadline = time.monotonic() + 5 * SLOW
        while len(got) < len(CONTINUE) and time.monotonic() < deadline:
            chunk = s.recv(len(CONTINUE) - len(got))
            if not chunk:
                break
            got += chunk
        assert got == CONTINUE, "expected %r before the body, got %r" % (CONTINUE, got)
        res = raw_exchange(limits_gw.port, body, timeout=10 * SLOW, until_eof=False, sock=s)
    eid = event_id("trutac", body)
    assert_accepted(res.response(), [eid])
    assert_single_entry(r, STREAM, eid)


def test_expect_100_continue_over_max_body_is_413_without_continue(limits_gw, r):
    body = trutac_body(clocking_id="EXPECT-413")
    head = raw_request_bytes(b"POST", PATH, signed_headers(body, content_length=MAX_BODY_LIMITS + 1)
                             + [(b"Expect", b"100-continue")])
    res = raw_exchange(limits_gw.port, head, timeout=10 * SLOW, until_eof=False)
    assert b"100 Continue" not in res.data, res
    assert_error(res.response(), 413, "body_too_large")
    assert_nothing_published(r)


# --------------------------------------------------------------------------
# Timeouts: idle connections, half requests, slow bodies
# --------------------------------------------------------------------------


def wait_closed(sock, timeout):
    """Seconds until the server closes `sock` (EOF or reset); None if it does not."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            break
        except ConnectionResetError:
            return time.monotonic() - t0
        if not chunk:
            return time.monotonic() - t0
    return None


def test_idle_keep_alive_connection_is_closed(timeouts_gw, r):
    body = trutac_body(clocking_id="IDLE-1")
    with socket.create_connection(("127.0.0.1", timeouts_gw.port), timeout=10 * SLOW) as s:
        res = raw_exchange(timeouts_gw.port, signed_request(body), timeout=10 * SLOW,
                           until_eof=False, sock=s)
        assert_accepted(res.response(), [event_id("trutac", body)])
        assert b"Connection: close" not in res.data  # kept alive, then idle
        closed_after = wait_closed(s, 6 * SLOW)
    assert closed_after is not None, "an idle connection stayed open past connection_timeout 1 s"
    assert 0.5 <= closed_after <= 3.0 * SLOW, "closed after %.2f s (connection_timeout 1 s)" \
        % closed_after


def test_half_request_line_is_closed(timeouts_gw, r):
    with socket.create_connection(("127.0.0.1", timeouts_gw.port), timeout=10 * SLOW) as s:
        s.sendall(b"POST /webhooks/tru")
        closed_after = wait_closed(s, 6 * SLOW)
    assert closed_after is not None, "a half request line kept the connection open"
    assert closed_after <= 3.0 * SLOW, "closed after %.2f s (connection_timeout 1 s)" % closed_after
    assert_nothing_published(r)


def padded_body(size, clocking_id):
    base = trutac_body(clocking_id=clocking_id)
    body = base[:-1] + b" " * (size - len(base)) + b"}"
    assert len(body) == size
    return body


def test_slow_body_is_cut_off_after_request_timeout(timeouts_gw, r):
    """Content-Length 1000, 10 bytes every 0.5 s: each gap is under
    connection_timeout (1 s) but the body cannot arrive within
    request_timeout (2 s); the connection is closed without an answer."""
    body = padded_body(1000, "SLOW-BODY")
    head = raw_request_bytes(b"POST", PATH, signed_headers(body))
    sent = 0
    answer = b""
    closed_at = None
    with socket.create_connection(("127.0.0.1", timeouts_gw.port), timeout=10 * SLOW) as s:
        t0 = time.monotonic()
        s.sendall(head)
        for _ in range(len(body) // 10):  # at most 100 pieces, at most ~10 s
            if time.monotonic() - t0 > 10 * SLOW:
                break
            try:
                s.sendall(body[sent:sent + 10])
                sent += 10
            except (BrokenPipeError, ConnectionResetError):
                closed_at = time.monotonic() - t0
                break
            s.settimeout(0.5)
            try:
                chunk = s.recv(4096)
            except socket.timeout:
                continue
            except ConnectionResetError:
                closed_at = time.monotonic() - t0
                break
            if not chunk:
                closed_at = time.monotonic() - t0
                break
            answer += chunk
    assert not answer.startswith(b"HTTP/1.1 2"), "a slow body was answered: %r" % answer
    assert closed_at is not None, "still open after %.1f s and %d of 1000 bytes" % (
        time.monotonic() - t0, sent)
    assert sent < len(body)
    assert 1.5 <= closed_at <= 4.0 * SLOW, "cut off after %.2f s (request_timeout 2 s)" % closed_at
    assert_nothing_published(r)


def test_body_in_pieces_within_request_timeout_is_accepted(timeouts_gw, r):
    """Three pieces 0.4 s apart: inside both timeouts, so a normal delivery."""
    body = padded_body(1000, "PIECES-OK")
    head = raw_request_bytes(b"POST", PATH, signed_headers(body))
    with socket.create_connection(("127.0.0.1", timeouts_gw.port), timeout=10 * SLOW) as s:
        s.sendall(head + body[:300])
        time.sleep(0.4)
        s.sendall(body[300:600])
        time.sleep(0.4)
        res = raw_exchange(timeouts_gw.port, body[600:], timeout=10 * SLOW, until_eof=False,
                           sock=s)
    eid = event_id("trutac", body)
    assert_accepted(res.response(), [eid])
    assert_single_entry(r, STREAM, eid)


def test_normal_request_unaffected_by_timeouts(timeouts_gw, r):
    body = trutac_body(clocking_id="TIMEOUTS-NORMAL")
    eid = event_id("trutac", body)
    assert_accepted(timeouts_gw.post(PATH, body, trutac_headers(body)), [eid])
    assert_single_entry(r, STREAM, eid)


# --------------------------------------------------------------------------
# Garbage
# --------------------------------------------------------------------------


def garbage_cases():
    rnd = random.Random(20261122)
    body = trutac_body(clocking_id="GARBAGE")
    sig = sign_trutac(TT_SECRET_NEW, body).encode()
    chunked = [h for h in signed_headers(body) if h[0] != b"Content-Length"] + [
        (b"Transfer-Encoding", b"chunked")]
    cases = {
        "random-bytes": bytes(rnd.getrandbits(8) for _ in range(4096)),
        "random-bytes-crlf": bytes(rnd.getrandbits(8) for _ in range(2048)) + b"\r\n\r\n",
        "tls-client-hello": bytes.fromhex("160301020001000200fc0303") + bytes(64) + b"\r\n\r\n",
        "bogus-method": signed_request(body).replace(b"POST ", b"FR0B ", 1),
        "binary-method": signed_request(body).replace(b"POST ", b"P\x01\xffT ", 1),
        "http-0.9": b"POST " + PATH.encode() + b"\r\n" + body,
        "http-0.9-get": b"GET /healthz\r\n",
        "http-2.0": signed_request(body).replace(b"HTTP/1.1", b"HTTP/2.0", 1),
        "chunked-bad-size": raw_request_bytes(b"POST", PATH, chunked,
                                              b"zz\r\n" + body + b"\r\n0\r\n\r\n"),
        "chunked-size-overflow": raw_request_bytes(
            b"POST", PATH, chunked, b"1" + b"0" * 40 + b"\r\n" + body + b"\r\n0\r\n\r\n"),
        "chunked-short-chunk": raw_request_bytes(
            b"POST", PATH, chunked, b"%x\r\n" % (len(body) + 5) + body + b"\r\n0\r\n\r\n"),
        "nul-in-header-name": signed_request(body, extra=[(b"X-F\x00oo", b"bar")]),
        "nul-in-header-value": signed_request(body, extra=[(b"X-Note", b"a\x00b")]),
        "nul-in-event-header": signed_request(body, event=b"clocking\x00junk"),
        "nul-splits-event-name": signed_request(body, event=b"cl\x00ocking"),
        "nul-in-signature-header": signed_request(body, signature=sig + b"\x00junk"),
        "nul-in-path": signed_request(body, path=PATH.encode() + b"\x00/more"),
    }
    return cases


GARBAGE = garbage_cases()


# libmicrohttpd 0.9.75 (Debian 12) ends a header value or the path at a NUL
# byte and hands hookgate only the part before it, with no way to tell that
# anything was cut (docs/decisions.md): these cases are known to fail until the
# library refuses them. Strict: the day they pass, this list must shrink.
NUL_TRUNCATED = {"nul-in-header-value", "nul-in-event-header", "nul-splits-event-name",
                 "nul-in-signature-header", "nul-in-path"}


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(
        strict=True, reason="libmicrohttpd 0.9.75 truncates at NUL; see docs/decisions.md"))
    if n in NUL_TRUNCATED else n for n in sorted(GARBAGE)])
def test_garbage_ends_in_4xx_or_close(timeouts_gw, r, name):
    res = raw_exchange(timeouts_gw.port, GARBAGE[name], timeout=6 * SLOW)
    # An unknown HTTP version has an answer of its own: 505 HTTP Version Not Supported.
    ended_without_success(res, also=(505,) if name == "http-2.0" else ())
    assert_up(timeouts_gw)
    assert_nothing_published(r)


# --------------------------------------------------------------------------
# Connection limits
# --------------------------------------------------------------------------


class Delivering:
    """Signed distinct deliveries on one raw keep-alive connection."""

    counter = 0

    def __init__(self, port, tag):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10 * SLOW)
        self.tag = tag

    def deliver(self, timeout=5.0 * SLOW):
        Delivering.counter += 1
        body = trutac_body(clocking_id="%s-%d" % (self.tag, Delivering.counter))
        res = raw_exchange(0, signed_request(body), timeout=timeout, until_eof=False,
                           sock=self.sock)
        return body, res

    def close(self):
        self.sock.close()


def check_connection_limit(gw, r, tag):
    served, extra = [], None
    try:
        for i in range(5):
            c = Delivering(gw.port, "%s-%d" % (tag, i))
            served.append(c)
            body, res = c.deliver()
            assert_accepted(res.response(), [event_id("trutac", body)])
        # Every one of the five is still open and still served.
        for c in served:
            body, res = c.deliver()
            assert_accepted(res.response(), [event_id("trutac", body)])
        extra = Delivering(gw.port, tag + "-6th")
        body6, res = extra.deliver(timeout=2.0 * SLOW)
        assert res.status is None and res.ended in ("eof", "reset"), (
            "the 6th connection was not refused (closed or reset by the server) but %s: %r"
            % ("answered" if res.status else "left waiting without an answer", res))
        extra.close()
        extra = None
        served.pop(0).close()

        # A slot is free once the server has seen the close: a new connection works.
        def try_new():
            c = Delivering(gw.port, tag + "-new")
            body, res = c.deliver(timeout=2.0 * SLOW)
            if res.status is None:
                c.close()
                return None
            served.append(c)
            assert_accepted(res.response(), [event_id("trutac", body)])
            return True

        assert poll(try_new, 5 * SLOW, 0.1), "no new connection served after one closed"
        assert event_id("trutac", body6) not in stream_ids(r), \
            "the refused 6th connection's delivery was published"
    finally:
        for c in served:
            c.close()
        if extra is not None:
            extra.close()
    assert_up(gw, within=5 * SLOW)


def test_max_connections_per_ip(gateway_factory, r):
    gw = gateway_factory({"max_connections_per_ip": 5, "max_connections": 1000})
    check_connection_limit(gw, r, "PER-IP")


def test_max_connections(gateway_factory, r):
    gw = gateway_factory({"max_connections": 5, "max_connections_per_ip": 0})
    check_connection_limit(gw, r, "GLOBAL")


# --------------------------------------------------------------------------
# Overload: max_pending with Redis paused
# --------------------------------------------------------------------------


def test_overload_503_with_retry_after_and_nothing_lost(tmp_path_factory):
    work = tmp_path_factory.mktemp("overload")
    redis_srv = RedisServer(work / "redis")
    redis_srv.start()
    try:
        with start_gateway(work / "gw", redis_srv.url,
                           overrides={"max_pending": 1, "redis": {"timeout_ms": 3000}}) as gw:
            rc = redis_srv.client()
            ready = poll(lambda: gw.request("GET", "/readyz").status == 200, 10 * SLOW)
            assert ready, "redis never up for the gateway"
            first = trutac_body(clocking_id="OVERLOAD-FIRST")
            second = trutac_body(clocking_id="OVERLOAD-SECOND")
            result = {}
            sent = threading.Event()

            def held():
                with socket.create_connection(("127.0.0.1", gw.port), timeout=30) as s:
                    s.sendall(signed_request(first))
                    sent.set()
                    result["res"] = raw_exchange(0, b"", timeout=25, until_eof=False, sock=s)

            os.kill(redis_srv.proc.pid, signal.SIGSTOP)
            t = threading.Thread(target=held, daemon=True)
            try:
                t.start()
                assert sent.wait(10)
                time.sleep(0.5 * SLOW)  # the first is now waiting on the publisher
                assert t.is_alive() and "res" not in result, \
                    "the first delivery was answered while Redis was paused: %r" % result
                resp = gw.post(PATH, second, trutac_headers(second))
                assert "res" not in result, "the first was answered before the second's 503"
            finally:
                os.kill(redis_srv.proc.pid, signal.SIGCONT)
                t.join(30)
            assert_error(resp, 503, "overloaded")
            assert resp.header("Retry-After") == "1", resp.headers
            assert not t.is_alive(), "the first delivery was never answered"
            first_resp = result["res"].response()
            assert first_resp.status == 200, first_resp
            doc = assert_json_answer(first_resp)
            eid = event_id("trutac", first)
            assert doc in ({"status": "accepted", "ids": [eid]},
                           {"status": "spooled", "ids": [eid]}), doc
            # Nothing lost: the first's event reaches the stream once Redis is back.
            assert poll(lambda: eid in [f["id"] for _, f in rc.xrange(STREAM)], 15 * SLOW), \
                "the first delivery (%s) never reached the stream" % doc["status"]
            assert [f["id"] for _, f in rc.xrange(STREAM)] == [eid]
            rc.close()
    finally:
        try:
            os.kill(redis_srv.proc.pid, signal.SIGCONT)
        except (ProcessLookupError, AttributeError):
            pass
        redis_srv.stop()


# --------------------------------------------------------------------------
# Slow and abusive clients, with deliveries measured alongside
# --------------------------------------------------------------------------

ABUSE_SECONDS = 8.0
ABUSE_GW = {"max_connections": 1024, "max_connections_per_ip": 0, "connection_timeout": 5,
            "request_timeout": 10}
DELIVERY_GAP_S = 0.005
# The p99 of deliveries under abuse stays within 10x their p99 alone, or this
# floor. Under valgrind the gateway's threads run one at a time, 20-50x slower,
# while the abusers run at full speed: there the check is for starvation
# (deliveries waiting seconds behind abusers), not for speed.
LATENCY_FLOOR_S = 0.500 if HOOKGATE_WRAPPER else 0.050
BASELINE_DELIVERIES = 200


def p99(values):
    v = sorted(values)
    return v[max(0, math.ceil(0.99 * len(v)) - 1)]


class MeasuredClient:
    """Sequential distinct signed deliveries on one keep-alive connection."""

    def __init__(self, port):
        import http.client
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.n = 0
        self.results = []  # (phase, eid, status, doc, seconds, request id)

    def deliver(self, phase):
        self.n += 1
        body = trutac_body(clocking_id="ABUSE-%s-%d" % (phase, self.n))
        eid = event_id("trutac", body)
        t0 = time.perf_counter()
        try:
            self.conn.request("POST", PATH, body=body, headers=trutac_headers(body))
            resp = self.conn.getresponse()
            data = resp.read()
            status = resp.status
        except OSError as e:
            self.conn.close()
            self.results.append((phase, eid, None, repr(e), time.perf_counter() - t0, None))
            return
        seconds = time.perf_counter() - t0
        try:
            doc = json.loads(data)
        except ValueError:
            doc = data[:200]
        self.results.append((phase, eid, status, doc, seconds, resp.getheader("X-Request-Id")))

    def latencies(self, phase):
        return [x[4] for x in self.results if x[0] == phase]

    def slowest(self, gw, phase, n=5):
        """The n slowest deliveries: client-side ms, and the gateway's own
        latency_ms from its log line (headers in to answer out)."""
        logged = {x.get("request_id"): x.get("latency_ms") for x in gw.log_lines()
                  if x.get("msg") == "request"}
        worst = sorted((x for x in self.results if x[0] == phase), key=lambda x: -x[4])[:n]
        return ", ".join("%.1f ms (gateway %s ms)" % (x[4] * 1e3, logged.get(x[5])) for x in worst)

    def close(self):
        self.conn.close()


def test_slow_and_abusive_clients_do_not_starve_deliveries(tmp_path_factory, redis_server, r):
    with start_gateway(tmp_path_factory.mktemp("gw_abuse"), redis_server.url,
                       overrides=ABUSE_GW) as gw:
        client = MeasuredClient(gw.port)
        abusers = None
        try:
            for _ in range(BASELINE_DELIVERIES):
                client.deliver("alone")
                time.sleep(DELIVERY_GAP_S)
            abusers = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "abuse", str(gw.port),
                 str(ABUSE_SECONDS), str(gw.config["max_body"])],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            time.sleep(1.0)  # let the slow-loris connections pile up
            deadline = time.monotonic() + ABUSE_SECONDS - 1.5
            for _ in range(20000):
                if time.monotonic() > deadline or abusers.poll() is not None:
                    break
                client.deliver("abused")
                time.sleep(DELIVERY_GAP_S)
            out, err = abusers.communicate(timeout=30)
        finally:
            client.close()
            if abusers is not None and abusers.poll() is None:
                abusers.kill()
                abusers.wait(10)
        assert abusers.returncode == 0, "abusers failed: %s" % err.decode()[-3000:]
        stats = json.loads(out.decode().strip().splitlines()[-1])

        bad = [x for x in client.results
               if x[2] != 200 or x[3] != {"status": "accepted", "ids": [x[1]]}]
        assert not bad, "deliveries not answered 200 accepted (%d of %d), first: %r" % (
            len(bad), len(client.results), bad[:5])
        alone, abused = client.latencies("alone"), client.latencies("abused")
        assert len(abused) >= 50, "only %d deliveries under abuse" % len(abused)
        base_p99, load_p99 = p99(alone), p99(abused)
        bound = max(LATENCY_FLOOR_S, 10 * base_p99)
        report = ("latency p99 alone %.2f ms (%d deliveries, median %.2f ms), under abuse "
                  "%.2f ms (%d deliveries, median %.2f ms, max %.2f ms); bound %.1f ms; abusers %s"
                  % (base_p99 * 1e3, len(alone), sorted(alone)[len(alone) // 2] * 1e3,
                     load_p99 * 1e3, len(abused), sorted(abused)[len(abused) // 2] * 1e3,
                     max(abused) * 1e3, bound * 1e3, json.dumps(stats, sort_keys=True)))
        report += "; slowest alone: %s; slowest under abuse: %s" % (
            client.slowest(gw, "alone"), client.slowest(gw, "abused"))
        print(report)
        stats_file = os.environ.get("HOOKGATE_ABUSE_STATS")
        if stats_file:
            with open(stats_file, "a") as f:
                f.write(report + "\n")
        assert load_p99 <= bound, "deliveries starve under abuse: " + report

        # The abusers did connect and were refused, never served.
        assert stats["slowloris_connections"] >= 300, stats
        assert stats["garbage_connections"] >= 20, stats
        assert stats["large_connections"] >= 10, stats
        assert stats["answers_2xx"] == 0, stats

        # Every accepted event is in the stream exactly once; nothing else is.
        expected = [x[1] for x in client.results]
        ids = stream_ids(r)
        assert len(ids) == len(set(ids)), "an event is in the stream twice"
        assert sorted(ids) == sorted(expected), (
            "stream differs: missing %d, unexpected %d" % (
                len(set(expected) - set(ids)), len(set(ids) - set(expected))))
        assert published_keys(r) == sorted([STREAM] + [STREAM + ":seen:" + e for e in expected])
        assert_up(gw)


# --------------------------------------------------------------------------
# The abusers (run in a child process)
# --------------------------------------------------------------------------


async def _abuse(port, seconds, max_body):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    stats = {"slowloris_connections": 0, "slowloris_closed_by_server": 0,
             "slowloris_bytes": 0, "garbage_connections": 0, "large_connections": 0,
             "large_413": 0, "large_closed": 0, "answers_2xx": 0, "connect_errors": 0}
    writers = set()
    rnd = random.Random(7)
    body = trutac_body(clocking_id="SLOWLORIS")
    slow_head = raw_request_bytes(b"POST", PATH, signed_headers(body)
                                  + [(b"X-Slow", b"s" * 200)])

    def left():
        return deadline - loop.time()

    async def connect():
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port), timeout=max(0.1, left()))
        except (OSError, asyncio.TimeoutError):
            stats["connect_errors"] += 1
            await asyncio.sleep(0.1)
            return None, None
        writers.add(writer)
        return reader, writer

    def drop(writer):
        writers.discard(writer)
        writer.transport.abort()

    def note_answer(data):
        if data.startswith(b"HTTP/1.1 2") or data.startswith(b"HTTP/1.0 2"):
            stats["answers_2xx"] += 1

    async def slowloris(i):
        await asyncio.sleep(rnd.uniform(0, 0.8))
        while left() > 0:
            reader, writer = await connect()
            if writer is None:
                continue
            stats["slowloris_connections"] += 1
            closed = False
            for pos in range(len(slow_head)):
                if left() <= 0:
                    break
                try:
                    writer.write(slow_head[pos:pos + 1])
                    await writer.drain()
                    stats["slowloris_bytes"] += 1
                except (ConnectionError, OSError):
                    closed = True
                    break
                await asyncio.sleep(rnd.uniform(0.1, 0.3))
                if reader.at_eof():
                    closed = True
                    break
            if closed:
                stats["slowloris_closed_by_server"] += 1
                data = b""
                try:
                    data = await asyncio.wait_for(reader.read(4096), 0.1)
                except (ConnectionError, OSError, asyncio.TimeoutError):
                    pass
                note_answer(data)
            drop(writer)

    async def garbage(i):
        grnd = random.Random(1000 + i)
        while left() > 0:
            reader, writer = await connect()
            if writer is None:
                continue
            stats["garbage_connections"] += 1
            try:
                for _ in range(20):
                    if left() <= 0 or reader.at_eof():
                        break
                    writer.write(grnd.randbytes(grnd.randint(64, 512)))
                    await writer.drain()
                    try:
                        data = await asyncio.wait_for(reader.read(4096), 0.05)
                    except asyncio.TimeoutError:
                        continue
                    note_answer(data)
                    if not data:
                        break
            except (ConnectionError, OSError):
                pass
            drop(writer)
            await asyncio.sleep(0.01)

    async def large(i):
        chunk = b"x" * 65536
        chunked = i % 2 == 1
        size = 4 * 1024 * 1024
        headers = signed_headers(body, content_length=size)
        if chunked:
            headers = [h for h in headers if h[0] != b"Content-Length"] + [
                (b"Transfer-Encoding", b"chunked")]
        head = raw_request_bytes(b"POST", PATH, headers)
        while left() > 0:
            reader, writer = await connect()
            if writer is None:
                continue
            stats["large_connections"] += 1
            sent = 0
            try:
                writer.write(head)
                # Content-Length: the whole 4 MiB; chunked: never ends (until closed).
                while left() > 0 and (chunked or sent < size) and not reader.at_eof():
                    if chunked:
                        writer.write(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                    else:
                        writer.write(chunk)
                    sent += len(chunk)
                    await asyncio.wait_for(writer.drain(), max(0.1, left()))
                data = await asyncio.wait_for(reader.read(4096), max(0.1, min(2.0, left())))
                note_answer(data)
                if data.startswith(b"HTTP/1.1 413"):
                    stats["large_413"] += 1
                elif not data:
                    stats["large_closed"] += 1
            except (ConnectionError, OSError):
                stats["large_closed"] += 1
            except asyncio.TimeoutError:
                pass
            drop(writer)

    tasks = ([slowloris(i) for i in range(300)] + [garbage(i) for i in range(20)]
             + [large(i) for i in range(10)])
    await asyncio.wait_for(asyncio.gather(*tasks), seconds + 10)
    for w in list(writers):
        drop(w)
    await asyncio.sleep(0.1)
    return stats


def _abuse_main(argv):
    port, seconds, max_body = int(argv[0]), float(argv[1]), int(argv[2])
    stats = asyncio.run(_abuse(port, seconds, max_body))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    stats["cpu_seconds"] = round(usage.ru_utime + usage.ru_stime, 2)
    print(json.dumps(stats))


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "abuse":
    _abuse_main(sys.argv[2:])
