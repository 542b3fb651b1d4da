"""docs/event-schema.json against what the real gateway publishes.

Two real gateways with all five providers enabled (different path prefixes,
stream layouts and Ombori auth methods) publish events of every provider into
a real redis-server: known and unknown event names, with and without tenant
and subject, event times with and without a fraction, inline batches. Every
entry of every stream is read back with XRANGE and its "event" field is
validated against the schema with jsonschema (python3-jsonschema). The schema
must also reject broken envelopes, so that a schema that accepts anything
fails here.

Requests are signed with `hookgate sign` (its raw output: request line,
headers, blank line, body) and, for TruTac and 1UPVISION, also with the
independent Python helpers of hookgate_testlib.
"""

import collections
import copy
import hashlib
import json
import os
import subprocess
import time

import pytest

from hookgate_testlib import (HOOKGATE_BIN, ONEUP_SECRET, ONEUP_SEED, ONEUP_UUID, TRUTAC_SEED,
                              TT_SECRET_NEW, TT_TENANT, TT_TENANT_SECRET, Gateway, oneup_headers,
                              sanitizer_env, sanitizer_lines, trutac_headers)

try:
    import jsonschema
    from jsonschema import Draft202012Validator
    JSONSCHEMA_ERROR = None
except ImportError as e:  # reported as a failure by every test, never a skip
    jsonschema = Draft202012Validator = None
    JSONSCHEMA_ERROR = e

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SCHEMA_PATH = os.path.join(ROOT, "docs", "event-schema.json")
CONSUMING_MD = os.path.join(ROOT, "docs", "consuming.md")

PROVIDERS = ("teamgo", "inline", "ombori", "trutac", "oneupvision")

TEAMGO_KEY = "teamgo-key-schema-3c1f9a"
TEAMGO_TENANT = "site-b"
TEAMGO_TENANT_KEY = "teamgo-tenant-key-81d2e0"
INLINE_SECRET = "inline-secret-schema-5e7b20"
OMBORI_TOKEN = "ombori-token-schema-9f04c6d2"
OMBORI_BASIC = "ombori-user:ombori-pass-4a8e1b"
SCHEMA_SECRETS = [TEAMGO_KEY, TEAMGO_TENANT_KEY, INLINE_SECRET, OMBORI_TOKEN, OMBORI_BASIC]


def require_jsonschema():
    if JSONSCHEMA_ERROR is not None:
        pytest.fail("python3-jsonschema is required to validate docs/event-schema.json but "
                    "cannot be imported (%s); install it: apt-get install -y python3-jsonschema"
                    % JSONSCHEMA_ERROR, pytrace=False)


@pytest.fixture(scope="module")
def schema():
    require_jsonschema()
    with open(SCHEMA_PATH) as f:
        doc = json.load(f)
    return doc


@pytest.fixture(scope="module")
def validator(schema):
    return Draft202012Validator(schema)


def errors_of(validator, envelope):
    return sorted(e.message for e in validator.iter_errors(envelope))


# --------------------------------------------------------------------------
# `hookgate sign`
# --------------------------------------------------------------------------


def hookgate_sign(provider, body, secret, *args):
    """Runs `hookgate sign PROVIDER --secret S ARGS < body`; returns (path, headers, body)."""
    env = dict(os.environ)
    env.update(sanitizer_env())
    proc = subprocess.run([HOOKGATE_BIN, "sign", provider, "--secret", secret] + list(args),
                          input=body, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=env, timeout=30)
    err = proc.stderr.decode("utf-8", "replace")
    assert not sanitizer_lines(err), err
    assert proc.returncode == 0, "hookgate sign %s failed (%d): %s" % (provider,
                                                                      proc.returncode, err)
    return parse_signed(proc.stdout)


def parse_signed(out):
    head, sep, rest = out.partition(b"\n\n")
    assert sep, "no blank line after the headers in %r" % out[:300]
    lines = head.decode().split("\n")
    method, path, version = lines[0].split(" ")
    assert method == "POST" and version == "HTTP/1.1", lines[0]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(": ")
        headers[name] = value
    length = int(headers.pop("Content-Length"))
    assert rest[length:] == b"\n", "unexpected bytes after the body: %r" % rest[length:][:100]
    return path, headers, rest[:length]


