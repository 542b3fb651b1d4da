"""hgvectors - an independent model of hookgate's contract, in Python (stdlib only).

This module never calls the C code. It implements, from /work/shared/DESIGN.md and
tests/vectors/README.md, what a request to hookgate must produce:

  parse()            strict JSON (UTF-8, no duplicate keys, depth <= 64) that keeps
                     every number token's text and every object's wire order
  canonical()        JSON.stringify's text after sorting keys by UTF-16 code units
                     ("deep", "top") or in wire order ("none")
  sign_*()           each provider's signature
  process()          route -> detect -> authenticate -> normalize: the expected
                     answer (HTTP status, status word or error code) and envelopes
  format_time()      RFC 3339 UTC, with or without milliseconds

generate.py uses it to write tests/vectors/*/*.json; the integration tests import it
to sign fresh requests with the current time. When the model cannot tell which of
two refusals comes first (say, a wrong token and a forbidden address), process()
raises Ambiguous: a vector must have exactly one fault.
"""

import base64
import binascii
import datetime as _dt
import hashlib
import hmac
import ipaddress
import json
import re

PROVIDERS = ("teamgo", "inline", "ombori", "trutac", "oneupvision")
MAX_DEPTH = 64
DEFAULT_TOLERANCE_S = 300

VERIFICATION = {"teamgo": "hmac-sha256", "inline": "hmac-sha1", "trutac": "hmac-sha1",
                "oneupvision": "hmac-sha256"}

HTTP = {"accepted": 200, "ping": 200, "invalid_json": 400, "bad_request": 400,
        "unknown_provider": 400, "ambiguous_provider": 400, "unauthorized": 401,
        "stale_timestamp": 401, "forbidden": 403, "not_found": 404,
        "provider_disabled": 404}

# --------------------------------------------------------------------------
# JSON that keeps number tokens and wire order
# --------------------------------------------------------------------------


class Raw(str):
    """A JSON number, kept as the exact token text it had on the wire."""

    def __repr__(self):
        return "Raw(%s)" % str.__repr__(self)


class JObj(list):
    """A JSON object: a list of (key, value) pairs in wire order."""

    def get(self, key, default=None):
        for k, v in self:
            if k == key:
                return v
        return default

    def keys(self):
        return [k for k, _ in self]


class JsonError(ValueError):
    pass


def _no_constant(name):
    raise JsonError("%s is not JSON" % name)


def _pairs(pairs):
    seen = set()
    for k, _ in pairs:
        if k in seen:
            raise JsonError("duplicate key %r" % k)
        seen.add(k)
    return JObj(pairs)


def _depth(v):
    """Nesting depth in containers: 0 for a scalar, 1 for [] or {}."""
    if isinstance(v, JObj):
        return 1 + max((_depth(x) for _, x in v), default=0)
    if isinstance(v, list):
        return 1 + max((_depth(x) for x in v), default=0)
    return 0


def _check_strings(v):
    """Refuses lone surrogates (json.loads lets "\\ud800" through)."""
    stack = [v]
    while stack:
        x = stack.pop()
        if isinstance(x, JObj):
            for k, y in x:
                _check_text(k)
                stack.append(y)
        elif isinstance(x, list):
            stack.extend(x)
        elif isinstance(x, str) and not isinstance(x, Raw):
            _check_text(x)


def _check_text(s):
    if any(0xD800 <= ord(c) <= 0xDFFF for c in s):
        raise JsonError("a string escapes a lone UTF-16 surrogate")


