"""All five providers through the real server into a real Redis.

Requests are built and signed for the current time by the vector generator
(tests/vectors/generate.py) and its independent model of the contract
(tests/vectors/hgvectors.py), which also computes the envelopes each request must
publish. Covered here:

  - every generated vector whose outcome does not depend on the client address,
    rebuilt for the current time and sent over HTTP: the answer, the stream entries
    (XRANGE), the envelopes field by field and the dedup keys;
  - inline batches: order, all-or-nothing, a batch that repeats a published event;
    pretty-printed bodies with keys out of order; \\uXXXX escapes stored as
    characters; control characters;
  - Teamgo's single-use tokens (replay with other data: 401, nothing added; the same
    delivery again: duplicate) and re-signed retries (duplicate);
  - each Ombori auth mode (path token, never logged; header token; Basic; allow_ips
    behind a trusted proxy; X-Forwarded-For from an untrusted peer ignored);
  - detection of all five on POST /webhooks, ambiguous and unknown requests;
  - `hookgate --check-config` refusing an Ombori block without auth and accepting
    "auth": "none", which is warned about at start-up.
"""

import contextlib
import copy
import json
import os
import subprocess
import sys
import time

import pytest

from hookgate_testlib import (HOOKGATE_BIN, RECEIVEDAT_RE, Gateway, assert_answer,
                              assert_error, assert_nothing_published, log_line_problem,
                              parse_utc, published_keys, read_stream, sanitizer_lines)

VECTORS_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                            "..", "vectors"))
sys.path.insert(0, VECTORS_DIR)

import generate as G  # noqa: E402
import hgseeds as S  # noqa: E402
import hgvectors as H  # noqa: E402

RECEIVE_TIME_PROVIDERS = ("ombori", "trutac")


def now_ms():
    return int(time.time() * 1000)


def stream(provider):
    return "webhooks:{%s}" % provider


# --------------------------------------------------------------------------
# Gateways: one per distinct configuration, started on first use
# --------------------------------------------------------------------------


def make_gateway(workdir, redis_url, cfg):
    """A Gateway whose "providers" (and any other top-level key) come from `cfg`
    instead of the default config; every vector secret is checked never to leak."""
    gw = Gateway(workdir, redis_url)
    gw.config["providers"] = copy.deepcopy(cfg["providers"])
    for k, v in cfg.items():
        if k != "providers":
            gw.config[k] = copy.deepcopy(v)
    gw.secrets = list(G.ALL_SECRETS)
    return gw


@contextlib.contextmanager
def running(gw):
    try:
        gw.start()
        yield gw
    finally:
        gw.stop()
    gw.check_stopped_cleanly()


@pytest.fixture(scope="module")
def gateways(tmp_path_factory, redis_server):
    """gateways(cfg) -> a running gateway for that configuration (cached)."""
    stack = contextlib.ExitStack()
    cache = {}

    def get(cfg):
        key = json.dumps(cfg, sort_keys=True)
        if key not in cache:
            gw = make_gateway(tmp_path_factory.mktemp("gw5"), redis_server.url, cfg)
            cache[key] = stack.enter_context(running(gw))
        return cache[key]

    with stack:
        yield get


@pytest.fixture(scope="module")
def gw5(gateways):
    """The gateway with all five providers (the vectors' default configuration)."""
    return gateways(G.config())


@pytest.fixture
def fresh_gateway(tmp_path_factory, redis_server):
    """Starts a gateway for one test; stopped and checked (secrets, exit) afterwards."""
    stack = contextlib.ExitStack()

    def make(cfg):
        gw = make_gateway(tmp_path_factory.mktemp("gw5x"), redis_server.url, cfg)
        return stack.enter_context(running(gw))

    with stack:
        yield make


