#!/usr/bin/python3
"""Writes hookgate's test vectors: tests/vectors/<dir>/<NNN-name>.json.

    /usr/bin/python3 tests/vectors/generate.py            (re)write every file
    /usr/bin/python3 tests/vectors/generate.py --check    exit 1 if a file would change

Each vector below declares the outcome it is written for (accepted, ping, or an
error code), and for accepted ones a few hand-written facts (category, time,
subject, ...). The expected envelopes are computed by hgvectors.process(), an
independent model of the contract; generation stops when the model disagrees with
what the vector declares, so every file is checked twice before it is written.

Everything is deterministic: a fixed clock (NOW_MS), fixed secrets and tokens, and
files written in a fixed order and format. `make` does not run this; the files are
committed. The integration tests call build_all(now_ms) to get the same requests
signed for the current time.
"""

import base64
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import hgseeds as S  # noqa: E402
import hgvectors as H  # noqa: E402

NOW_MS = 1795330000000  # 2026-11-22T06:46:40.000Z

# --------------------------------------------------------------------------
# Secrets (literal: these files are test fixtures) and configurations
# --------------------------------------------------------------------------

TG_KEY = "tg-api-key-7c21e9d4"
TG_KEY_NEW = "tg-api-key-rotated-50af"
TG_ACME = "tg-acme-key-3e8b11"
INL_SECRET = "inline-secret-91f3a0"
INL_SECRET_NEW = "inline-secret-rotated-2d7c"
OMB_TOKEN = "omb-token-5e1f0c9a7b"
OMB_TOKEN_NEW = "omb-token-rotated-884d"
OMB_BASIC = "queue-hook:s3cr3t-pw-71"
OMB_BASIC_NEW = "queue-hook-2:n3w-pw-08"
TT_SECRET = "tt-secret-a1b2c3"
TT_SECRET_NEW = "tt-secret-rotated-d4e5"
TT_FLEET = "tt-fleet-a-secret-77"
OU_UUID = S.ONEUP_SEED_UUID
OU_SECRET = "oneup-secret-a-6f0e"
OU_SECRET_NEW = "oneup-secret-b-19cd"
WRONG = "not-the-secret-0000"

ALL_SECRETS = [TG_KEY, TG_KEY_NEW, TG_ACME, INL_SECRET, INL_SECRET_NEW, OMB_TOKEN, OMB_TOKEN_NEW,
               OMB_BASIC, OMB_BASIC_NEW, TT_SECRET, TT_SECRET_NEW, TT_FLEET, OU_SECRET,
               OU_SECRET_NEW]

P_TEAMGO = {"secrets": [TG_KEY, TG_KEY_NEW], "tenants": {"acme": {"secrets": [TG_ACME]}}}
P_INLINE = {"secrets": [INL_SECRET, INL_SECRET_NEW]}
P_OMBORI = {"auth": {"tokens": [OMB_TOKEN, OMB_TOKEN_NEW], "token_header": "X-Webhook-Token"}}
P_TRUTAC = {"secrets": [TT_SECRET, TT_SECRET_NEW], "tenants": {"fleet-a": {"secrets": [TT_FLEET]}}}
P_ONEUP = {"tenants": {OU_UUID: {"secrets": [OU_SECRET, OU_SECRET_NEW]}}}


def config(**over):
    """All five providers; keyword arguments replace a provider's block (None drops it)
    or set a top-level key (timestamp_tolerance, trusted_proxies)."""
    providers = {"teamgo": P_TEAMGO, "inline": P_INLINE, "ombori": P_OMBORI,
                 "trutac": P_TRUTAC, "oneupvision": P_ONEUP}
    top = {}
    for k, v in over.items():
        if k in providers:
            if v is None:
                del providers[k]
            else:
                providers[k] = v
        else:
            top[k] = v
    out = dict(top)
    out["providers"] = json.loads(json.dumps(providers))
    return out


def ombori_config(auth, **top):
    return config(ombori={"auth": auth}, **top)


CT = ["Content-Type", "application/json"]

# --------------------------------------------------------------------------
# Request builders
# --------------------------------------------------------------------------


def now_s(now):
    return now // 1000


def req(route, headers, body, *, cfg=None, client="127.0.0.1", now=None):
    return {"config": cfg if cfg is not None else config(), "route": route,
            "client_addr": client, "now_ms": now, "headers": [list(h) for h in headers],
            "body": body}


# -- teamgo ----------------------------------------------------------------

TG_TOKEN = "8f14e45fceea167a5a36dedd4bea2543"


def tg_seed(text, now, *, secret=TG_KEY, ts=None, numeric=False, token=S.TEAMGO_SEED_TOKEN,
            upper=False, after=(), before=(), route="/webhooks/teamgo", cfg=None, client=None):
    """A documented Teamgo example with a fresh timestamp and a signature under `secret`.
    `before`: (old, new) text replacements made before signing, `after`: after signing."""
    ts_text = str(now_s(now) - 7 if ts is None else ts)
    body = text
    for a, b in before:
        assert a in body, a
        body = body.replace(a, b, 1)
    old = '"timestamp": "%s"' % S.TEAMGO_SEED_TIMESTAMP
    assert old in body
    body = body.replace(old, '"timestamp": ' + (ts_text if numeric else json.dumps(ts_text)))
    sig = H.sign_teamgo(secret, ts_text, token)
    body = body.replace(S.TEAMGO_SEED_SIGNATURE, sig.upper() if upper else sig)
    for a, b in after:
        assert a in body, a
        body = body.replace(a, b, 1)
    return req(route, [CT], body, cfg=cfg, now=now, client=client or "127.0.0.1")


def tg_body(type_, data, now, *, secret=TG_KEY, ts=None, numeric=False, token=TG_TOKEN,
            sig=None, upper=False, drop=(), route="/webhooks/teamgo", cfg=None, extra=(),
            headers=()):
    """A Teamgo delivery built from `data` (raw JSON text)."""
    ts_text = str(now_s(now) - 7 if ts is None else ts)
    if sig is None:
        sig = H.sign_teamgo(secret, ts_text, token)
    if upper:
        sig = sig.upper()
    members = [("type", json.dumps(type_)),
               ("timestamp", ts_text if numeric else json.dumps(ts_text)),
               ("token", json.dumps(token)), ("signature", json.dumps(sig)), ("data", data)]
    members += list(extra)
    body = "{" + ", ".join('"%s": %s' % (k, v) for k, v in members if k not in drop) + "}"
    return req(route, [CT] + list(headers), body, cfg=cfg, now=now)


# -- inline ----------------------------------------------------------------


def compact(text):
    """JSON.stringify of a JSON text in wire order (what inline's servers send)."""
    return H.canonical(H.parse(text), "none")


def inl_event(type_, data, ts=None, data_first=False):
    """One event: {"type","data","timestamp"} as documented; data is JSON text or None."""
    parts = ['"type":' + json.dumps(type_)]
    if data is not None:
        parts.append('"data":' + data)
    if ts is not None:
        parts.append('"timestamp":%d' % ts)
    if data_first:
        parts = parts[1:] + parts[:1]
    return "{" + ",".join(parts) + "}"


def inl_body(events, ts):
    return '{"timestamp":%d,"events":[%s]}' % (ts, ",".join(events))


def signed_forms(body):
    """The three texts inline's signature may cover: deep-sorted, top-sorted, raw."""
    parsed = H.parse(body)
    return {"deep": H.canonical_bytes(parsed, "deep"), "top": H.canonical_bytes(parsed, "top"),
            "raw": body.encode("utf-8")}


def inl_req(body, now, *, secret=INL_SECRET, form="deep", upper=False, prefix="sha1=",
            sig=True, route="/webhooks/inline", cfg=None, after=(), headers=(), only=False):
    """only: the body is such that no other form gives the same text, so the vector
    passes only if the gateway computes `form` exactly."""
    hdrs = [CT]
    if only:
        forms = signed_forms(body)
        assert all(forms[f] != forms[form] for f in forms if f != form), form
    if sig:
        s = H.sign_inline(secret, body, form)[5:]
        hdrs.append(["X-Hub-Signature", prefix + (s.upper() if upper else s)])
    for a, b in after:
        assert a in body, a
        body = body.replace(a, b, 1)
    return req(route, hdrs + list(headers), body, cfg=cfg, now=now)


def inl_seed(type_, data_text, now, **kw):
    body = inl_body([inl_event(type_, compact(data_text), now - 2345)], now - 1000)
    return inl_req(body, now, **kw)


# -- ombori ----------------------------------------------------------------


def omb(body, now, *, route="/webhooks/ombori/" + OMB_TOKEN, headers=(), cfg=None,
        client="127.0.0.1"):
    return req(route, [CT] + [list(h) for h in headers], body, cfg=cfg, client=client, now=now)


OMB_SMALL = ('{"message":null,"data":{"position":{"id":"pos-%s","queue":"q-1","status":"%s"}},'
             '"type":"%s","organization":"acme-stores"}')


def omb_small(type_, pid="0001", status="waiting"):
    return OMB_SMALL % (pid, status, type_)