def parse(body, max_depth=MAX_DEPTH):
    """Parses bytes as hookgate does; raises JsonError for anything it refuses."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    try:
        text = body.decode("utf-8")  # strict: no overlong forms, no surrogates
    except UnicodeDecodeError as e:
        raise JsonError("not UTF-8: %s" % e)
    try:
        value = json.loads(text, parse_int=Raw, parse_float=Raw, parse_constant=_no_constant,
                           object_pairs_hook=_pairs)
    except RecursionError:
        raise JsonError("too deep")
    except JsonError:
        raise
    except ValueError as e:
        raise JsonError(str(e))
    if _depth(value) > max_depth:
        raise JsonError("nested deeper than %d" % max_depth)
    _check_strings(value)
    return value


def _utf16_key(k):
    return k.encode("utf-16-be")


_ESC = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
        "\t": "\\t"}


def quote(s):
    """A JSON string as JSON.stringify writes it."""
    out = ['"']
    for ch in s:
        if ch in _ESC:
            out.append(_ESC[ch])
        elif ch < " ":
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def canonical(v, sort="deep", _root=True):
    """JSON.stringify of a parsed value with no white space. sort: "deep" sorts every
    object's keys by UTF-16 code units, "top" only the root's, "none" keeps wire order."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, str):
        return quote(v)
    if isinstance(v, JObj):
        pairs = list(v)
        if sort == "deep" or (sort == "top" and _root):
            pairs.sort(key=lambda kv: _utf16_key(kv[0]))
        return "{" + ",".join(quote(k) + ":" + canonical(x, sort, False) for k, x in pairs) + "}"
    if isinstance(v, list):
        return "[" + ",".join(canonical(x, sort, False) for x in v) + "]"
    raise TypeError("not a parsed JSON value: %r" % (v,))


def canonical_bytes(v, sort="deep"):
    return canonical(v, sort).encode("utf-8")


def to_plain(v):
    """A parsed value as plain Python (dict, list, int/float), for comparing with json.loads."""
    if isinstance(v, Raw):
        return json.loads(v)
    if isinstance(v, JObj):
        return {k: to_plain(x) for k, x in v}
    if isinstance(v, list):
        return [to_plain(x) for x in v]
    return v


# --------------------------------------------------------------------------
# Hashes, signatures, time
# --------------------------------------------------------------------------