def post(gw, vector):
    headers = {}
    for name, value in vector["headers"]:
        assert name.lower() not in (h.lower() for h in headers), "repeated header " + name
        headers[name] = value
    t0 = time.time()
    resp = gw.post(vector["route"], H.vector_body(vector), headers)
    return resp, (t0, time.time())


# --------------------------------------------------------------------------
# Checking envelopes against the model
# --------------------------------------------------------------------------

ENVELOPE_KEYS = {"specversion", "id", "source", "type", "category", "provider", "tenant",
                 "subject", "time", "receivedat", "verification", "datacontenttype", "data"}


def check_envelope(text, want, window):
    """`text`: the stored envelope JSON; `want`: the model's event."""
    env = json.loads(text)
    assert set(env) <= ENVELOPE_KEYS, sorted(set(env) - ENVELOPE_KEYS)
    assert env["specversion"] == "1.0"
    assert env["datacontenttype"] == "application/json"
    for k in ("id", "type", "category", "provider", "source", "verification"):
        assert env.get(k) == want[k], "%s: %r, expected %r" % (k, env.get(k), want[k])
    for k in ("tenant", "subject"):
        if k in want:
            assert env.get(k) == want[k], "%s: %r, expected %r" % (k, env.get(k), want[k])
        else:
            assert k not in env, "%s should be absent, is %r" % (k, env[k])
    assert RECEIVEDAT_RE.match(env["receivedat"]), env["receivedat"]
    received = parse_utc(env["receivedat"])
    assert window[0] - 1.5 <= received <= window[1] + 1.5, \
        "receivedat %s is not the time of the request" % env["receivedat"]
    if want["provider"] in RECEIVE_TIME_PROVIDERS:
        assert env["time"] == env["receivedat"], (env["time"], env["receivedat"])
    else:
        assert env["time"] == want["time"], (env["time"], want["time"])
    # data: exact, number tokens included (parsed keeping tokens, compared deep-sorted)
    got = H.parse(text.encode("utf-8"), max_depth=256).get("data")
    assert H.canonical(got, "deep") == H.canonical(want["data"], "deep"), \
        "data differs:\n  got  %s\n  want %s" % (H.canonical(got, "deep")[:400],
                                               H.canonical(want["data"], "deep")[:400])
    return env


def check_published(r, events, window, stream_key=None):
    """Exactly `events` (the model's) are in their stream, in order, with dedup keys."""
    assert events, "nothing expected"
    key = stream_key or stream(events[0]["provider"])
    entries = read_stream(r, key)
    assert [f.get("id") for _, f in entries] == [e["id"] for e in events], \
        "stream %s holds %r" % (key, [f.get("id") for _, f in entries])
    envs = []
    for (entry_id, fields), want in zip(entries, events):
        assert fields["type"] == want["type"] and fields["category"] == want["category"] \
            and fields["provider"] == want["provider"], fields
        envs.append(check_envelope(fields["event"], want, window))
        seen = "%s:seen:%s" % (key, want["id"])
        assert r.get(seen) == entry_id, "dedup key %s holds %r" % (seen, r.get(seen))
        assert 0 < r.ttl(seen) <= 604800
    return envs


def check_outcome(r, resp, expect, window):
    if expect["http"] != 200:
        assert_error(resp, expect["http"], expect["error"])
        assert_nothing_published(r)
        return
    assert_answer(resp, expect["status"], [e["id"] for e in expect["events"]])
    if expect["events"]:
        check_published(r, expect["events"], window)
    else:
        assert_nothing_published(r)


# --------------------------------------------------------------------------
# Every generated vector that fits a client on 127.0.0.1, signed for now
# --------------------------------------------------------------------------


def _at_loopback(vector):
    v = dict(vector)
    v["client_addr"] = "127.0.0.1"
    return v