# -- trutac ----------------------------------------------------------------


def tt_req(body, now, *, secret=TT_SECRET, event="clocking", upper=False, prefix="sha1=",
           sig=True, route="/webhooks/trutac", cfg=None, after=(), headers=()):
    hdrs = [CT]
    if event is not None:
        hdrs.append(["TT-Hook-Event", event])
    if sig:
        s = H.sign_trutac(secret, body)[5:]
        hdrs.append(["TT-Hook-Signature", prefix + (s.upper() if upper else s)])
    for a, b in after:
        assert a in body, a
        body = body.replace(a, b, 1)
    return req(route, hdrs + list(headers), body, cfg=cfg, now=now)


# -- oneupvision -----------------------------------------------------------


def ou_req(body, now, *, secret=OU_SECRET, event="punch.create", uuid=OU_UUID, ts=None,
           upper=False, sig=True, route="/webhooks/oneupvision", cfg=None, after=()):
    """ts: seconds relative to now (int), or a literal header value (str)."""
    if ts is None:
        ts = -5
    stamp = H.iso_seconds(now_s(now) + ts) if isinstance(ts, int) else ts
    hdrs = [CT, ["X-ServiceHook-Event", event], ["X-ServiceHook-Timestamp", stamp]]
    if uuid is not None:
        hdrs.append(["X-ServiceHook-UUID", uuid])
    if sig:
        s = H.sign_oneup(secret, body)
        hdrs.append(["X-ServiceHook-Signature", s.upper() if upper else s])
    for a, b in after:
        assert a in body, a
        body = body.replace(a, b, 1)
    return req(route, hdrs, body, cfg=cfg, now=now)


# --------------------------------------------------------------------------
# The catalogue
# --------------------------------------------------------------------------


class Vec:
    def __init__(self, dir_, name, description, build, want, checks=None, resend=True):
        self.dir = dir_
        self.name = name
        self.description = description
        self.build = build
        self.want = want          # "accepted", "ping" or an error code
        self.checks = checks      # accepted: list of dicts, one per expected event
        self.resend = resend      # may be re-signed with the real clock and sent again


CATALOGUE = []


def vec(dir_, name, description, want, checks=None, resend=True):
    def deco(fn):
        CATALOGUE.append(Vec(dir_, name, description, fn, want, checks, resend))
        return fn
    return deco


def ok(*checks):
    return list(checks)


T_RECV = "<receivedat>"  # a check value: time equals the receive time

# ===================== teamgo =====================

TG_CHECKOUT_FACTS = {"type": "teamgo.checkout", "category": "visitor.checked_out",
                     "subject": "11249854", "time": "2016-12-09T09:02:11Z",
                     "verification": "hmac-sha256"}


@vec("teamgo", "seed-checkout", "Teamgo's documented checkout example (tabs and all), fresh "
     "timestamp, signed with the API key; time is data.checkout_time with +00 normalised",
     "accepted", ok(TG_CHECKOUT_FACTS))
def _(now):
    return tg_seed(S.TEAMGO_CHECKOUT, now)


@vec("teamgo", "seed-checkin", "the documented example with type checkin: time is "
     "data.checkin_time", "accepted",
     ok({"type": "teamgo.checkin", "category": "visitor.checked_in",
         "time": "2016-12-09T08:44:46Z", "subject": "11249854"}))
def _(now):
    return tg_seed(S.TEAMGO_CHECKOUT, now, before=[('"type": "checkout"', '"type": "checkin"')])


@vec("teamgo", "seed-rq-assistance", "documented request-assistance example (corrected): "
     "time is request_time, no pass_id or host_email so no subject", "accepted",
     ok({"category": "visitor.assistance_requested", "time": "2016-12-09T08:44:46Z",
         "subject": None}))
def _(now):
    return tg_seed(S.TEAMGO_RQ_ASSISTANCE, now)


@vec("teamgo", "seed-courier", "documented delivery example (corrected): subject is "
     "data.host_email, time is request_time", "accepted",
     ok({"category": "delivery.arrived", "subject": "david.lee@company.co",
         "time": "2016-12-09T08:44:46Z"}))
def _(now):
    return tg_seed(S.TEAMGO_COURIER, now)


@vec("teamgo", "seed-import-success", "documented import example (corrected): time is "
     "import_time", "accepted",
     ok({"category": "import.succeeded", "time": "2016-12-09T08:44:46Z", "subject": None}))
def _(now):
    return tg_seed(S.TEAMGO_IMPORT_SUCCESS, now)


@vec("teamgo", "import-failed", "an import_failed delivery in the documented shape",
     "accepted", ok({"type": "teamgo.import_failed", "category": "import.failed",
                     "time": "2016-12-09T08:45:02Z"}))
def _(now):
    return tg_body("import_failed", '{"message": "Your import failed: row 3 has no email.", '
                   '"import_time": "2016-12-09T08:45:02+00"}', now)


@vec("teamgo", "detected-on-webhooks", "the checkout example on POST /webhooks: detected by "
     "its shape (token, 64-hex signature, timestamp, type, data)", "accepted",
     ok(TG_CHECKOUT_FACTS))
def _(now):
    return tg_seed(S.TEAMGO_CHECKOUT, now, route="/webhooks")


@vec("teamgo", "rotated-key", "signed with the second configured API key (rotation)",
     "accepted", ok(TG_CHECKOUT_FACTS))
def _(now):
    return tg_seed(S.TEAMGO_CHECKOUT, now, secret=TG_KEY_NEW)


@vec("teamgo", "wrong-key", "signed with a key that is not configured", "unauthorized")
def _(now):
    return tg_seed(S.TEAMGO_CHECKOUT, now, secret=WRONG)


@vec("teamgo", "tampered-token", "the token was changed after signing", "unauthorized")
def _(now):
    return tg_seed(S.TEAMGO_CHECKOUT, now,
                   after=[(S.TEAMGO_SEED_TOKEN, "e368b024b8b6427263a41e7a36f0f44e")])


@vec("teamgo", "tampered-timestamp", "the timestamp was moved one second after signing",
     "unauthorized")
def _(now):
    ts = now_s(now) - 7
    return tg_seed(S.TEAMGO_CHECKOUT, now, ts=ts,
                   after=[('"timestamp": "%d"' % ts, '"timestamp": "%d"' % (ts + 1))])


@vec("teamgo", "data-not-signed", "data changed after signing is still accepted: Teamgo's "
     "signature covers only timestamp and token (hence single-use tokens; see the "
     "integration tests)", "accepted",
     ok({"subject": "11249855", "category": "visitor.checked_out"}))
def _(now):
    return tg_seed(S.TEAMGO_CHECKOUT, now,
                   after=[('"pass_id": "11249854"', '"pass_id": "11249855"')])


@vec("teamgo", "uppercase-hex", "the signature in uppercase hex", "accepted",
     ok(TG_CHECKOUT_FACTS))
def _(now):
    return tg_seed(S.TEAMGO_CHECKOUT, now, upper=True)


@vec("teamgo", "missing-signature", "no signature member, posted to /webhooks/teamgo",
     "unauthorized")
def _(now):
    return tg_body("checkout", '{"pass_id": "11249854"}', now, drop=("signature",))


@vec("teamgo", "missing-signature-detect", "no signature member on /webhooks: not Teamgo's "
     "shape, and no other provider's", "unknown_provider")
def _(now):
    return tg_body("checkout", '{"pass_id": "11249854"}', now, drop=("signature",),
                   route="/webhooks")


@vec("teamgo", "past-edge-inside", "timestamp exactly 300 s old (tolerance is inclusive)",
     "accepted", ok({"category": "visitor.checked_out"}), resend=False)
def _(now):
    return tg_seed(S.TEAMGO_CHECKOUT, now, ts=now_s(now) - 300)


@vec("teamgo", "past-edge-outside", "timestamp 301 s old", "stale_timestamp")
def _(now):
    return tg_seed(S.TEAMGO_CHECKOUT, now, ts=now_s(now) - 301)


@vec("teamgo", "future-edge-inside", "timestamp 300 s ahead", "accepted",
     ok({"category": "visitor.checked_out"}), resend=False)
def _(now):
    return tg_seed(S.TEAMGO_CHECKOUT, now, ts=now_s(now) + 300)


@vec("teamgo", "future-edge-outside", "timestamp 301 s ahead", "stale_timestamp",
     resend=False)
def _(now):
    return tg_seed(S.TEAMGO_CHECKOUT, now, ts=now_s(now) + 301)


@vec("teamgo", "tolerance-from-config", "timestamp_tolerance 60: a 61 s old timestamp is stale",
     "stale_timestamp")
def _(now):
    return tg_seed(S.TEAMGO_CHECKOUT, now, ts=now_s(now) - 61,
                   cfg=config(timestamp_tolerance=60))


@vec("teamgo", "malformed-timestamp", "a timestamp that is not unix seconds, correctly signed",
     "unauthorized")
def _(now):
    return tg_seed(S.TEAMGO_CHECKOUT, now, ts="17953299x3")