def post_ok(gw, path, headers, body, status="accepted"):
    resp = gw.post(path, body, headers)
    assert resp.status == 200, "%s: %r" % (path, resp)
    doc = resp.json()
    assert doc["status"] == status, (path, doc)
    return doc["ids"]


# --------------------------------------------------------------------------
# Gateways
# --------------------------------------------------------------------------


def five_provider_gateway(workdir, redis_url, overrides):
    gw = Gateway(workdir, redis_url, overrides=overrides)
    gw.secrets = gw.secrets + SCHEMA_SECRETS
    return gw


@pytest.fixture
def gateways(tmp_path, redis_server, r):
    """Two gateways with all five providers, on the (flushed) session redis:
    A: /webhooks, one stream per provider, Ombori by path or header token;
    B: /hooks/in, a single stream, key prefix "hgb", Ombori by Basic + address."""
    a = five_provider_gateway(tmp_path / "a", redis_server.url, {
        "providers": {
            "teamgo": {"secrets": [TEAMGO_KEY],
                       "tenants": {TEAMGO_TENANT: {"secrets": [TEAMGO_TENANT_KEY]}}},
            "inline": {"secrets": [INLINE_SECRET]},
            "ombori": {"auth": {"tokens": [OMBORI_TOKEN], "token_header": "X-Webhook-Token"}},
        }})
    b = five_provider_gateway(tmp_path / "b", redis_server.url, {
        "path_prefix": "/hooks/in",
        "redis": {"prefix": "hgb", "stream_by": "single"},
        "providers": {
            "teamgo": {"secrets": [TEAMGO_KEY]},
            "inline": {"secrets": [INLINE_SECRET]},
            "ombori": {"auth": {"basic": [OMBORI_BASIC], "allow_ips": ["127.0.0.1/32"]}},
        }})
    started = []
    try:
        for gw in (a, b):
            gw.start()
            started.append(gw)
        yield a, b
    finally:
        for gw in started:
            gw.stop()
    for gw in started:
        gw.check_stopped_cleanly()


# --------------------------------------------------------------------------
# Traffic: every provider, several shapes each
# --------------------------------------------------------------------------


def js(obj):
    return json.dumps(obj).encode()