def _selected():
    out = []
    for v, vector in G.build_all(G.NOW_MS):
        if not v.resend:
            continue  # on the tolerance's edge: real clocks move
        try:
            expect = H.process_vector(_at_loopback(vector))
        except H.Ambiguous:
            continue  # from 127.0.0.1 it would have two faults
        if (expect.get("status") or expect.get("error")) != v.want:
            continue  # the outcome depends on the client address
        out.append(pytest.param(v, id=vector["name"]))
    return out


SELECTED = _selected()


def test_a_selection_of_vectors_is_resent():
    names = {p.id.split("/")[0] for p in SELECTED}
    assert names == {"teamgo", "inline", "ombori", "trutac", "oneupvision", "detect"}, names
    assert len(SELECTED) >= 120, len(SELECTED)


@pytest.mark.parametrize("v", SELECTED)
def test_vector_through_the_server(gateways, r, v):
    vector = _at_loopback(G.build(v, now_ms()))
    expect = H.process_vector(vector)
    gw = gateways(vector["config"])
    resp, window = post(gw, vector)
    check_outcome(r, resp, expect, window)


# --------------------------------------------------------------------------
# inline
# --------------------------------------------------------------------------


def inline_batch(now, types, base_id="rsv"):
    events = [G.inl_event(t, '{"id":"%s-%d","seq":%d}' % (base_id, i, i), now - 5000 + i * 7)
              for i, t in enumerate(types)]
    return G.inl_req(G.inl_body(events, now - 1000), now)


def test_inline_batch_publishes_every_event_in_order(gw5, r):
    types = ["reservation-created", "reservation-seated", "order-created", "voucher-used",
             "reservation-table-cleaned"]
    vector = inline_batch(now_ms(), types)
    expect = H.process_vector(vector)
    assert len(expect["events"]) == 5
    resp, window = post(gw5, vector)
    assert_answer(resp, "accepted", [e["id"] for e in expect["events"]])
    envs = check_published(r, expect["events"], window)
    assert [e["category"] for e in envs] == [H.INLINE_CATEGORIES[t] for t in types]
    assert [e["subject"] for e in envs] == ["rsv-%d" % i for i in range(5)]


def test_inline_batch_is_all_or_nothing(gw5, r):
    now = now_ms()
    events = [G.inl_event("reservation-created", '{"id":"rsv-1"}', now - 3000),
              G.inl_event("reservation-seated", '{"id":"rsv-1"}', now - 2500).replace(
                  '"type":"reservation-seated",', ""),  # 2nd event has no type
              G.inl_event("voucher-used", '{"id":"v-1"}', now - 2000)]
    vector = G.inl_req(G.inl_body(events, now - 1000), now)
    assert H.process_vector(vector)["error"] == "bad_request"
    resp, _ = post(gw5, vector)
    assert_error(resp, 400, "bad_request")
    assert_nothing_published(r)


def test_inline_batch_repeating_a_published_event_adds_only_the_new_one(gw5, r):
    now = now_ms()
    first = G.inl_event("reservation-created", '{"id":"rsv-31"}', now - 3000)
    second = G.inl_event("reservation-seated", '{"id":"rsv-31"}', now - 2000)
    one = G.inl_req(G.inl_body([first], now - 1000), now)
    both = G.inl_req(G.inl_body([first, second], now - 900), now)
    e_one = H.process_vector(one)["events"]
    e_both = H.process_vector(both)["events"]
    assert e_both[0]["id"] == e_one[0]["id"]

    resp, window = post(gw5, one)
    assert_answer(resp, "accepted", [e_one[0]["id"]])
    resp, window2 = post(gw5, both)
    assert_answer(resp, "accepted", [e["id"] for e in e_both])
    check_published(r, e_both, (window[0], window2[1]))
    resp, _ = post(gw5, both)
    assert_answer(resp, "duplicate", [e["id"] for e in e_both])
    assert len(read_stream(r, stream("inline"))) == 2