@vec("teamgo", "fractional-timestamp", "a numeric timestamp with a fraction, correctly signed "
     "over its token text", "unauthorized")
def _(now):
    return tg_seed(S.TEAMGO_CHECKOUT, now, ts="%d.5" % (now_s(now) - 7), numeric=True)


@vec("teamgo", "numeric-timestamp", "timestamp sent as a JSON number: signed over its token "
     "text", "accepted", ok(TG_CHECKOUT_FACTS))
def _(now):
    return tg_seed(S.TEAMGO_CHECKOUT, now, numeric=True)


@vec("teamgo", "time-offset-0000", "checkout_time with offset +0000", "accepted",
     ok({"time": "2016-12-09T09:02:11Z"}))
def _(now):
    return tg_seed(S.TEAMGO_CHECKOUT, now, before=[("09:02:11+00", "09:02:11+0000")])


@vec("teamgo", "time-offset-0530", "checkout_time 14:32:11+05:30 is 09:02:11Z", "accepted",
     ok({"time": "2016-12-09T09:02:11Z"}))
def _(now):
    return tg_seed(S.TEAMGO_CHECKOUT, now, before=[("09:02:11+00", "14:32:11+05:30")])


@vec("teamgo", "time-no-offset-millis", "checkout_time with milliseconds and no offset (UTC)",
     "accepted", ok({"time": "2016-12-09T09:02:11.250Z"}))
def _(now):
    return tg_seed(S.TEAMGO_CHECKOUT, now, before=[("09:02:11+00", "09:02:11.250")])


@vec("teamgo", "time-missing", "a checkin without checkin_time: time is the body timestamp",
     "accepted", ok({"category": "visitor.checked_in", "time": "<ts>"}))
def _(now):
    return tg_body("checkin", '{"pass_id": "11249901", "full_name": "Ann Lee", '
                   '"checkout_time": "2016-12-09T09:02:11+00"}', now)


@vec("teamgo", "time-unparseable", "checkout_time that is not ISO 8601: time is the body "
     "timestamp", "accepted", ok({"time": "<ts>"}))
def _(now):
    return tg_seed(S.TEAMGO_CHECKOUT, now, before=[("2016-12-09T09:02:11+00", "09/12/2016 09:02")])


@vec("teamgo", "subject-numeric-pass-id", "pass_id as a number (the documented type is "
     "integer): subject is its text", "accepted", ok({"subject": "11249854"}))
def _(now):
    return tg_seed(S.TEAMGO_CHECKOUT, now,
                   before=[('"pass_id": "11249854"', '"pass_id": 11249854')])


@vec("teamgo", "subject-host-email", "a checkin with no pass_id but a host_email", "accepted",
     ok({"subject": "host1@example.com", "time": "2016-12-09T08:44:46Z"}))
def _(now):
    return tg_body("checkin", '{"full_name": "Bob Jones", "host_email": "host1@example.com", '
                   '"checkin_time": "2016-12-09T08:44:46+00"}', now)


@vec("teamgo", "unknown-type", "an event type the table does not know: category other, time "
     "is the body timestamp (no time field is defined for it)", "accepted",
     ok({"type": "teamgo.badge_printed", "category": "other", "time": "<ts>",
         "subject": "11249854"}))
def _(now):
    return tg_body("badge_printed", '{"pass_id": "11249854", "checkin_time": '
                   '"2016-12-09T08:44:46+00"}', now)


@vec("teamgo", "tenant-route", "POST /webhooks/teamgo/acme signed with the tenant's key",
     "accepted", ok({"tenant": "acme", "category": "visitor.checked_out"}))
def _(now):
    return tg_seed(S.TEAMGO_CHECKOUT, now, secret=TG_ACME, route="/webhooks/teamgo/acme")


@vec("teamgo", "tenant-route-provider-key", "POST /webhooks/teamgo/acme signed with the "
     "provider-wide key, not the tenant's", "unauthorized")
def _(now):
    return tg_seed(S.TEAMGO_CHECKOUT, now, route="/webhooks/teamgo/acme")


@vec("teamgo", "data-not-object", "correctly signed, but data is an array", "bad_request")
def _(now):
    return tg_body("checkout", '[1, 2]', now)


TG_CANON_DATA = ('{"z": 1, "pass_id": "P-77", "nested": {"b": [1.50, -0, 1e+10], "a": '
                 '"\\u7bc4\\u4f8b"}, "note": "tab\\there \\/ \\"q\\"", '
                 '"checkin_time": "2016-12-09T08:44:46Z"}')
TG_CANON_DATA_2 = ('{\n  "checkin_time": "2016-12-09T08:44:46Z",\n  "note": "tab\\u0009here / '
                   '\\u0022q\\u0022",\n  "nested": {"a": "\u7bc4\u4f8b", "b": [1.50, -0, 1e+10]},'
                   '\n  "pass_id": "P-77",\n  "z": 1\n}')


@vec("teamgo", "event-id-canonical", "the event id is sha256(type + LF + canonical data): keys "
     "sorted, escapes decoded, numbers verbatim", "accepted",
     ok({"subject": "P-77", "time": "2016-12-09T08:44:46Z"}))
def _(now):
    return tg_body("checkin", TG_CANON_DATA, now)


@vec("teamgo", "event-id-canonical-resigned", "the same event re-sent with another token, "
     "timestamp, key order, white space and escapes: the same event id", "accepted",
     ok({"subject": "P-77", "same_id_as": "event-id-canonical"}))
def _(now):
    return tg_body("checkin", TG_CANON_DATA_2, now, token="c9f0f895fb98ab9159f51fd0297e236d",
                   ts=now_s(now) - 42)


@vec("teamgo", "short-signature-detect", "a 40-hex signature on /webhooks: not Teamgo's shape "
     "(64 hex), so no provider", "unknown_provider")
def _(now):
    ts = str(now_s(now) - 7)
    return tg_body("checkout", '{"pass_id": "11249854"}', now, ts=ts, route="/webhooks",
                   sig=H.sign_teamgo(TG_KEY, ts, TG_TOKEN)[:40])


@vec("teamgo", "short-signature-routed", "a 40-hex signature on /webhooks/teamgo", "unauthorized")
def _(now):
    ts = str(now_s(now) - 7)
    return tg_body("checkout", '{"pass_id": "11249854"}', now, ts=ts,
                   sig=H.sign_teamgo(TG_KEY, ts, TG_TOKEN)[:40])


# ===================== inline =====================


@vec("inline", "seed-reservation-created", "the documented reservation data (corrected) in a "
     "one-event batch, compact, signed over the deep-sorted payload", "accepted",
     ok({"type": "inline.reservation-created", "category": "reservation.created",
         "subject": "string", "time": "<event_ts>", "verification": "hmac-sha1"}))
def _(now):
    return inl_seed("reservation-created", S.INLINE_RESERVATION_DATA, now, only=True)


@vec("inline", "seed-voucher-issued", "the documented voucher data: no data.id, so no subject",
     "accepted", ok({"category": "voucher.issued", "subject": None}))
def _(now):
    return inl_seed("voucher-issued", S.INLINE_VOUCHER_DATA, now)


@vec("inline", "seed-order-created", "the documented food-order data (non-ASCII names, "
     "decimals, nulls)", "accepted", ok({"category": "order.created", "subject": "string"}))
def _(now):
    return inl_seed("order-created", S.INLINE_ORDER_DATA, now)


INLINE_TYPES = ["reservation-created", "reservation-canceled", "reservation-uncanceled",
                "reservation-time-changed", "reservation-pax-changed", "reservation-seated",
                "reservation-table-changed", "reservation-table-cleaned", "voucher-issued",
                "voucher-used", "order-created", "order-accepted", "order-ready",
                "order-cancelled", "order-pickedup"]


@vec("inline", "batch-every-type", "one batch with one event of every documented type, in "
     "order: one envelope each, categories from the table", "accepted",
     ok(*[{"type": "inline." + t, "category": H.INLINE_CATEGORIES[t], "subject": "ev-%02d" % i}
          for i, t in enumerate(INLINE_TYPES)]))
def _(now):
    events = [inl_event(t, '{"id":"ev-%02d","branchId":"b-1"}' % i, now - 60000 + i * 1001)
              for i, t in enumerate(INLINE_TYPES)]
    return inl_req(inl_body(events, now - 1000), now)


@vec("inline", "batch-of-three", "three events on POST /webhooks (detected by X-Hub-Signature "
     "and the body's shape)", "accepted",
     ok({"category": "reservation.created"}, {"category": "reservation.seated"},
        {"category": "voucher.used", "subject": "a138171-used"}))
def _(now):
    events = [inl_event("reservation-created", '{"id":"rsv-1","groupSize":4}', now - 9000),
              inl_event("reservation-seated", '{"id":"rsv-1","tables":[{"name":"A1"}]}',
                        now - 5000),
              inl_event("voucher-used", '{"id":"a138171-used","ticketId":"a138171"}', now - 4000)]
    return inl_req(inl_body(events, now - 1000), now, route="/webhooks")