def send_traffic(gw, prefix="/webhooks", ombori_mode="token"):
    """Publishes events of all five providers; returns [(event id, provider)]."""
    ids = []

    def signed(provider, body, secret, *args):
        path, headers, payload = hookgate_sign(provider, body, secret, *args)
        assert path.startswith("/webhooks")
        path = prefix + path[len("/webhooks"):]
        for eid in post_ok(gw, path, headers, payload):
            ids.append((eid, provider))

    def raw(provider, path, body, headers, status="accepted"):
        for eid in post_ok(gw, prefix + path, headers, body, status):
            ids.append((eid, provider))

    # Teamgo: mapped types with their time fields ("+00" offsets, a fraction),
    # an import without a time field, a type the gateway does not know, the
    # host_email subject, no subject, a tenant route.
    signed("teamgo", js({"checkin_time": "2016-12-09 09:02:11+00", "pass_id": 11249854,
                         "name": "Ann"}), TEAMGO_KEY, "--event", "checkin")
    signed("teamgo", js({"checkout_time": "2016-12-09 17:30:00.250+00", "pass_id": "P-2"}),
           TEAMGO_KEY, "--event", "checkout")
    signed("teamgo", js({"host_email": "host@example.com", "request_time":
                         "2016-12-09T10:00:00+01:00"}), TEAMGO_KEY, "--event", "rq_assistance")
    signed("teamgo", js({"request_time": "2016-12-09 11:00:00+00", "carrier": "DHL"}),
           TEAMGO_KEY, "--event", "courier")
    signed("teamgo", js({"rows": 12}), TEAMGO_KEY, "--event", "import_success")
    signed("teamgo", js({"error": "bad file", "import_time": "2016-12-09 12:00:00+00"}),
           TEAMGO_KEY, "--event", "import_failed")
    signed("teamgo", js({"badge": "B-7"}), TEAMGO_KEY, "--event", "badge_printed")
    if prefix == "/webhooks":
        signed("teamgo", js({"checkin_time": "2016-12-10 08:00:00+00", "pass_id": 42}),
               TEAMGO_TENANT_KEY, "--event", "checkin", "--tenant", TEAMGO_TENANT)

    # inline: one batch of several events (mapped, unknown, without data,
    # with a whole-second and a fractional timestamp), then single events.
    signed("inline", js({"events": [
        {"type": "reservation-created", "data": {"id": "R-1", "pax": 4},
         "timestamp": 1700000000000},
        {"type": "voucher-used", "data": {"id": 77, "amount": 1.50}},
        {"type": "table-merged", "data": {"tables": [1, 2]}},
        {"type": "order-pickedup"},
    ]}), INLINE_SECRET)
    for t in ("reservation-canceled", "reservation-time-changed", "order-cancelled"):
        signed("inline", js({"type": t, "data": {"id": "X-" + t}}), INLINE_SECRET)

    # Ombori: documented types, an unknown one, a position without an id.
    omb_args = {"token": [], "basic": ["--basic"]}[ombori_mode]
    omb_secret = {"token": OMBORI_TOKEN, "basic": OMBORI_BASIC}[ombori_mode]
    for t, pos in (("positionCalled", {"id": "pos-1"}), ("bookingConfirmation", {"id": 9}),
                   ("feedbackReceived", {"id": "pos-3", "rating": 5}),
                   ("positionParked", {"id": "pos-4"}), ("positionCreated", {"queue": "q1"})):
        signed("ombori", js({"type": t, "organization": "org-1", "data": {"position": pos}}),
               omb_secret, *omb_args)
    if ombori_mode == "token":
        body = js({"type": "positionCompleted", "organization": "org-1",
                   "data": {"position": {"id": "pos-5"}}})
        raw("ombori", "", body, {"Content-Type": "application/json",
                                 "X-Webhook-Token": OMBORI_TOKEN})

    # TruTac: every clocking action, an unknown action, another event name,
    # a tenant route, a ping (answered, not published).
    for action in ("created", "updated", "deleted", "archived"):
        body = js({"action": action, "clocking": {"id": "CLK-" + action, "isClockIn": True}})
        raw("trutac", "/trutac", body, trutac_headers(body))
    body = js({"vehicle": {"id": 5, "reg": "AB12CDE"}})
    signed("trutac", body, TT_SECRET_NEW)  # the event name comes from the body
    body = js({"action": "created", "clocking": {"driverId": "D-1"}})
    if prefix == "/webhooks":
        raw("trutac", "/trutac/" + TT_TENANT, body,
            trutac_headers(body, secret=TT_TENANT_SECRET))
    else:
        raw("trutac", "", body, trutac_headers(body))
    ping = js({"hook": {"id": 1}})
    assert gw.post(prefix + "/trutac", ping, trutac_headers(ping, event="ping")).json() == \
        {"status": "ping", "ids": []}

    # 1UPVISION: mapped events, a bulk variant, an unknown event, a timestamp
    # with a fraction; the tenant is the UUID.
    for event, obj in (("punch.create", "punch"), ("people.bulk_create", "people"),
                       ("visit.checkin", "visit"), ("device.offline", "device")):
        body = js({obj: {"id": event, "organization_id": 1}})
        signed("oneupvision", body, ONEUP_SECRET, "--event", event,
               "--tenant", ONEUP_UUID)
    body = js({"attendance": {"id": 3}})
    now = time.time()
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".250Z"
    raw("oneupvision", "/oneupvision", body,
        oneup_headers(body, event="attendance.update", timestamp=ts))
    body = js({"list": [1, 2, 3]})  # no object with an id: no subject
    raw("oneupvision", "", body, oneup_headers(body, event="people.bulk_delete"))
    return ids


def all_entries(r):
    """(stream, entry id, fields) of every entry of every stream but the rejected one."""
    out = []
    for key in sorted(r.scan_iter(_type="stream")):
        if key.endswith(":{rejected}"):
            continue
        for entry_id, fields in r.xrange(key, "-", "+"):
            out.append((key, entry_id, fields))
    return out


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------