def test_inline_pretty_printed_keys_out_of_order(gw5, r):
    now = now_ms()
    body = ('{\n  "events" : [ {\n    "timestamp" : %d,\n    "data" : {\n      "state" : '
            '"waiting",\n      "id" : "rsv-12",\n      "contact" : { "name" : "Ken", '
            '"customerId" : "my-id" }\n    },\n    "type" : "reservation-pax-changed"\n  } ],\n'
            '  "timestamp" : %d\n}') % (now - 2345, now - 1000)
    vector = G.inl_req(body, now)  # signed over the deep-sorted form
    expect = H.process_vector(vector)
    resp, window = post(gw5, vector)
    assert_answer(resp, "accepted", [expect["events"][0]["id"]])
    env = check_published(r, expect["events"], window)[0]
    assert env["data"] == {"state": "waiting", "id": "rsv-12",
                           "contact": {"name": "Ken", "customerId": "my-id"}}
    assert env["time"] == H.format_time(now - 2345)


def test_inline_unicode_escapes_are_stored_as_characters(gw5, r):
    now = now_ms()
    data = '{"id":"ord-1","name":{"zh-tw":"\\u7bc4\\u4f8b\\u5957\\u9910"},"e":"\\ud83d\\ude00"}'
    vector = G.inl_req(G.inl_body([G.inl_event("order-created", data, now - 2000)], now - 1000),
                       now)
    expect = H.process_vector(vector)
    resp, window = post(gw5, vector)
    assert_answer(resp, "accepted", [expect["events"][0]["id"]])
    env = check_published(r, expect["events"], window)[0]
    assert env["data"]["name"]["zh-tw"] == "\u7bc4\u4f8b\u5957\u9910"
    assert env["data"]["e"] == "\U0001F600"
    text = read_stream(r, stream("inline"))[0][1]["event"]
    assert "\u7bc4\u4f8b\u5957\u9910" in text and "\\u7bc4" not in text, text


def test_inline_control_characters_survive(gw5, r):
    now = now_ms()
    data = '{"id":"ord-2","note":"a\\u0001b\\u000ac\\td\\u001f"}'
    vector = G.inl_req(G.inl_body([G.inl_event("order-accepted", data, now - 2000)], now - 1000),
                       now)
    expect = H.process_vector(vector)
    resp, window = post(gw5, vector)
    assert_answer(resp, "accepted", [expect["events"][0]["id"]])
    env = check_published(r, expect["events"], window)[0]
    assert env["data"]["note"] == "a\x01b\nc\td\x1f"


# --------------------------------------------------------------------------
# Teamgo: single-use tokens, re-signed retries
# --------------------------------------------------------------------------

TG_DATA = ('{"pass_id": "11249854", "full_name": "Bob Jones", '
           '"checkin_time": "2016-12-09T08:44:46+00"}')
TG_OTHER = ('{"pass_id": "66666666", "full_name": "Mallory", '
            '"checkin_time": "2016-12-09T08:44:46+00"}')


def test_teamgo_token_is_single_use(gw5, r):
    now = now_ms()
    ts = now // 1000 - 3
    first = G.tg_body("checkin", TG_DATA, now, token="a" * 32, ts=ts)
    e_first = H.process_vector(first)["events"]
    resp, window = post(gw5, first)
    assert_answer(resp, "accepted", [e_first[0]["id"]])
    check_published(r, e_first, window)

    # The same timestamp, token and signature (valid: it covers only those) with other data.
    replay = G.tg_body("checkin", TG_OTHER, now, token="a" * 32, ts=ts)
    assert json.loads(replay["body"])["signature"] == json.loads(first["body"])["signature"]
    e_replay = H.process_vector(replay)["events"]
    assert e_replay[0]["id"] != e_first[0]["id"]
    resp, _ = post(gw5, replay)
    assert_error(resp, 401, "unauthorized")
    assert len(read_stream(r, stream("teamgo"))) == 1
    assert r.get(stream("teamgo") + ":seen:" + e_replay[0]["id"]) is None

    # The identical delivery again is a duplicate, not a replay.
    resp, _ = post(gw5, first)
    assert_answer(resp, "duplicate", [e_first[0]["id"]])
    assert len(read_stream(r, stream("teamgo"))) == 1