@vec("inline", "detected-on-webhooks", "the reservation example on POST /webhooks", "accepted",
     ok({"category": "reservation.created", "subject": "string"}))
def _(now):
    return inl_seed("reservation-created", S.INLINE_RESERVATION_DATA, now, route="/webhooks")


INL_NESTED = inl_event("reservation-time-changed",
                       '{"id":"rsv-9","customer":{"name":"Ken","email":"ken@example.com"},'
                       '"reservationTime":1795333600000}', None, data_first=True)


@vec("inline", "signed-top-sorted", "signed over the payload with only the top-level keys "
     "sorted (nested objects out of order)", "accepted",
     ok({"category": "reservation.time_changed", "time": "<body_ts>", "subject": "rsv-9"}))
def _(now):
    body = '{"timestamp":%d,"events":[%s]}' % (now - 1000, INL_NESTED)
    assert H.canonical_bytes(H.parse(body), "top") != H.canonical_bytes(H.parse(body), "deep")
    return inl_req(body, now, form="top", only=True)


@vec("inline", "signed-raw-body", "signed over the raw body bytes (pretty-printed)", "accepted",
     ok({"category": "reservation.time_changed"}))
def _(now):
    body = ('{\n  "timestamp": %d,\n  "events": [\n    {\n      "type": '
            '"reservation-time-changed",\n      "data": {"id": "rsv-9", "reservationTime": '
            '1795333600000},\n      "timestamp": %d\n    }\n  ]\n}\n') % (now - 1000, now - 3000)
    return inl_req(body, now, form="raw", only=True)


@vec("inline", "pretty-keys-out-of-order", "pretty-printed, keys out of order at every level, "
     "signed over the deep-sorted form", "accepted",
     ok({"category": "reservation.pax_changed", "subject": "rsv-12", "time": "<event_ts>"}))
def _(now):
    body = ('{\n  "events" : [ {\n    "timestamp" : %d,\n    "data" : {\n      "state" : '
            '"waiting",\n      "groupSize" : 6,\n      "id" : "rsv-12",\n      "contact" : '
            '{ "name" : "Ken", "customerId" : "my-id" }\n    },\n    "type" : '
            '"reservation-pax-changed"\n  } ],\n  "timestamp" : %d\n}') % (now - 2345, now - 1000)
    return inl_req(body, now, only=True)


@vec("inline", "rotated-secret", "signed with the second configured secret", "accepted",
     ok({"category": "reservation.created"}))
def _(now):
    return inl_seed("reservation-created", S.INLINE_RESERVATION_DATA, now, secret=INL_SECRET_NEW)


@vec("inline", "wrong-secret", "signed with a secret that is not configured", "unauthorized")
def _(now):
    return inl_seed("reservation-created", S.INLINE_RESERVATION_DATA, now, secret=WRONG)


@vec("inline", "tampered-body", "a value changed after signing", "unauthorized")
def _(now):
    return inl_seed("reservation-created", S.INLINE_RESERVATION_DATA, now,
                    after=[('"groupSize":0', '"groupSize":9')])


@vec("inline", "uppercase-hex", "the signature in uppercase hex", "accepted",
     ok({"category": "reservation.created"}))
def _(now):
    return inl_seed("reservation-created", S.INLINE_RESERVATION_DATA, now, upper=True)


@vec("inline", "missing-signature", "no X-Hub-Signature, posted to /webhooks/inline",
     "unauthorized")
def _(now):
    return inl_seed("reservation-created", S.INLINE_RESERVATION_DATA, now, sig=False)


@vec("inline", "signature-without-prefix", "X-Hub-Signature without \"sha1=\"", "unauthorized")
def _(now):
    return inl_seed("reservation-created", S.INLINE_RESERVATION_DATA, now, prefix="")


def inl_small(now, ts):
    return inl_req(inl_body([inl_event("reservation-seated", '{"id":"rsv-5"}', now - 2000)], ts),
                   now)


@vec("inline", "past-edge-inside", "body timestamp exactly 300000 ms old", "accepted",
     ok({"category": "reservation.seated"}), resend=False)
def _(now):
    return inl_small(now, now - 300000)


@vec("inline", "past-edge-outside", "body timestamp 300001 ms old", "stale_timestamp")
def _(now):
    return inl_small(now, now - 300001)


@vec("inline", "future-edge-inside", "body timestamp 300000 ms ahead", "accepted",
     ok({"category": "reservation.seated"}), resend=False)
def _(now):
    return inl_small(now, now + 300000)


@vec("inline", "future-edge-outside", "body timestamp 300001 ms ahead", "stale_timestamp",
     resend=False)
def _(now):
    return inl_small(now, now + 300001)


@vec("inline", "non-ascii-escaped", "non-ASCII text sent as \\uXXXX escapes; JSON.stringify "
     "(the signed form) writes the characters themselves, as UTF-8", "accepted",
     ok({"category": "order.created", "subject": "ord-1"}))
def _(now):
    data = ('{"id":"ord-1","name":{"zh-tw":"\\u7bc4\\u4f8b\\u5957\\u9910","en":"Sample"},'
            '"note":"caf\\u00e9 \\ud83d\\ude00"}')
    body = inl_body([inl_event("order-created", data, now - 2000)], now - 1000)
    canon = H.canonical(H.parse(body), "deep")
    assert "\u7bc4\u4f8b" in canon and "\\u" not in canon
    return inl_req(body, now, only=True)


@vec("inline", "control-characters", "strings with \\u0001, \\u001F, a newline sent as "
     "\\u000a and a tab: the canonical form writes \\u0001, \\u001f, \\n, \\t", "accepted",
     ok({"category": "order.accepted"}))
def _(now):
    data = '{"id":"ord-2","note":"a\\u0001b\\u001Fc\\u000ad\\te\\u007f"}'
    body = inl_body([inl_event("order-accepted", data, now - 2000)], now - 1000)
    canon = H.canonical(H.parse(body), "deep")
    assert '"a\\u0001b\\u001fc\\nd\\te\x7f"' in canon, canon
    return inl_req(body, now, only=True)


@vec("inline", "slash-and-quote", "\"\\/\" is written as \"/\", quotes and backslashes stay "
     "escaped", "accepted", ok({"category": "order.ready"}))
def _(now):
    data = '{"id":"ord-3","url":"https:\\/\\/example.com\\/a?b=1","q":"say \\"hi\\" \\\\ bye"}'
    body = inl_body([inl_event("order-ready", data, now - 2000)], now - 1000)
    canon = H.canonical(H.parse(body), "deep")
    assert '"https://example.com/a?b=1"' in canon and '"say \\"hi\\" \\\\ bye"' in canon
    return inl_req(body, now, only=True)


@vec("inline", "numbers-verbatim", "number tokens are copied as sent: 1.50, -0, 1e+10, 2E-3, "
     "100.0 (JSON.stringify in the sender printed them this way)", "accepted",
     ok({"category": "order.cancelled"}))
def _(now):
    data = '{"id":"ord-4","price":1.50,"neg":-0,"big":1e+10,"small":2E-3,"round":100.0}'
    body = inl_body([inl_event("order-cancelled", data, now - 2000)], now - 1000)
    assert '"price":1.50' in H.canonical(H.parse(body), "deep")
    return inl_req(body, now)


@vec("inline", "utf16-key-order", "keys sorted by UTF-16 code units: U+1F600 (D83D DE00) "
     "sorts before U+FF61, unlike code point or UTF-8 order", "accepted",
     ok({"category": "order.picked_up"}))
def _(now):
    data = ('{"id":"ord-5","\\uff61":"halfwidth","\\ud83d\\ude00":"emoji","\\u00e9":"e-acute",'
            '"Z":"upper","a":"lower"}')
    body = inl_body([inl_event("order-pickedup", data, now - 2000)], now - 1000)
    canon = H.canonical(H.parse(body), "deep")
    assert canon.index("\U0001F600") < canon.index("\uff61")
    return inl_req(body, now, only=True)


@vec("inline", "empty-batch", "an empty events array: accepted, nothing to publish",
     "accepted", ok())
def _(now):
    return inl_req(inl_body([], now - 1000), now)


@vec("inline", "unknown-type", "an event type the table does not know", "accepted",
     ok({"type": "inline.table-merged", "category": "other", "subject": "rsv-7"}))
def _(now):
    return inl_req(inl_body([inl_event("table-merged", '{"id":"rsv-7"}', now - 2000)],
                            now - 1000), now)


@vec("inline", "event-without-timestamp", "an event with no timestamp: time is the body's",
     "accepted", ok({"time": "<body_ts>"}))
def _(now):
    return inl_req(inl_body([inl_event("reservation-canceled", '{"id":"rsv-8"}')], now - 1500),
                   now)


@vec("inline", "event-without-data", "an event with no data: data null, no subject",
     "accepted", ok({"subject": None, "data": None, "category": "voucher.issued"}))
def _(now):
    return inl_req(inl_body([inl_event("voucher-issued", None, now - 2000)], now - 1000), now)


@vec("inline", "numeric-id", "data.id is a number: subject is its text", "accepted",
     ok({"subject": "4328"}))