def sha256_hex(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def hmac_hex(digest, secret, msg):
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    if isinstance(msg, str):
        msg = msg.encode("utf-8")
    return hmac.new(secret, msg, digest).hexdigest()


def sign_teamgo(secret, timestamp_text, token):
    """Teamgo: hex HMAC-SHA256(key = API key, msg = timestamp text + token)."""
    return hmac_hex(hashlib.sha256, secret, str(timestamp_text) + token)


def sign_inline(secret, body, form="deep"):
    """inline's X-Hub-Signature over the deep-sorted, top-sorted or raw body."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    msg = body if form == "raw" else canonical_bytes(parse(body), form)
    return "sha1=" + hmac_hex(hashlib.sha1, secret, msg)


def sign_trutac(secret, body):
    return "sha1=" + hmac_hex(hashlib.sha1, secret, body)


def sign_oneup(secret, body):
    return hmac_hex(hashlib.sha256, secret, body)


def basic_auth(userpass):
    return "Basic " + base64.b64encode(userpass.encode("utf-8")).decode("ascii")


_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


def format_time(ms, always_ms=False):
    """RFC 3339 UTC: "…:SSZ" when the millisecond part is 0 (unless always_ms),
    else "…:SS.mmmZ"."""
    secs, milli = divmod(int(ms), 1000)
    text = (_EPOCH + _dt.timedelta(seconds=secs)).strftime("%Y-%m-%dT%H:%M:%S")
    if milli == 0 and not always_ms:
        return text + "Z"
    return text + ".%03dZ" % milli


def format_received(ms):
    return format_time(ms, always_ms=True)


_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
                  r"(Z|[+-]\d{2}(?::?\d{2})?)?$")


def parse_iso8601(text):
    """Unix ms of an ISO 8601 date-time (offset Z, +HH, +HHMM, +HH:MM or none = UTC), or None.
    Fractions beyond milliseconds are truncated."""
    if not isinstance(text, str) or isinstance(text, Raw):
        return None
    m = _ISO.match(text)
    if not m:
        return None
    y, mo, d, h, mi, s, frac, off = m.groups()
    try:
        when = _dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s),
                            tzinfo=_dt.timezone.utc)
    except ValueError:
        return None
    ms = int((frac or "0")[:3].ljust(3, "0"))
    offset_s = 0
    if off and off != "Z":
        sign = -1 if off[0] == "-" else 1
        digits = off[1:].replace(":", "")
        oh, om = int(digits[:2]), int(digits[2:4] or "0")
        if oh > 23 or om > 59:
            return None
        offset_s = sign * (oh * 3600 + om * 60)
    secs = int((when - _EPOCH).total_seconds()) - offset_s
    return secs * 1000 + ms


def iso_seconds(epoch_s):
    return format_time(int(epoch_s) * 1000)


# --------------------------------------------------------------------------
# The model: one request in, the expected outcome out
# --------------------------------------------------------------------------


class Refused(Exception):
    def __init__(self, code, why):
        Exception.__init__(self, "%s: %s" % (code, why))
        self.code = code


class Ambiguous(Exception):
    """The request has more than one fault; the contract does not say which wins."""


TEAMGO_CATEGORIES = {"checkin": "visitor.checked_in", "checkout": "visitor.checked_out",
                     "rq_assistance": "visitor.assistance_requested",
                     "courier": "delivery.arrived", "import_success": "import.succeeded",
                     "import_failed": "import.failed"}
TEAMGO_TIME_FIELD = {"checkin": "checkin_time", "checkout": "checkout_time",
                     "rq_assistance": "request_time", "courier": "request_time",
                     "import_success": "import_time", "import_failed": "import_time"}
INLINE_CATEGORIES = {
    "reservation-created": "reservation.created", "reservation-canceled": "reservation.canceled",
    "reservation-uncanceled": "reservation.uncanceled",
    "reservation-time-changed": "reservation.time_changed",
    "reservation-pax-changed": "reservation.pax_changed",
    "reservation-seated": "reservation.seated",
    "reservation-table-changed": "reservation.table_changed",
    "reservation-table-cleaned": "reservation.table_cleaned",
    "voucher-issued": "voucher.issued", "voucher-used": "voucher.used",
    "order-created": "order.created", "order-accepted": "order.accepted",
    "order-ready": "order.ready", "order-cancelled": "order.cancelled",
    "order-pickedup": "order.picked_up"}
OMBORI_CATEGORIES = {
    "positionCreated": "queue.ticket_created", "bookingConfirmation": "queue.booking_confirmed",
    "bookingActivated": "queue.booking_activated", "bookingRemoved": "queue.booking_removed",
    "positionRetry": "queue.retried", "positionCalled": "queue.called",
    "positionFulfilled": "queue.fulfilled", "positionCompleted": "queue.completed",
    "positionCancelled": "queue.cancelled", "positionCancelledByStaff": "queue.cancelled_by_staff",
    "feedbackReceived": "feedback.received"}
TRUTAC_CLOCKING = {"created": "attendance.punched", "updated": "attendance.punch_updated",
                   "deleted": "attendance.punch_deleted"}
ONEUP_CATEGORIES = {
    "visit.checkin": "visitor.checked_in", "visit.checkout": "visitor.checked_out",
    "visit.update": "visitor.updated", "punch.create": "attendance.punched",
    "punch.update": "attendance.punch_updated", "punch.delete": "attendance.punch_deleted",
    "attendance.create": "attendance.day_created", "attendance.update": "attendance.day_updated",
    "people.create": "person.created", "people.update": "person.updated",
    "people.delete": "person.deleted", "people.bulk_create": "person.created",
    "people.bulk_update": "person.updated", "people.bulk_delete": "person.deleted"}

PROVIDER_HEADERS = {"inline": ["X-Hub-Signature"],
                    "trutac": ["TT-Hook-Signature", "TT-Hook-Event"],
                    "oneupvision": ["X-ServiceHook-Event", "X-ServiceHook-Timestamp",
                                    "X-ServiceHook-UUID", "X-ServiceHook-Signature"]}

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_DIGITS = re.compile(r"^[0-9]+$")


class Request:
    def __init__(self, config, route, headers, body, client_addr, now_ms):
        self.config = config
        self.route = route
        self.headers = [(str(n), str(v)) for n, v in headers]
        self.body = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        self.client_addr = client_addr
        self.now_ms = now_ms
        self.provider = None
        self.tenant = None  # the route's last segment
        self.json = None

    def header(self, name):
        for n, v in self.headers:
            if n.lower() == name.lower():
                return v
        return None

    def header_count(self, name):
        return sum(1 for n, _ in self.headers if n.lower() == name.lower())

    def has_header_prefix(self, prefix):
        return any(n.lower().startswith(prefix.lower()) for n, _ in self.headers)

    @property
    def providers(self):
        return self.config.get("providers", {})

    def pconf(self, name):
        return self.providers.get(name)

    @property
    def tolerance_ms(self):
        return int(self.config.get("timestamp_tolerance", DEFAULT_TOLERANCE_S)) * 1000


def split_route(route, prefix="/webhooks"):
    """(provider, tenant) as the gateway routes: /webhooks, /webhooks/p, /webhooks/p/t."""
    if route == prefix:
        return None, None
    if not route.startswith(prefix + "/"):
        raise ValueError("route %r is not under %s" % (route, prefix))
    parts = route[len(prefix) + 1:].split("/")
    if len(parts) == 1 and parts[0]:
        return parts[0], None
    if len(parts) == 2 and parts[0] and parts[1]:
        return parts[0], parts[1]
    raise ValueError("route %r has too many segments" % route)


def enabled(req, name):
    pc = req.pconf(name)
    return pc is not None and pc.get("enabled", True) is not False


def is_obj(v):
    return isinstance(v, JObj)


def is_str(v):
    return isinstance(v, str) and not isinstance(v, Raw)


def teamgo_shape(body):
    return (is_obj(body) and is_str(body.get("token")) and is_str(body.get("signature"))
            and _HEX64.match(body.get("signature")) is not None
            and isinstance(body.get("timestamp"), str) and is_str(body.get("type"))
            and is_obj(body.get("data")))


def inline_shape(body):
    return (is_obj(body) and isinstance(body.get("events"), list)
            and not isinstance(body.get("events"), JObj)
            and isinstance(body.get("timestamp"), Raw))


def ombori_shape(body):
    if not is_obj(body):
        return False
    t, data, org = body.get("type"), body.get("data"), body.get("organization")
    return (is_str(t) and t.startswith(("position", "booking", "feedback")) and is_obj(data)
            and is_obj(data.get("position")) and is_str(org))


def detect(req):
    by_headers = []
    if req.header("X-Hub-Signature") is not None and inline_shape(req.json):
        by_headers.append("inline")
    if req.header("TT-Hook-Signature") is not None or req.header("TT-Hook-Event") is not None:
        by_headers.append("trutac")
    if req.has_header_prefix("X-ServiceHook-"):
        by_headers.append("oneupvision")
    if len(by_headers) == 1:
        return by_headers[0]
    if by_headers:
        raise Refused("ambiguous_provider", "headers of " + ", ".join(by_headers))
    by_shape = [p for p, f in (("teamgo", teamgo_shape), ("ombori", ombori_shape))
                if f(req.json)]
    if len(by_shape) == 1:
        return by_shape[0]
    if by_shape:
        raise Refused("ambiguous_provider", "shape of " + ", ".join(by_shape))
    raise Refused("unknown_provider", "no provider recognised")


def secrets_for(req, name, tenant):
    """The secrets to verify against: the route tenant's, else the provider's."""
    pc = req.pconf(name)
    if tenant is not None:
        t = pc.get("tenants", {}).get(tenant)
        if t is None:
            raise Refused("unauthorized", "unknown tenant")
        return t["secrets"], tenant
    if not pc.get("secrets"):
        raise Refused("unauthorized", "no provider-wide secret")
    return pc["secrets"], None


def hex_matches(expected_hex, presented):
    return presented.lower() == expected_hex.lower()


def check_fresh(req, ts_ms):
    if abs(req.now_ms - ts_ms) > req.tolerance_ms:
        raise Refused("stale_timestamp", "outside the tolerance")


def text_of(v):
    """A subject: a string as is, a number as its token text; else None."""
    if isinstance(v, str):
        return str(v)
    return None


def event(req, provider, *, id_hex, name, category, subject, time_ms, data, verification):
    ev = {"id": "%s:%s" % (provider, id_hex), "type": "%s.%s" % (provider, name),
          "category": category, "provider": provider, "source": "/webhooks/" + provider}
    tenant = getattr(req, "event_tenant", None)
    if tenant is not None:
        ev["tenant"] = tenant
    if subject is not None:
        ev["subject"] = subject
    ev["time"] = format_received(req.now_ms) if time_ms is None else format_time(time_ms)
    ev["verification"] = verification
    ev["data"] = data
    return ev


# -- teamgo -----------------------------------------------------------------


def teamgo(req):
    body = req.json
    secrets, req.event_tenant = secrets_for(req, "teamgo", req.tenant)
    if not is_obj(body):
        raise Refused("bad_request", "not an object")
    token, sig, ts = body.get("token"), body.get("signature"), body.get("timestamp")
    if not is_str(token) or not is_str(sig) or not isinstance(ts, str):
        raise Refused("unauthorized", "token, signature or timestamp missing")
    ts_text = str(ts)
    if not any(hex_matches(sign_teamgo(s, ts_text, token), sig) for s in secrets):
        raise Refused("unauthorized", "signature does not match")
    if not _DIGITS.match(ts_text):
        raise Refused("unauthorized", "timestamp is not unix seconds")
    ts_ms = int(ts_text) * 1000
    check_fresh(req, ts_ms)
    type_, data = body.get("type"), body.get("data")
    if not is_str(type_) or not is_obj(data):
        raise Refused("bad_request", "type or data missing")
    time_ms = None
    field = TEAMGO_TIME_FIELD.get(type_)
    if field is not None:
        time_ms = parse_iso8601(data.get(field))
    if time_ms is None:
        time_ms = ts_ms
    subject = text_of(data.get("pass_id"))
    if subject is None and is_str(data.get("host_email")):
        subject = data.get("host_email")
    id_hex = sha256_hex(type_ + "\n" + canonical(data, "deep"))
    return [event(req, "teamgo", id_hex=id_hex, name=type_,
                  category=TEAMGO_CATEGORIES.get(type_, "other"), subject=subject,
                  time_ms=time_ms, data=data, verification="hmac-sha256")]


# -- inline -----------------------------------------------------------------


def inline(req):
    body = req.json
    secrets, req.event_tenant = secrets_for(req, "inline", req.tenant)
    sig = req.header("X-Hub-Signature")
    if sig is None:
        raise Refused("unauthorized", "missing X-Hub-Signature")
    if not sig.startswith("sha1="):
        raise Refused("unauthorized", "not sha1=<hex>")
    forms = [req.body, canonical_bytes(body, "deep"), canonical_bytes(body, "top")]
    if not any(hex_matches(hmac_hex(hashlib.sha1, s, f), sig[5:]) for s in secrets
               for f in forms):
        raise Refused("unauthorized", "signature does not match")
    if not inline_shape(body):
        raise Refused("bad_request", "not {timestamp, events}")
    if not _DIGITS.match(body.get("timestamp")):
        raise Refused("bad_request", "timestamp is not unix milliseconds")
    ts_ms = int(body.get("timestamp"))
    check_fresh(req, ts_ms)
    out = []
    for ev in body.get("events"):
        if not is_obj(ev) or not is_str(ev.get("type")):
            raise Refused("bad_request", "an event is not an object with a string type")
        ets = ev.get("timestamp")
        time_ms = int(ets) if isinstance(ets, Raw) and _DIGITS.match(ets) else ts_ms
        data = ev.get("data")
        subject = text_of(data.get("id")) if is_obj(data) else None
        out.append(event(req, "inline", id_hex=sha256_hex(canonical(ev, "deep")),
                         name=ev.get("type"),
                         category=INLINE_CATEGORIES.get(ev.get("type"), "other"),
                         subject=subject, time_ms=time_ms, data=data,
                         verification="hmac-sha1"))
    return out


# -- ombori -----------------------------------------------------------------


def _in_any(addr, cidrs):
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    for c in cidrs:
        net = ipaddress.ip_network(c, strict=False)
        if ip.version == net.version and ip in net:
            return True
    return False


def client_address(req):
    """The peer, or, when the peer is a trusted proxy, the first untrusted address of
    X-Forwarded-For read right to left (all trusted: the leftmost)."""
    trusted = req.config.get("trusted_proxies", [])
    xff = req.header("X-Forwarded-For")
    if xff is None or not _in_any(req.client_addr, trusted):
        return req.client_addr
    hops = [h.strip() for h in xff.split(",")]
    for hop in reversed(hops):
        if not _in_any(hop, trusted):
            return hop
    return hops[0]


def ombori(req):
    auth = req.pconf("ombori").get("auth")
    failures = []
    methods = []
    if auth != "none":
        if "tokens" in auth:
            methods.append("token")
            presented = []
            if req.tenant is not None:
                presented.append(req.tenant)
            if auth.get("token_header") and req.header(auth["token_header"]) is not None:
                presented.append(req.header(auth["token_header"]))
            if not presented or any(p not in auth["tokens"] for p in presented):
                failures.append("unauthorized")
        if "basic" in auth:
            methods.append("basic")
            h = req.header("Authorization") or ""
            ok = False
            if h[:6].lower() == "basic ":
                try:
                    creds = base64.b64decode(h[6:].strip(), validate=True)
                    ok = any(creds == e.encode("utf-8") for e in auth["basic"])
                except (binascii.Error, ValueError):
                    ok = False
            if not ok:
                failures.append("unauthorized")
        if "allow_ips" in auth:
            methods.append("ip")
            if not _in_any(client_address(req), auth["allow_ips"]):
                failures.append("forbidden")
    if len(set(failures)) > 1:
        raise Ambiguous("ombori: both %s" % " and ".join(sorted(set(failures))))
    if failures:
        raise Refused(failures[0], "ombori auth")
    body = req.json
    if not ombori_shape(body):
        raise Refused("bad_request", "not ombori's shape")
    req.event_tenant = None
    type_ = body.get("type")
    return [event(req, "ombori", id_hex=sha256_hex(req.body), name=type_,
                  category=OMBORI_CATEGORIES.get(type_, "other"),
                  subject=text_of(body.get("data").get("position").get("id")), time_ms=None,
                  data=body, verification="+".join(methods) if methods else "none")]


# -- trutac -----------------------------------------------------------------


def member_id(body, member=None):
    if not is_obj(body):
        return None
    if member is not None:
        m = body.get(member)
        return text_of(m.get("id")) if is_obj(m) else None
    for _, m in body:
        if is_obj(m) and text_of(m.get("id")) is not None:
            return text_of(m.get("id"))
    return None


def trutac(req):
    secrets, req.event_tenant = secrets_for(req, "trutac", req.tenant)
    sig = req.header("TT-Hook-Signature")
    if sig is None or not sig.startswith("sha1="):
        raise Refused("unauthorized", "missing or malformed TT-Hook-Signature")
    if not any(hex_matches(hmac_hex(hashlib.sha1, s, req.body), sig[5:]) for s in secrets):
        raise Refused("unauthorized", "signature does not match")
    ev = req.header("TT-Hook-Event")
    if not ev:
        raise Refused("bad_request", "missing TT-Hook-Event")
    if ev == "ping":
        return "ping"
    body = req.json
    if not is_obj(body):
        raise Refused("bad_request", "not an object")
    category = "other"
    if ev == "clocking" and is_str(body.get("action")):
        category = TRUTAC_CLOCKING.get(body.get("action"), "other")
    subject = member_id(body, ev)
    if subject is None:
        subject = member_id(body)
    return [event(req, "trutac", id_hex=sha256_hex(req.body), name=ev, category=category,
                  subject=subject, time_ms=None, data=body, verification="hmac-sha1")]


# -- oneupvision --------------------------------------------------------------


def oneupvision(req):
    pc = req.pconf("oneupvision")
    uuid = req.header("X-ServiceHook-UUID")
    tenant = None
    if req.tenant is not None:
        if uuid is not None and uuid != req.tenant:
            raise Refused("unauthorized", "UUID differs from the path")
        tenant = req.tenant
    elif pc.get("tenants"):
        if uuid is None:
            raise Refused("unauthorized", "missing X-ServiceHook-UUID")
        tenant = uuid
    secrets, req.event_tenant = secrets_for(req, "oneupvision", tenant)
    sig = req.header("X-ServiceHook-Signature")
    if sig is None or not any(hex_matches(hmac_hex(hashlib.sha256, s, req.body), sig)
                              for s in secrets):
        raise Refused("unauthorized", "missing or wrong signature")
    ts = req.header("X-ServiceHook-Timestamp")
    ts_ms = parse_iso8601(ts) if ts is not None else None
    if ts_ms is None:
        raise Refused("unauthorized", "missing or malformed timestamp")
    check_fresh(req, ts_ms)
    ev = req.header("X-ServiceHook-Event")
    if not ev:
        raise Refused("bad_request", "missing X-ServiceHook-Event")
    body = req.json
    if not is_obj(body):
        raise Refused("bad_request", "not an object")
    return [event(req, "oneupvision", id_hex=sha256_hex(req.body), name=ev,
                  category=ONEUP_CATEGORIES.get(ev, "other"), subject=member_id(body),
                  time_ms=ts_ms, data=body, verification="hmac-sha256")]


HANDLERS = {"teamgo": teamgo, "inline": inline, "ombori": ombori, "trutac": trutac,
            "oneupvision": oneupvision}


def _run(req):
    prefix = req.config.get("path_prefix", "/webhooks")
    req.provider, req.tenant = split_route(req.route, prefix)
    if req.provider is not None:
        if req.provider not in PROVIDERS:
            raise Refused("not_found", "no such provider")
        if not enabled(req, req.provider):
            raise Refused("provider_disabled", req.provider)
    try:
        req.json = parse(req.body)
    except JsonError as e:
        raise Refused("invalid_json", str(e))
    if req.provider is None:
        req.provider = detect(req)
        if not enabled(req, req.provider):
            raise Refused("provider_disabled", req.provider)
    for h in PROVIDER_HEADERS.get(req.provider, []):
        if req.header_count(h) > 1:
            raise Refused("bad_request", "header %s repeated" % h)
    return HANDLERS[req.provider](req)


def process(config, route, headers, body, client_addr="127.0.0.1", now_ms=0):
    """The expected outcome: {"http", "status" or "error", "events"}."""
    req = Request(config, route, headers, body, client_addr, now_ms)
    try:
        events = _run(req)
    except Refused as r:
        return {"http": HTTP[r.code], "error": r.code, "events": []}
    if events == "ping":
        return {"http": 200, "status": "ping", "events": []}
    return {"http": 200, "status": "accepted", "events": events}


def process_vector(v):
    body = v["body"].encode("utf-8") if "body" in v else base64.b64decode(v["body_b64"])
    return process(v["config"], v["route"], v["headers"], body,
                   v.get("client_addr", "127.0.0.1"), v["now_ms"])


def vector_body(v):
    """The raw body bytes of a vector."""
    return v["body"].encode("utf-8") if "body" in v else base64.b64decode(v["body_b64"])


# --------------------------------------------------------------------------
# Writing vector files: pretty, deterministic, numbers kept as tokens
# --------------------------------------------------------------------------


def _dump_str(s):
    return json.dumps(s, ensure_ascii=False)


def dump_pretty(v, indent=0, inline_lists=False):
    pad = "  " * (indent + 1)
    end = "  " * indent
    if v is None or v is True or v is False:
        return json.dumps(v)
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, bool):
        return json.dumps(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return _dump_str(v)
    if isinstance(v, (JObj, dict)):
        pairs = list(v) if isinstance(v, JObj) else list(v.items())
        if not pairs:
            return "{}"
        return "{\n" + ",\n".join(pad + _dump_str(k) + ": " + dump_pretty(x, indent + 1)
                                  for k, x in pairs) + "\n" + end + "}"
    if isinstance(v, (list, tuple)):
        if not v:
            return "[]"
        if all(x is None or isinstance(x, (str, int)) for x in v) and len(v) <= 8:
            # short lists of scalars (secrets, CIDRs) on one line
            return "[" + ", ".join(dump_pretty(x, indent + 1) for x in v) + "]"
        if all(isinstance(x, (list, tuple)) and all(isinstance(y, str) for y in x) for x in v):
            # headers: one [name, value] pair a line
            return "[\n" + ",\n".join(pad + "[" + ", ".join(_dump_str(y) for y in x) + "]"
                                      for x in v) + "\n" + end + "]"
        return "[\n" + ",\n".join(pad + dump_pretty(x, indent + 1) for x in v) + "\n" + end + "]"
    raise TypeError("cannot write %r" % (v,))