def test_schema_is_valid_draft_2020_12(schema):
    assert schema.get("$schema") == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]["provider"]["enum"]) == set(PROVIDERS)


def test_every_published_event_validates(gateways, r, validator):
    a, b = gateways
    sent = send_traffic(a)
    sent += send_traffic(b, prefix="/hooks/in", ombori_mode="basic")

    entries = all_entries(r)
    streams = {key for key, _, _ in entries}
    assert {"webhooks:{%s}" % p for p in PROVIDERS} <= streams, sorted(streams)
    assert "hgb:{all}" in streams, sorted(streams)

    seen = []
    problems = []
    categories, verifications, with_tenant, without_subject = set(), set(), set(), set()
    for key, entry_id, fields in entries:
        assert set(fields) == {"id", "type", "category", "provider", "event"}, (key, fields)
        env = json.loads(fields["event"])
        errs = errors_of(validator, env)
        if errs:
            problems.append("%s %s (%s): %s" % (key, entry_id, env.get("type"), "; ".join(errs)))
        for f in ("id", "type", "category", "provider"):
            assert fields[f] == env.get(f), (key, f, fields[f], env.get(f))
        seen.append((env["id"], env["provider"]))
        categories.add(env["category"])
        verifications.add((env["provider"], env["verification"]))
        if "tenant" in env:
            with_tenant.add(env["provider"])
        if "subject" not in env:
            without_subject.add(env["provider"])
    assert not problems, "published envelopes that do not validate against %s:\n%s" % (
        SCHEMA_PATH, "\n".join(problems))

    # Everything answered "accepted" is there, and nothing else.
    assert collections.Counter(seen) == collections.Counter(sent), \
        "stream contents differ from the accepted ids"
    assert {p for _, p in seen} == set(PROVIDERS)
    assert len(entries) == len(sent) >= 60, len(entries)
    # The traffic did cover what the conditional rules are about.
    assert {"other", "visitor.checked_in", "queue.called", "attendance.punch_deleted",
            "person.created", "reservation.created", "order.picked_up",
            "attendance.day_updated"} <= categories, sorted(categories)
    assert ("ombori", "token") in verifications and ("ombori", "basic+ip") in verifications, \
        verifications
    assert {"teamgo", "trutac", "oneupvision"} <= with_tenant, with_tenant
    assert {"teamgo", "inline", "ombori", "oneupvision"} <= without_subject, without_subject


def test_trutac_and_oneup_seed_envelopes_validate(gateways, r, validator):
    """The seed bodies from hookgate_testlib, signed by the independent helpers."""
    a, _ = gateways
    post_ok(a, "/webhooks/trutac", trutac_headers(TRUTAC_SEED), TRUTAC_SEED)
    post_ok(a, "/webhooks", oneup_headers(ONEUP_SEED), ONEUP_SEED)
    entries = all_entries(r)
    assert len(entries) == 2, entries
    for key, entry_id, fields in entries:
        assert errors_of(validator, json.loads(fields["event"])) == [], key


# A valid envelope (as hookgate writes it), and ways of breaking it.

BASE = {
    "specversion": "1.0",
    "id": "trutac:" + hashlib.sha256(b"x").hexdigest(),
    "source": "/webhooks/trutac",
    "type": "trutac.clocking",
    "category": "attendance.punched",
    "provider": "trutac",
    "tenant": "fleet-a",
    "subject": "CLOCKING-ID-123",
    "time": "2026-01-02T03:04:05.678Z",
    "receivedat": "2026-01-02T03:04:05.678Z",
    "verification": "hmac-sha1",
    "datacontenttype": "application/json",
    "data": {"action": "created", "clocking": {"id": "CLOCKING-ID-123"}},
}


def without(key):
    def f(env):
        del env[key]
    return f


def setting(**kv):
    def f(env):
        env.update(kv)
    return f