def _(now):
    return inl_req(inl_body([inl_event("order-created", '{"id":4328,"serial":"A-12"}',
                                       now - 2000)], now - 1000), now)


@vec("inline", "batch-second-event-malformed", "a batch whose second event is a string: the "
     "whole request is refused, nothing is published", "bad_request")
def _(now):
    events = [inl_event("reservation-created", '{"id":"rsv-1"}', now - 3000), '"oops"',
              inl_event("reservation-seated", '{"id":"rsv-1"}', now - 2000)]
    return inl_req(inl_body(events, now - 1000), now)


@vec("inline", "event-without-type", "an event without a string type", "bad_request")
def _(now):
    return inl_req(inl_body(['{"data":{"id":"rsv-1"},"timestamp":%d}' % (now - 2000)],
                            now - 1000), now)


@vec("inline", "header-without-shape", "X-Hub-Signature on a body that is not inline's "
     "shape: the header alone does not make it inline", "unknown_provider")
def _(now):
    return inl_req('{"a":1}', now, route="/webhooks")


@vec("inline", "string-timestamp-detect", "a string timestamp on /webhooks: not inline's "
     "shape (timestamp must be a number)", "unknown_provider")
def _(now):
    body = '{"timestamp":"%d","events":[%s]}' % (
        now - 1000, inl_event("reservation-seated", '{"id":"rsv-5"}', now - 2000))
    return inl_req(body, now, route="/webhooks")


# ===================== ombori =====================

OMB_TOKEN_ROUTE = "/webhooks/ombori/" + OMB_TOKEN


@vec("ombori", "seed-position-cancelled", "documented ticket-cancelled payload, token in the "
     "path: time is the receive time, no tenant (the path segment is a token)", "accepted",
     ok({"type": "ombori.positionCancelled", "category": "queue.cancelled",
         "subject": "cce2ae86-1f5c-4dd4-b040-0b606a850f62", "time": T_RECV,
         "verification": "token", "tenant": None}))
def _(now):
    return omb(S.OMBORI_POSITION_CANCELLED, now)


@vec("ombori", "seed-cancelled-by-staff", "documented cancelled-by-staff payload", "accepted",
     ok({"category": "queue.cancelled_by_staff", "time": T_RECV}))
def _(now):
    return omb(S.OMBORI_POSITION_CANCELLED_BY_STAFF, now)


@vec("ombori", "seed-feedback-received", "documented feedback payload", "accepted",
     ok({"category": "feedback.received", "subject": "788ab8bd-1590-4bfb-8569-7a4920a3d679"}))
def _(now):
    return omb(S.OMBORI_FEEDBACK_RECEIVED, now)


@vec("ombori", "receive-time-millis", "the receive time keeps its milliseconds", "accepted",
     ok({"time": T_RECV}))
def _(now):
    return omb(omb_small("positionCalled"), now + 123)


@vec("ombori", "header-token", "token in the configured header X-Webhook-Token", "accepted",
     ok({"category": "queue.ticket_created", "verification": "token"}))
def _(now):
    return omb(omb_small("positionCreated"), now, route="/webhooks/ombori",
               headers=[("X-Webhook-Token", OMB_TOKEN)])


@vec("ombori", "detected-on-webhooks", "POST /webhooks with a header token: detected by "
     "shape (type position*/booking*/feedback*, data.position, organization)", "accepted",
     ok({"category": "queue.booking_confirmed"}))
def _(now):
    return omb(omb_small("bookingConfirmation"), now, route="/webhooks",
               headers=[("X-Webhook-Token", OMB_TOKEN)])


@vec("ombori", "rotated-token", "the second configured token", "accepted",
     ok({"category": "queue.called"}))
def _(now):
    return omb(omb_small("positionCalled"), now, route="/webhooks/ombori/" + OMB_TOKEN_NEW)


@vec("ombori", "wrong-path-token", "a path token that is not configured", "unauthorized")
def _(now):
    return omb(omb_small("positionCalled"), now, route="/webhooks/ombori/omb-token-guess-0000")


@vec("ombori", "wrong-header-token", "a header token that is not configured", "unauthorized")
def _(now):
    return omb(omb_small("positionCalled"), now, route="/webhooks/ombori",
               headers=[("X-Webhook-Token", "omb-token-guess-0000")])


@vec("ombori", "no-token", "tokens configured, none presented", "unauthorized")
def _(now):
    return omb(omb_small("positionCalled"), now, route="/webhooks/ombori")


@vec("ombori", "path-token-ok-header-wrong", "a correct path token and a wrong header token: "
     "a presented token that is wrong fails", "unauthorized")
def _(now):
    return omb(omb_small("positionCalled"), now,
               headers=[("X-Webhook-Token", "omb-token-guess-0000")])


AUTH_BASIC = {"basic": [OMB_BASIC, OMB_BASIC_NEW]}
AUTH_IPS = {"allow_ips": ["203.0.113.0/24", "2001:db8::/32"]}


@vec("ombori", "basic-ok", "HTTP Basic with a configured user:password", "accepted",
     ok({"verification": "basic", "category": "queue.fulfilled"}))
def _(now):
    return omb(omb_small("positionFulfilled"), now, route="/webhooks/ombori",
               headers=[("Authorization", H.basic_auth(OMB_BASIC))],
               cfg=ombori_config(AUTH_BASIC))


@vec("ombori", "basic-rotated", "HTTP Basic with the second configured credentials",
     "accepted", ok({"verification": "basic"}))
def _(now):
    return omb(omb_small("positionCompleted"), now, route="/webhooks/ombori",
               headers=[("Authorization", H.basic_auth(OMB_BASIC_NEW))],
               cfg=ombori_config(AUTH_BASIC))


@vec("ombori", "basic-wrong-password", "HTTP Basic with a wrong password", "unauthorized")
def _(now):
    return omb(omb_small("positionFulfilled"), now, route="/webhooks/ombori",
               headers=[("Authorization", H.basic_auth("queue-hook:wrong"))],
               cfg=ombori_config(AUTH_BASIC))


@vec("ombori", "basic-missing", "Basic configured, no Authorization header", "unauthorized")
def _(now):
    return omb(omb_small("positionFulfilled"), now, route="/webhooks/ombori",
               cfg=ombori_config(AUTH_BASIC))


@vec("ombori", "allow-ips-ok", "client address inside an allowed CIDR", "accepted",
     ok({"verification": "ip", "category": "queue.retried"}))
def _(now):
    return omb(omb_small("positionRetry"), now, route="/webhooks/ombori",
               cfg=ombori_config(AUTH_IPS), client="203.0.113.7")


@vec("ombori", "allow-ips-ipv6", "an IPv6 client inside an allowed CIDR", "accepted",
     ok({"verification": "ip"}))
def _(now):
    return omb(omb_small("positionRetry"), now, route="/webhooks/ombori",
               cfg=ombori_config(AUTH_IPS), client="2001:db8::7")


@vec("ombori", "allow-ips-forbidden", "client address outside every allowed CIDR", "forbidden")
def _(now):
    return omb(omb_small("positionRetry"), now, route="/webhooks/ombori",
               cfg=ombori_config(AUTH_IPS), client="198.51.100.20")


AUTH_TOKEN_IPS = {"tokens": [OMB_TOKEN], "allow_ips": ["203.0.113.0/24"]}


@vec("ombori", "token-and-ip-ok", "token and allow_ips both configured, both pass", "accepted",
     ok({"verification": "token+ip", "category": "queue.booking_activated"}))
def _(now):
    return omb(omb_small("bookingActivated"), now, cfg=ombori_config(AUTH_TOKEN_IPS),
               client="203.0.113.7")


@vec("ombori", "token-ok-ip-denied", "token right, address outside allow_ips: every "
     "configured method must pass", "forbidden")
def _(now):
    return omb(omb_small("bookingActivated"), now, cfg=ombori_config(AUTH_TOKEN_IPS),
               client="198.51.100.20")


@vec("ombori", "token-wrong-ip-ok", "address allowed, token wrong", "unauthorized")
def _(now):
    return omb(omb_small("bookingActivated"), now, route="/webhooks/ombori/omb-token-guess-0000",
               cfg=ombori_config(AUTH_TOKEN_IPS), client="203.0.113.7")


@vec("ombori", "basic-and-ip-ok", "Basic and allow_ips both pass", "accepted",
     ok({"verification": "basic+ip", "category": "queue.booking_removed"}))
def _(now):
    return omb(omb_small("bookingRemoved"), now, route="/webhooks/ombori",
               headers=[("Authorization", H.basic_auth(OMB_BASIC))],
               cfg=ombori_config({"basic": [OMB_BASIC], "allow_ips": ["203.0.113.0/24"]}),
               client="203.0.113.7")


PROXY_CFG = dict(trusted_proxies=["10.0.0.0/8"])


@vec("ombori", "xff-trusted-proxy-allowed", "the peer is a trusted proxy: the client is the "
     "X-Forwarded-For address, which is allowed", "accepted", ok({"verification": "ip"}))