def test_teamgo_resigned_retry_is_a_duplicate(gw5, r):
    now = now_ms()
    first = G.tg_body("checkin", TG_DATA, now, token="b" * 32, ts=now // 1000 - 30)
    retry = G.tg_body("checkin", TG_DATA.replace(", ", ",  "), now, token="c" * 32,
                      ts=now // 1000 - 2)  # new token and timestamp, same type and data
    e_first = H.process_vector(first)["events"]
    assert H.process_vector(retry)["events"][0]["id"] == e_first[0]["id"]
    resp, window = post(gw5, first)
    assert_answer(resp, "accepted", [e_first[0]["id"]])
    resp, _ = post(gw5, retry)
    assert_answer(resp, "duplicate", [e_first[0]["id"]])
    check_published(r, e_first, window)


# --------------------------------------------------------------------------
# Ombori: every auth mode
# --------------------------------------------------------------------------


def ombori_delivery(path, type_="positionCalled", pid="0001", headers=()):
    return G.omb(G.omb_small(type_, pid), now_ms(), route=path, headers=headers)


def test_ombori_path_token_is_never_logged(gw5, r):
    vector = ombori_delivery("/webhooks/ombori/" + G.OMB_TOKEN, pid="path-1")
    expect = H.process_vector(vector)
    resp, window = post(gw5, vector)
    assert_answer(resp, "accepted", [expect["events"][0]["id"]])
    env = check_published(r, expect["events"], window)[0]
    assert env["verification"] == "token" and "tenant" not in env
    assert G.OMB_TOKEN not in json.dumps(env)

    wrong = "omb-token-near-miss-5e1f0c9a7"
    resp, _ = post(gw5, ombori_delivery("/webhooks/ombori/" + wrong))
    assert_error(resp, 401, "unauthorized")
    assert wrong not in resp.body.decode("utf-8", "replace")
    log = gw5.log_text()
    assert G.OMB_TOKEN not in log, "the path token was logged"
    assert wrong not in log, "a presented (wrong) path token was logged"
    assert "/webhooks/ombori/*" in log, "paths with a token are logged with it replaced by *"


def test_ombori_header_token(gw5, r):
    vector = ombori_delivery("/webhooks/ombori", headers=[("X-Webhook-Token", G.OMB_TOKEN)])
    expect = H.process_vector(vector)
    resp, window = post(gw5, vector)
    assert_answer(resp, "accepted", [expect["events"][0]["id"]])
    check_published(r, expect["events"], window)
    resp, _ = post(gw5, ombori_delivery("/webhooks/ombori",
                                        headers=[("X-Webhook-Token", "omb-token-guess")]))
    assert_error(resp, 401, "unauthorized")
    assert len(read_stream(r, stream("ombori"))) == 1


def test_ombori_basic(gateways, r):
    gw = gateways(G.ombori_config(G.AUTH_BASIC))
    ok = ombori_delivery("/webhooks/ombori", headers=[("Authorization",
                                                       H.basic_auth(G.OMB_BASIC))])
    ok["config"] = G.ombori_config(G.AUTH_BASIC)
    expect = H.process_vector(ok)
    resp, window = post(gw, ok)
    assert_answer(resp, "accepted", [expect["events"][0]["id"]])
    assert check_published(r, expect["events"], window)[0]["verification"] == "basic"
    for auth in [H.basic_auth("queue-hook:wrong"), None, "Bearer " + G.OMB_TOKEN]:
        headers = [("Authorization", auth)] if auth else []
        resp, _ = post(gw, ombori_delivery("/webhooks/ombori", pid="x", headers=headers))
        assert_error(resp, 401, "unauthorized")
    assert len(read_stream(r, stream("ombori"))) == 1


def test_ombori_allow_ips_behind_a_trusted_proxy(gateways, r):
    """The test client is 127.0.0.1, a trusted proxy here: the client is the last
    untrusted address of X-Forwarded-For."""
    cfg = G.ombori_config({"allow_ips": ["203.0.113.0/24"]}, trusted_proxies=["127.0.0.1/32"])
    gw = gateways(cfg)
    vector = ombori_delivery("/webhooks/ombori", pid="xff-1",
                             headers=[("X-Forwarded-For", "198.51.100.1, 203.0.113.50")])
    vector["config"] = cfg
    expect = H.process_vector(vector)
    assert expect["http"] == 200
    resp, window = post(gw, vector)
    assert_answer(resp, "accepted", [expect["events"][0]["id"]])
    assert check_published(r, expect["events"], window)[0]["verification"] == "ip"

    for xff in ["198.51.100.7", "203.0.113.50, 198.51.100.7", None]:
        headers = [("X-Forwarded-For", xff)] if xff else []
        resp, _ = post(gw, ombori_delivery("/webhooks/ombori", pid="xff-2", headers=headers))
        assert_error(resp, 403, "forbidden")
    assert len(read_stream(r, stream("ombori"))) == 1


def test_ombori_forwarded_for_from_an_untrusted_peer_is_ignored(gateways, r):
    cfg = G.ombori_config({"allow_ips": ["203.0.113.0/24"]})  # no trusted_proxies
    gw = gateways(cfg)
    resp, _ = post(gw, ombori_delivery("/webhooks/ombori",
                                       headers=[("X-Forwarded-For", "203.0.113.50")]))
    assert_error(resp, 403, "forbidden")
    assert_nothing_published(r)


def test_ombori_token_and_ip_must_both_pass(gateways, r):
    cfg = G.ombori_config({"tokens": [G.OMB_TOKEN], "allow_ips": ["127.0.0.0/8"]})
    gw = gateways(cfg)
    vector = ombori_delivery("/webhooks/ombori/" + G.OMB_TOKEN, pid="both-1")
    vector["config"] = cfg
    expect = H.process_vector(vector)
    resp, window = post(gw, vector)
    assert_answer(resp, "accepted", [expect["events"][0]["id"]])
    assert check_published(r, expect["events"], window)[0]["verification"] == "token+ip"
    resp, _ = post(gw, ombori_delivery("/webhooks/ombori/omb-token-guess", pid="both-2"))
    assert_error(resp, 401, "unauthorized")

    cfg2 = G.ombori_config({"tokens": [G.OMB_TOKEN], "allow_ips": ["203.0.113.0/24"]})
    resp, _ = post(gateways(cfg2), ombori_delivery("/webhooks/ombori/" + G.OMB_TOKEN,
                                                   pid="both-3"))
    assert_error(resp, 403, "forbidden")
    assert len(read_stream(r, stream("ombori"))) == 1


# --------------------------------------------------------------------------
# Detection on POST /webhooks
# --------------------------------------------------------------------------


def detect_request(provider, now):
    if provider == "teamgo":
        return G.tg_seed(S.TEAMGO_CHECKOUT, now, route="/webhooks")
    if provider == "inline":
        return G.inl_seed("reservation-created", S.INLINE_RESERVATION_DATA, now, route="/webhooks")
    if provider == "ombori":
        return G.omb(S.OMBORI_FEEDBACK_RECEIVED, now, route="/webhooks",
                     headers=[("X-Webhook-Token", G.OMB_TOKEN)])
    if provider == "trutac":
        return G.tt_req(S.TRUTAC_CLOCKING, now, route="/webhooks")
    return G.ou_req(S.ONEUP_PUNCH_CREATE, now, route="/webhooks")


@pytest.mark.parametrize("provider", H.PROVIDERS)
def test_autodetect_each_provider(gw5, r, provider):
    vector = detect_request(provider, now_ms())
    expect = H.process_vector(vector)
    assert [e["provider"] for e in expect["events"]] == [provider]
    resp, window = post(gw5, vector)
    assert_answer(resp, "accepted", [expect["events"][0]["id"]])
    check_published(r, expect["events"], window)
    streams = sorted(k for k in published_keys(r) if r.type(k) == "stream")
    assert streams == [stream(provider)], streams


def test_ambiguous_headers_are_refused(gw5, r):
    vector = G.tt_req(S.TRUTAC_CLOCKING, now_ms(), route="/webhooks")
    vector["headers"].append(["X-ServiceHook-Event", "punch.create"])
    resp, _ = post(gw5, vector)
    assert_error(resp, 400, "ambiguous_provider")
    assert_nothing_published(r)


def test_ambiguous_shape_is_refused(gw5, r):
    vector = G.tg_body("positionCalled", '{"position": {"id": "pos-1"}}', now_ms(),
                       route="/webhooks", extra=[("organization", '"acme"')])
    resp, _ = post(gw5, vector)
    assert_error(resp, 400, "ambiguous_provider")
    assert_nothing_published(r)


@pytest.mark.parametrize("body", [b'{"a":1}', b"{}", b"[]"])
def test_unknown_provider_is_refused(gw5, r, body):
    resp = gw5.post("/webhooks", body, {"Content-Type": "application/json"})
    assert_error(resp, 400, "unknown_provider")
    assert_nothing_published(r)


# --------------------------------------------------------------------------
# Configuration: Ombori needs an explicit auth choice
# --------------------------------------------------------------------------


def check_config(tmp_path, redis_server, providers):
    gw = make_gateway(tmp_path, redis_server.url, {"providers": providers})
    gw.write_config()
    proc = subprocess.run([HOOKGATE_BIN, "--check-config", "-c", gw.config_path],
                          capture_output=True, timeout=20, env=gw.env, stdin=subprocess.DEVNULL)
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    assert not sanitizer_lines(err), err
    for s in G.ALL_SECRETS:
        assert s not in out and s not in err, "a secret was printed"
    return proc.returncode, out, err


@pytest.mark.parametrize("block", [{}, {"auth": {}}, {"enabled": True}],
                         ids=["empty", "empty-auth", "enabled-only"])
def test_check_config_refuses_ombori_without_auth(tmp_path, redis_server, block):
    code, out, err = check_config(tmp_path, redis_server,
                                  {"trutac": {"secrets": [G.TT_SECRET]}, "ombori": block})
    assert code != 0, (code, out, err)
    assert "providers.ombori" in out + err, (out, err)
    assert "configuration OK" not in out


def test_check_config_accepts_ombori_auth_none(tmp_path, redis_server):
    code, out, err = check_config(tmp_path, redis_server, {"ombori": {"auth": "none"}})
    assert (code, out.rstrip("\n")) == (0, "configuration OK"), (code, out, err)


def test_ombori_auth_none_warns_at_start(fresh_gateway, r):
    gw = fresh_gateway(G.config(ombori={"auth": "none"}))
    warnings = []
    for line in gw.log_text().splitlines():
        assert log_line_problem(line) is None, line
        obj = json.loads(line)
        if obj["level"] == "warn" and "ombori" in json.dumps(obj).lower():
            warnings.append(obj)
    assert warnings, "no warn line mentions ombori:\n" + gw.log_text()[-2000:]
    # and it does accept unauthenticated deliveries, verification "none"
    vector = G.omb(G.omb_small("positionCreated", "none-1"), now_ms(), route="/webhooks/ombori",
                   cfg=G.config(ombori={"auth": "none"}))
    expect = H.process_vector(vector)
    resp, window = post(gw, vector)
    assert_answer(resp, "accepted", [expect["events"][0]["id"]])
    assert check_published(r, expect["events"], window)[0]["verification"] == "none"