BROKEN = {
    "missing id": without("id"),
    "missing data": without("data"),
    "missing time": without("time"),
    "missing receivedat": without("receivedat"),
    "unknown provider": setting(provider="github"),
    "provider differs from id": setting(provider="oneupvision", verification="hmac-sha256",
                                        type="oneupvision.punch.create",
                                        source="/webhooks/oneupvision"),
    "type of another provider": setting(type="teamgo.clocking"),
    "source of another provider": setting(source="/webhooks/teamgo"),
    "source without a prefix": setting(source="trutac"),
    "extra property": setting(extra="x"),
    "specversion 1.1": setting(specversion="1.1"),
    "id with uppercase hex": setting(id="trutac:" + "A" * 64),
    "id too short": setting(id="trutac:" + "a" * 63),
    "verification of another provider": setting(verification="hmac-sha256"),
    "verification not known": setting(verification="sha512"),
    "category not known": setting(category="attendance.whatever"),
    "category of another event": setting(category="queue.called"),
    "time with an offset": setting(time="2026-01-02T04:04:05+01:00"),
    "time with microseconds": setting(time="2026-01-02T03:04:05.678123Z"),
    "receivedat without milliseconds": setting(receivedat="2026-01-02T03:04:05Z"),
    "time not a string": setting(time=1767323045),
    "datacontenttype text": setting(datacontenttype="text/plain"),
    "empty tenant": setting(tenant=""),
    "tenant with a slash": setting(tenant="a/b"),
    "data not an object": setting(data=[1, 2]),
    "subject a number": setting(subject=123),
}


def test_base_envelope_is_valid(validator):
    assert errors_of(validator, BASE) == []


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_schema_rejects_broken_envelope(validator, name):
    env = copy.deepcopy(BASE)
    BROKEN[name](env)
    assert errors_of(validator, env), "the schema accepts a broken envelope (%s): %r" % (name, env)


def test_provider_specific_rules(validator):
    ombori = dict(BASE, id="ombori:" + "0" * 64, source="/webhooks/ombori",
                  type="ombori.positionCalled", category="queue.called", provider="ombori",
                  verification="token+ip",
                  data={"type": "positionCalled", "organization": "o",
                        "data": {"position": {"id": 1}}})
    del ombori["tenant"]
    assert errors_of(validator, ombori) == []
    assert errors_of(validator, dict(ombori, tenant="t1")), "Ombori never has a tenant"
    assert errors_of(validator, dict(ombori, verification="hmac-sha1"))
    assert errors_of(validator, dict(ombori, verification="ip+token")), "order is token+basic+ip"
    assert errors_of(validator, dict(ombori, type="ombori.positionParked")), \
        "an unknown Ombori type has category other"
    assert errors_of(validator, dict(ombori, type="ombori.positionParked",
                                     category="other")) == []

    inline = dict(BASE, id="inline:" + "1" * 64, source="/hooks/in/inline",
                  type="inline.order-pickedup", category="order.picked_up", provider="inline",
                  verification="hmac-sha1", data=None)
    assert errors_of(validator, inline) == [], "inline data may be null"
    assert errors_of(validator, dict(inline, category="order.cancelled"))

    one = dict(BASE, id="oneupvision:" + "2" * 64, source="/webhooks/oneupvision",
               type="oneupvision.people.bulk_delete", category="person.deleted",
               provider="oneupvision", verification="hmac-sha256",
               tenant="1dc54786-9d69-487a-8c17-407ff20d0bdc", data={"people": []},
               time="2026-01-02T03:04:05Z")
    assert errors_of(validator, one) == []
    assert errors_of(validator, dict(one, category="person.created"))

    trutac_other = dict(BASE, type="trutac.vehicle", category="other")
    assert errors_of(validator, trutac_other) == []
    assert errors_of(validator, dict(trutac_other, category="attendance.punched"))
    assert errors_of(validator, dict(BASE, category="other")) == [], \
        "a clocking with an unknown action is other"


def test_consuming_md_lists_every_category(schema):
    """docs/consuming.md's category table names every category the schema allows."""
    with open(CONSUMING_MD) as f:
        text = f.read()
    missing = [c for c in schema["properties"]["category"]["enum"] if "`%s`" % c not in text]
    assert not missing, "categories not documented in docs/consuming.md: %r" % missing