def _(now):
    return omb(omb_small("positionCalled"), now, route="/webhooks/ombori",
               headers=[("X-Forwarded-For", "203.0.113.50")],
               cfg=ombori_config(AUTH_IPS, **PROXY_CFG), client="10.0.0.5")


@vec("ombori", "xff-trusted-proxy-denied", "the peer is a trusted proxy, the forwarded client "
     "is not allowed (the proxy itself is not either)", "forbidden")
def _(now):
    return omb(omb_small("positionCalled"), now, route="/webhooks/ombori",
               headers=[("X-Forwarded-For", "198.51.100.23")],
               cfg=ombori_config(AUTH_IPS, **PROXY_CFG), client="10.0.0.5")


@vec("ombori", "xff-chain-right-to-left", "X-Forwarded-For read right to left, skipping "
     "trusted proxies: the first untrusted address (allowed) is the client, whatever the "
     "leftmost says", "accepted", ok({"verification": "ip"}))
def _(now):
    return omb(omb_small("positionCalled"), now, route="/webhooks/ombori",
               headers=[("X-Forwarded-For", "198.51.100.1, 203.0.113.9, 10.0.0.7")],
               cfg=ombori_config(AUTH_IPS, **PROXY_CFG), client="10.0.0.5")


@vec("ombori", "xff-spoofed-leftmost", "an allowed address forged at the left of "
     "X-Forwarded-For does not help: the rightmost untrusted one is the client", "forbidden")
def _(now):
    return omb(omb_small("positionCalled"), now, route="/webhooks/ombori",
               headers=[("X-Forwarded-For", "203.0.113.9, 198.51.100.1")],
               cfg=ombori_config(AUTH_IPS, **PROXY_CFG), client="10.0.0.5")


@vec("ombori", "xff-all-trusted", "every X-Forwarded-For address is a trusted proxy: the "
     "leftmost is the client", "accepted", ok({"verification": "ip"}))
def _(now):
    return omb(omb_small("positionCalled"), now, route="/webhooks/ombori",
               headers=[("X-Forwarded-For", "10.1.1.1, 10.2.2.2")],
               cfg=ombori_config({"allow_ips": ["10.1.1.0/24"]}, **PROXY_CFG),
               client="10.0.0.5")


@vec("ombori", "xff-untrusted-peer-ignored", "X-Forwarded-For from a peer that is not a "
     "trusted proxy is ignored: the peer is the client", "forbidden")
def _(now):
    return omb(omb_small("positionCalled"), now, route="/webhooks/ombori",
               headers=[("X-Forwarded-For", "203.0.113.50")],
               cfg=ombori_config(AUTH_IPS, **PROXY_CFG), client="198.51.100.20")


@vec("ombori", "xff-untrusted-peer-allowed", "an allowed peer that is not a trusted proxy "
     "stays the client, whatever its X-Forwarded-For says", "accepted",
     ok({"verification": "ip"}))
def _(now):
    return omb(omb_small("positionCalled"), now, route="/webhooks/ombori",
               headers=[("X-Forwarded-For", "198.51.100.20")],
               cfg=ombori_config(AUTH_IPS, **PROXY_CFG), client="203.0.113.7")


@vec("ombori", "auth-none", "\"auth\": \"none\" written out: accepted unauthenticated, "
     "verification none", "accepted",
     ok({"verification": "none", "category": "queue.cancelled"}))
def _(now):
    return omb(S.OMBORI_POSITION_CANCELLED, now, route="/webhooks/ombori",
               cfg=config(ombori={"auth": "none"}))


@vec("ombori", "unknown-type", "a position* type the table does not know", "accepted",
     ok({"type": "ombori.positionParked", "category": "other"}))
def _(now):
    return omb(omb_small("positionParked"), now)


@vec("ombori", "not-ombori-shape", "a Teamgo body posted to /webhooks/ombori/<token>: "
     "authenticated, but not Ombori's shape", "bad_request")
def _(now):
    return omb(tg_seed(S.TEAMGO_CHECKOUT, now)["body"], now)


@vec("ombori", "numeric-position-id", "data.position.id is a number: subject is its text",
     "accepted", ok({"subject": "4711"}))
def _(now):
    return omb('{"data":{"position":{"id":4711}},"type":"positionCreated","organization":"o"}',
               now)


@vec("ombori", "no-organization-detect", "no organization on /webhooks: not Ombori's shape",
     "unknown_provider")
def _(now):
    return omb('{"data":{"position":{"id":"p-1"}},"type":"positionCreated"}', now,
               route="/webhooks", headers=[("X-Webhook-Token", OMB_TOKEN)])


@vec("ombori", "other-type-detect", "a type that starts with none of position, booking, "
     "feedback on /webhooks: not Ombori's shape", "unknown_provider")
def _(now):
    return omb(omb_small("queueUpdated"), now, route="/webhooks",
               headers=[("X-Webhook-Token", OMB_TOKEN)])


# ===================== trutac =====================


@vec("trutac", "seed-clocking", "TruTac's documented clocking example (as printed), "
     "TT-Hook-Event clocking: time is the receive time", "accepted",
     ok({"type": "trutac.clocking", "category": "attendance.punched",
         "subject": "CLOCKING-ID-123", "time": T_RECV, "verification": "hmac-sha1"}))
def _(now):
    return tt_req(S.TRUTAC_CLOCKING, now)


@vec("trutac", "detected-on-webhooks", "the example on POST /webhooks (TT-Hook-* headers)",
     "accepted", ok({"category": "attendance.punched"}))
def _(now):
    return tt_req(S.TRUTAC_CLOCKING, now, route="/webhooks")


@vec("trutac", "rotated-secret", "signed with the second secret", "accepted",
     ok({"category": "attendance.punched"}))
def _(now):
    return tt_req(S.TRUTAC_CLOCKING, now, secret=TT_SECRET_NEW)


@vec("trutac", "wrong-secret", "signed with a secret that is not configured", "unauthorized")
def _(now):
    return tt_req(S.TRUTAC_CLOCKING, now, secret=WRONG)


@vec("trutac", "tampered-body", "the body changed after signing", "unauthorized")
def _(now):
    return tt_req(S.TRUTAC_CLOCKING, now, after=[("ID-123", "ID-124")])


@vec("trutac", "uppercase-hex", "uppercase hex signature", "accepted",
     ok({"category": "attendance.punched"}))
def _(now):
    return tt_req(S.TRUTAC_CLOCKING, now, upper=True)


@vec("trutac", "signature-without-prefix", "TT-Hook-Signature without sha1=", "unauthorized")
def _(now):
    return tt_req(S.TRUTAC_CLOCKING, now, prefix="")


@vec("trutac", "missing-signature", "TT-Hook-Event only", "unauthorized")
def _(now):
    return tt_req(S.TRUTAC_CLOCKING, now, sig=False)


TT_PING = '{"hook":{"id":"HOOK-1","events":["clocking"]}}'


@vec("trutac", "ping", "TT-Hook-Event ping, verified: 200 ping, nothing published", "ping")
def _(now):
    return tt_req(TT_PING, now, event="ping", route="/webhooks")


@vec("trutac", "ping-wrong-secret", "a ping with a wrong signature", "unauthorized")
def _(now):
    return tt_req(TT_PING, now, event="ping", secret=WRONG)


@vec("trutac", "action-updated", "clocking updated", "accepted",
     ok({"category": "attendance.punch_updated", "subject": "C-2"}))
def _(now):
    return tt_req('{"action":"updated","clocking":{"id":"C-2","isClockIn":false}}', now)


@vec("trutac", "action-deleted", "clocking deleted", "accepted",
     ok({"category": "attendance.punch_deleted", "subject": "C-3"}))
def _(now):
    return tt_req('{"action":"deleted","clocking":{"id":"C-3"}}', now)


@vec("trutac", "action-unknown", "a clocking action the table does not know", "accepted",
     ok({"category": "other", "subject": "C-4"}))
def _(now):
    return tt_req('{"action":"archived","clocking":{"id":"C-4"}}', now)


@vec("trutac", "event-unknown", "an event other than clocking: category other, subject from "
     "the event's object", "accepted",
     ok({"type": "trutac.driver", "category": "other", "subject": "D-1"}))
def _(now):
    return tt_req('{"action":"created","driver":{"id":"D-1","name":"Sam"}}', now, event="driver")


@vec("trutac", "numeric-id", "a numeric clocking id: subject is its text", "accepted",
     ok({"subject": "90210"}))
def _(now):
    return tt_req('{"action":"created","clocking":{"id":90210}}', now)


@vec("trutac", "tenant-route", "POST /webhooks/trutac/fleet-a with the tenant's secret",
     "accepted", ok({"tenant": "fleet-a"}))
def _(now):
    return tt_req(S.TRUTAC_CLOCKING, now, secret=TT_FLEET, route="/webhooks/trutac/fleet-a")


@vec("trutac", "unknown-tenant", "a tenant that is not configured", "unauthorized")
def _(now):
    return tt_req(S.TRUTAC_CLOCKING, now, route="/webhooks/trutac/fleet-z")


@vec("trutac", "body-not-object", "correctly signed, but the body is an array", "bad_request")
def _(now):
    return tt_req('[{"id":"C-9"}]', now)


@vec("trutac", "missing-event-header", "a valid TT-Hook-Signature without TT-Hook-Event "
     "(detected by the signature header alone)", "bad_request")
def _(now):
    return tt_req(S.TRUTAC_CLOCKING, now, event=None, route="/webhooks")


# ===================== oneupvision =====================

OU_FACTS = {"type": "oneupvision.punch.create", "category": "attendance.punched",
            "subject": "2", "tenant": OU_UUID, "time": "<header_ts>",
            "verification": "hmac-sha256"}


@vec("oneupvision", "seed-punch-create", "1UPVISION's documented punch.create example with a "
     "fresh timestamp: time is the timestamp header, tenant the UUID", "accepted", ok(OU_FACTS))
def _(now):
    return ou_req(S.ONEUP_PUNCH_CREATE, now)


@vec("oneupvision", "detected-on-webhooks", "the example on POST /webhooks", "accepted",
     ok(OU_FACTS))
def _(now):
    return ou_req(S.ONEUP_PUNCH_CREATE, now, route="/webhooks")


@vec("oneupvision", "people-bulk-create", "a bulk event whose data holds a list: no top-level "
     "object with an id, so no subject", "accepted",
     ok({"category": "person.created", "subject": None}))
def _(now):
    return ou_req('{"people":[{"id":11,"first_name":"Ana"},{"id":12,"first_name":"Bo"}]}', now,
                  event="people.bulk_create")


@vec("oneupvision", "visit-checkin", "visit.checkin", "accepted",
     ok({"category": "visitor.checked_in", "subject": "v-77"}))
def _(now):
    return ou_req('{"visit":{"id":"v-77","visitor":{"id":5,"name":"Rohit"}}}', now,
                  event="visit.checkin")


@vec("oneupvision", "attendance-update", "attendance.update; subject from the first member "
     "object that has an id", "accepted",
     ok({"category": "attendance.day_updated", "subject": "31"}))
def _(now):
    return ou_req('{"meta":{"source":"api"},"attendance":{"id":31,"attendance_date":'
                  '"2022-08-28"}}', now, event="attendance.update")


@vec("oneupvision", "unknown-event", "an event name the table does not know", "accepted",
     ok({"type": "oneupvision.shift.create", "category": "other", "subject": "1"}))
def _(now):
    return ou_req('{"shift":{"id":1,"name":"Flexible Shift"}}', now, event="shift.create")


@vec("oneupvision", "rotated-secret", "signed with the tenant's second secret", "accepted",
     ok(OU_FACTS))
def _(now):
    return ou_req(S.ONEUP_PUNCH_CREATE, now, secret=OU_SECRET_NEW)


@vec("oneupvision", "wrong-secret", "signed with a secret that is not configured",
     "unauthorized")
def _(now):
    return ou_req(S.ONEUP_PUNCH_CREATE, now, secret=WRONG)


@vec("oneupvision", "tampered-body", "the body changed after signing", "unauthorized")
def _(now):
    return ou_req(S.ONEUP_PUNCH_CREATE, now, after=[('"Rohit"', '"Rohan"')])


@vec("oneupvision", "uppercase-hex", "uppercase hex signature", "accepted", ok(OU_FACTS))
def _(now):
    return ou_req(S.ONEUP_PUNCH_CREATE, now, upper=True)


@vec("oneupvision", "missing-signature", "no X-ServiceHook-Signature", "unauthorized")
def _(now):
    return ou_req(S.ONEUP_PUNCH_CREATE, now, sig=False)


@vec("oneupvision", "unknown-uuid", "a UUID that is not a configured tenant", "unauthorized")
def _(now):
    return ou_req(S.ONEUP_PUNCH_CREATE, now, uuid="00000000-1111-2222-3333-444444444444")


@vec("oneupvision", "missing-uuid", "tenants configured, no X-ServiceHook-UUID",
     "unauthorized")
def _(now):
    return ou_req(S.ONEUP_PUNCH_CREATE, now, uuid=None)


@vec("oneupvision", "past-edge-inside", "timestamp exactly 300 s old", "accepted",
     ok({"category": "attendance.punched"}), resend=False)
def _(now):
    return ou_req(S.ONEUP_PUNCH_CREATE, now, ts=-300)


@vec("oneupvision", "past-edge-outside", "timestamp 301 s old", "stale_timestamp")
def _(now):
    return ou_req(S.ONEUP_PUNCH_CREATE, now, ts=-301)


@vec("oneupvision", "future-edge-inside", "timestamp 300 s ahead", "accepted",
     ok({"category": "attendance.punched"}), resend=False)
def _(now):
    return ou_req(S.ONEUP_PUNCH_CREATE, now, ts=300)


@vec("oneupvision", "future-edge-outside", "timestamp 301 s ahead", "stale_timestamp",
     resend=False)
def _(now):
    return ou_req(S.ONEUP_PUNCH_CREATE, now, ts=301)


@vec("oneupvision", "seed-timestamp-stale", "the documented timestamp (2022) is long stale",
     "stale_timestamp")
def _(now):
    return ou_req(S.ONEUP_PUNCH_CREATE, now, ts=S.ONEUP_SEED_TIMESTAMP)


@vec("oneupvision", "malformed-timestamp", "a timestamp that is not ISO 8601", "unauthorized")
def _(now):
    return ou_req(S.ONEUP_PUNCH_CREATE, now, ts="yesterday")


@vec("oneupvision", "timestamp-millis", "a timestamp with milliseconds: time keeps them",
     "accepted", ok({"time": "<header_ms>"}))
def _(now):
    return ou_req(S.ONEUP_PUNCH_CREATE, now,
                  ts=H.format_time((now_s(now) - 5) * 1000 + 250))


@vec("oneupvision", "timestamp-offset", "a timestamp with a +05:30 offset: time is normalised "
     "to UTC", "accepted", ok({"time": "<header_ms>"}))
def _(now):
    local = H.format_time((now_s(now) - 5) * 1000 + 5 * 3600000 + 1800000)[:-1] + "+05:30"
    return ou_req(S.ONEUP_PUNCH_CREATE, now, ts=local)


@vec("oneupvision", "tenant-in-path", "POST /webhooks/oneupvision/<uuid> with the same UUID "
     "header", "accepted", ok(OU_FACTS))
def _(now):
    return ou_req(S.ONEUP_PUNCH_CREATE, now, route="/webhooks/oneupvision/" + OU_UUID)


# ===================== detect: routing, detection, JSON =====================


@vec("detect", "ambiguous-trutac-oneupvision", "TT-Hook-Event and X-ServiceHook-Event "
     "together", "ambiguous_provider")
def _(now):
    r = tt_req(S.TRUTAC_CLOCKING, now, route="/webhooks")
    r["headers"].append(["X-ServiceHook-Event", "punch.create"])
    return r


@vec("detect", "ambiguous-inline-trutac", "an inline request (header and shape) that also "
     "carries TT-Hook-Event", "ambiguous_provider")
def _(now):
    r = inl_small(now, now - 1000)
    r["route"] = "/webhooks"
    r["headers"].append(["TT-Hook-Event", "clocking"])
    return r


@vec("detect", "ambiguous-shape-teamgo-ombori", "no provider headers, a body with both "
     "Teamgo's and Ombori's shape", "ambiguous_provider")
def _(now):
    return tg_body("positionCalled", '{"position": {"id": "pos-1"}}', now, route="/webhooks",
                   extra=[("organization", '"acme"')])


@vec("detect", "unknown-object", "{\"a\":1}: no provider's headers or shape",
     "unknown_provider")
def _(now):
    return req("/webhooks", [CT], '{"a":1}', now=now)


@vec("detect", "unknown-array", "a JSON array", "unknown_provider")
def _(now):
    return req("/webhooks", [CT], "[]", now=now)


@vec("detect", "headers-before-shape", "an Ombori-shaped body with TruTac's headers: headers "
     "decide first, so it is TruTac", "accepted",
     ok({"provider": "trutac", "category": "other", "type": "trutac.position",
         "subject": None}))
def _(now):
    return tt_req(omb_small("positionCalled"), now, event="position", route="/webhooks")


@vec("detect", "inline-header-on-teamgo-shape", "X-Hub-Signature on a Teamgo body: not "
     "inline's shape, so Teamgo's shape decides", "accepted",
     ok({"provider": "teamgo", "category": "visitor.checked_out"}))
def _(now):
    return tg_seed(S.TEAMGO_CHECKOUT, now, route="/webhooks") | {
        "headers": [CT, ["X-Hub-Signature", "sha1=" + "0" * 40]]}


@vec("detect", "invalid-json", "a truncated body", "invalid_json")
def _(now):
    return req("/webhooks", [CT], '{"action":"created",', now=now)


@vec("detect", "invalid-json-routed", "a truncated body on a provider route", "invalid_json")
def _(now):
    return req("/webhooks/trutac", [CT, ["TT-Hook-Event", "clocking"]], '{"action":', now=now)


@vec("detect", "invalid-utf8", "a string with a byte that is not UTF-8", "invalid_json")
def _(now):
    return req("/webhooks", [CT], b'{"a":"caf\xe9"}', now=now)


@vec("detect", "overlong-utf8", "an overlong UTF-8 form of '/'", "invalid_json")
def _(now):
    return req("/webhooks", [CT], b'{"a":"\xc0\xaf"}', now=now)


@vec("detect", "lone-surrogate-escape", "a \\ud800 escape with no low surrogate",
     "invalid_json")
def _(now):
    return req("/webhooks", [CT], '{"a":"\\ud800"}', now=now)


@vec("detect", "duplicate-key", "a key twice in the top-level object", "invalid_json")
def _(now):
    return tt_req('{"action":"created","action":"deleted","clocking":{"id":"C-1"}}', now)


@vec("detect", "duplicate-key-nested", "a key twice in a nested object", "invalid_json")
def _(now):
    return tt_req('{"action":"created","clocking":{"id":"C-1","id":"C-2"}}', now)


def deep_body(arrays):
    return '{"action":"created","clocking":{"id":"DEEP-1","nested":%s%s}}' % (
        "[" * arrays, "]" * arrays)


@vec("detect", "depth-64", "nesting depth exactly 64 (root, clocking and 62 arrays): accepted",
     "accepted", ok({"subject": "DEEP-1"}))
def _(now):
    return tt_req(deep_body(62), now)


@vec("detect", "depth-65", "nesting depth 65", "invalid_json")
def _(now):
    return tt_req(deep_body(63), now)


@vec("detect", "trailing-garbage", "a valid object followed by more text", "invalid_json")
def _(now):
    return tt_req('{"action":"created","clocking":{"id":"C-1"}} x', now)


@vec("detect", "nan-literal", "NaN is not JSON", "invalid_json")
def _(now):
    return tt_req('{"action":"created","clocking":{"id":"C-1","t":NaN}}', now)


@vec("detect", "route-unknown-provider", "POST /webhooks/nosuch", "not_found")
def _(now):
    return tt_req(S.TRUTAC_CLOCKING, now, route="/webhooks/nosuch")


@vec("detect", "route-provider-disabled", "POST /webhooks/inline when inline is not "
     "configured", "provider_disabled")
def _(now):
    r = inl_small(now, now - 1000)
    r["config"] = config(inline=None)
    return r


@vec("detect", "detected-provider-disabled", "TruTac headers on /webhooks when trutac is not "
     "configured", "provider_disabled")
def _(now):
    return tt_req(S.TRUTAC_CLOCKING, now, route="/webhooks", cfg=config(trutac=None))


@vec("detect", "enabled-false", "a Teamgo delivery when teamgo has secrets but \"enabled\": "
     "false", "provider_disabled")
def _(now):
    return tg_seed(S.TEAMGO_CHECKOUT, now, route="/webhooks",
                   cfg=config(teamgo={"enabled": False, "secrets": [TG_KEY]}))


@vec("detect", "route-mismatch-teamgo-to-inline", "a valid Teamgo delivery posted to "
     "/webhooks/inline: verified as inline (no X-Hub-Signature), never accepted",
     "unauthorized")
def _(now):
    return tg_seed(S.TEAMGO_CHECKOUT, now, route="/webhooks/inline")


@vec("detect", "route-mismatch-trutac-to-oneupvision", "a valid TruTac delivery posted to "
     "/webhooks/oneupvision: no X-ServiceHook-UUID", "unauthorized")
def _(now):
    return tt_req(S.TRUTAC_CLOCKING, now, route="/webhooks/oneupvision")


@vec("detect", "servicehook-header-before-shape", "a valid Teamgo body with one "
     "X-ServiceHook-* header: 1UPVISION is detected by headers first, and refuses it",
     "unauthorized")
def _(now):
    r = tg_seed(S.TEAMGO_CHECKOUT, now, route="/webhooks")
    r["headers"].append(["X-ServiceHook-Event", "visit.checkin"])
    return r


# --------------------------------------------------------------------------
# Building, checking, writing
# --------------------------------------------------------------------------


class VectorError(Exception):
    pass


def _expand(check, vector, event, body_json):
    """Resolves symbolic check values against the request."""
    out = {}
    for k, v in check.items():
        if v == T_RECV:
            v = H.format_received(vector["now_ms"])
        elif v == "<ts>":
            v = H.format_time(int(str(body_json.get("timestamp"))) * 1000)
        elif v == "<body_ts>":
            v = H.format_time(int(body_json.get("timestamp")))
        elif v == "<event_ts>":
            v = None  # resolved below
        elif v in ("<header_ts>", "<header_ms>"):
            stamp = dict((n.lower(), x) for n, x in vector["headers"])["x-servicehook-timestamp"]
            v = H.format_time(H.parse_iso8601(stamp))
        out[k] = v
    return out


def build(v, now_ms):
    """The vector dict for one catalogue entry at `now_ms`, with its computed expectation."""
    r = v.build(now_ms)
    if r.get("now_ms") is None:
        r["now_ms"] = now_ms
    body = r.pop("body")
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    out = {"name": "%s/%s" % (v.dir, v.name), "description": v.description,
           "config": r["config"], "route": r["route"], "client_addr": r["client_addr"],
           "now_ms": r["now_ms"], "headers": r["headers"]}
    try:
        out["body"] = raw.decode("utf-8")
    except UnicodeDecodeError:
        out["body_b64"] = base64.b64encode(raw).decode("ascii")
    try:
        expect = H.process(out["config"], out["route"], out["headers"], raw, out["client_addr"],
                           out["now_ms"])
    except H.Ambiguous as e:
        raise VectorError("%s: more than one fault: %s" % (out["name"], e))
    got = expect.get("status") or expect.get("error")
    if got != v.want:
        raise VectorError("%s: declared %s, the model says %s" % (out["name"], v.want, expect))
    if v.want == "accepted" and v.checks is not None:
        evs = expect["events"]
        if len(evs) != len(v.checks):
            raise VectorError("%s: declared %d events, the model made %d"
                              % (out["name"], len(v.checks), len(evs)))
        body_json = H.parse(raw)
        for i, (check, ev) in enumerate(zip(v.checks, evs)):
            for k, want in _expand(check, out, ev, body_json).items():
                if k == "same_id_as":
                    continue
                if check[k] == "<event_ts>":
                    want = H.format_time(int(body_json.get("events")[i].get("timestamp")))
                have = ev.get(k)
                if k == "data" and want is None:
                    have = ev["data"]
                if have != want:
                    raise VectorError("%s: event %d: %s is %r, declared %r"
                                      % (out["name"], i, k, have, want))
    out["expect"] = expect
    return out


def build_all(now_ms=NOW_MS):
    """[(Vec, vector dict)] for the whole catalogue, numbered per directory."""
    counters = {}
    built = []
    by_name = {}
    for v in CATALOGUE:
        counters[v.dir] = counters.get(v.dir, 0) + 1
        v.file = "%03d-%s.json" % (counters[v.dir], v.name)
        vector = build(v, now_ms)
        vector["name"] = "%s/%s" % (v.dir, v.file[:-5])
        built.append((v, vector))
        by_name[v.name] = vector
    for v, vector in built:
        for i, check in enumerate(v.checks or []):
            other = check.get("same_id_as")
            if other is not None:
                a = vector["expect"]["events"][i]["id"]
                b = by_name[other]["expect"]["events"][i]["id"]
                if a != b:
                    raise VectorError("%s: id %s differs from %s's %s" % (v.name, a, other, b))
    return built


def render(vector):
    return H.dump_pretty(vector) + "\n"


def main(argv):
    check_only = "--check" in argv
    built = build_all(NOW_MS)
    names = set()
    changed = []
    counts = {}
    for v, vector in built:
        path = os.path.join(HERE, v.dir, v.file)
        assert path not in names, path
        names.add(path)
        text = render(vector)
        # the file must read back as JSON and as the same body
        back = json.loads(text)
        assert H.vector_body(back) == H.vector_body(vector)
        counts[v.dir] = counts.get(v.dir, 0) + 1
        old = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                old = f.read()
        if old != text:
            changed.append(path)
            if not check_only:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
    # files of vectors that no longer exist
    stale = []
    for d in sorted(counts):
        if not os.path.isdir(os.path.join(HERE, d)):
            continue
        for f in sorted(os.listdir(os.path.join(HERE, d))):
            p = os.path.join(HERE, d, f)
            if f.endswith(".json") and p not in names:
                stale.append(p)
                if not check_only:
                    os.remove(p)
    total = sum(counts.values())
    print("vectors: %d (%s)" % (total, ", ".join("%s %d" % kv for kv in sorted(counts.items()))))
    if check_only and (changed or stale):
        for p in changed + stale:
            print("out of date: " + os.path.relpath(p, HERE))
        return 1
    if changed or stale:
        print("written: %d, removed: %d" % (len(changed), len(stale)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
