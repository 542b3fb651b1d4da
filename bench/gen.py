#!/usr/bin/env python3
"""gen.py - pre-signed webhook requests for the benchmark (stdlib only).

Writes COUNT distinct, correctly signed requests of one provider as raw HTTP/1.1
requests, dealt round-robin into SPLIT files (OUT.0, OUT.1, ...: one per wrk thread,
see bench/wrk/requests.lua), each record "<length>\\n<raw request bytes>", plus
OUT.meta.json (count, body sizes, events per request).

Signing uses tests/vectors/hgvectors.py, the project's independent Python model of
every provider's contract; the bodies are the providers' documented examples
(tests/vectors/hgseeds.py) with distinct ids, filled out to realistic sizes.

  bench/gen.py trutac --count 50000 --size 1536 --split 2 --out /tmp/x/trutac
  bench/gen.py inline --count 50000 --split 2 --out /tmp/x/inline

Every request is distinct, so each accepted one adds new stream entries: TruTac,
1UPVISION and Ombori events are identified by the sha256 of the body, Teamgo's by its
type and data (pass_id differs), inline's by each event (data.id differs). Teamgo's
and inline's timestamps, and 1UPVISION's header timestamp, are "now": they are valid
for timestamp_tolerance (300 s) from the moment they are generated, and Teamgo tokens
are single-use, so generate them right before the run that sends them.
"""

import argparse
import hashlib
import json
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "vectors"))

import hgseeds  # noqa: E402
import hgvectors  # noqa: E402

PROVIDERS = ("teamgo", "inline", "ombori", "trutac", "oneupvision")

# Bench-only credentials: the gateway's temporary config (bench.py) uses the same.
SECRETS = {
    "teamgo": "bench-teamgo-api-key-5f1e2d",
    "inline": "bench-inline-secret-8a7b6c",
    "trutac": "bench-trutac-secret-3c4d5e",
    "oneupvision": "bench-oneup-secret-9e8f7a",
}
OMBORI_TOKEN = "bench-ombori-token-1a2b3c4d"
OMBORI_HEADER = "X-Webhook-Token"
ONEUP_UUID = hgseeds.ONEUP_SEED_UUID

# Stream entries one accepted request adds (inline: one per event of the batch).
INLINE_BATCH = 3
EVENTS_PER_REQUEST = {"teamgo": 1, "inline": INLINE_BATCH, "ombori": 1, "trutac": 1,
                      "oneupvision": 1}

DEFAULT_SIZE = 1536  # "realistic bodies of about 1-2 KB"

FIRST_NAMES = ["Rohit", "Anna", "Ken", "Maria", "Lars", "Chieh", "Bob", "Aiko", "Sven", "Noor",
               "Pedro", "Fatima", "Ole", "Mei", "Jonas", "Priya"]
LAST_NAMES = ["Jones", "Chen", "Larsen", "Kumar", "Silva", "Nakamura", "Berg", "Haddad",
              "Novak", "Okafor", "Rossi", "Schmidt"]
PLACES = ["Depot North", "Main Entrance - Headquarter", "Warehouse 3", "Gate B",
          "Sales - Living Room", "Terminal 1", "Loading Bay 7", "Reception"]


def compact(obj):
    """The wire form: compact JSON in the object's own key order, UTF-8."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def iso(epoch_s, frac=False):
    t = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_s))
    return t + (".%06dZ" % (int(epoch_s * 1e6) % 1000000) if frac else "Z")


NOTES = "Checked at the gate, paperwork complete, no remarks. " * 40


def pad_to(obj, key, size):
    """Adds obj[key] = a filler string so that compact(obj) is exactly `size` bytes
    (when the object without it is already smaller); returns the body bytes."""
    obj[key] = ""
    base = len(compact(obj))
    if size > base:
        filler = ("Checked at the gate, paperwork complete, no remarks. " * (size // 50 + 2))
        obj[key] = filler[: size - base]
    return compact(obj)


# --------------------------------------------------------------------------
# Bodies (the providers' documented examples, distinct per request)
# --------------------------------------------------------------------------


_ACTIVITY_POOL = {}


def activity_pool(now, n=1024):
    """Compact JSON texts of tachograph activity records, made once per run (building
    64 KB bodies record by record would make generation far slower than the runs)."""
    key = int(now)
    if key not in _ACTIVITY_POOL:
        rnd = random.Random(key)
        start, pool = key - 86400, []
        for _ in range(n):
            start += rnd.randrange(60, 600)
            pool.append(compact({
                "type": rnd.choice(("driving", "rest", "work", "availability")),
                "start": iso(start), "end": iso(start + rnd.randrange(60, 3600)),
                "distanceKm": rnd.randrange(0, 200), "speedAvgKmh": rnd.randrange(0, 90),
                "ref": "%08x" % rnd.getrandbits(32)}))
        _ACTIVITY_POOL.clear()
        _ACTIVITY_POOL[key] = pool
    return _ACTIVITY_POOL[key]


def trutac_body(i, rnd, size, now):
    """A TruTac clocking: the documented example with a driver, vehicle, location and
    tachograph activities; exactly `size` bytes (activities, then a notes string)."""
    clocking = {
        "id": "CLOCKING-%08d-%06x" % (i, rnd.getrandbits(24)),
        "driverId": "DRIVER-ID-%05d" % rnd.randrange(100000),
        "clockingTimeStamp": iso(now - rnd.randrange(3600))[:-1],
        "isClockIn": bool(i % 2),
        "driver": {"firstName": rnd.choice(FIRST_NAMES), "lastName": rnd.choice(LAST_NAMES),
                   "cardNumber": "DB%014d" % rnd.randrange(10 ** 14),
                   "depot": rnd.choice(PLACES)},
        "vehicle": {"registration": "AB%02d CDE" % rnd.randrange(100),
                    "fleetNumber": "F-%04d" % rnd.randrange(10000),
                    "odometerKm": rnd.randrange(900000)},
        "location": {"lat": round(rnd.uniform(50, 59), 6), "lon": round(rnd.uniform(-6, 2), 6),
                     "accuracyM": rnd.randrange(3, 40), "address": rnd.choice(PLACES)},
        "device": {"type": "TT-Clock", "serial": "TTC-%08X" % rnd.getrandbits(32),
                   "firmware": "4.%d.%d" % (rnd.randrange(10), rnd.randrange(100))},
    }
    action = rnd.choice((b"created", b"created", b"created", b"updated"))
    head = b'{"action":"' + action + b'","clocking":' + compact(clocking)[:-1] + \
        b',"activities":['
    tail = b'],"notes":"'
    end = b'"}}'
    pool = activity_pool(now)
    k = rnd.randrange(len(pool))
    acts, length = [], len(head) + len(tail) + len(end)
    while length + 200 < size:
        act = pool[k % len(pool)]
        length += len(act) + (1 if acts else 0)
        acts.append(act)
        k += 1
    notes = (NOTES * ((size - length) // len(NOTES) + 1))[: max(0, size - length)]
    return head + b",".join(acts) + tail + notes.encode("ascii") + end


def teamgo_data(i, rnd, now):
    data = json.loads(hgseeds.TEAMGO_CHECKOUT)["data"]
    data.pop("checkout_time", None)
    data["pass_id"] = "%d" % (20000000 + i)
    first, last = rnd.choice(FIRST_NAMES), rnd.choice(LAST_NAMES)
    data["full_name"] = "%s %s" % (first, last)
    data["email"] = "%s.%s.%d@example.com" % (first.lower(), last.lower(), i)
    data["mobile"] = "+61%010d" % rnd.randrange(10 ** 10)
    data["terminal"] = "Terminal %d" % rnd.randrange(1, 9)
    data["location"] = rnd.choice(PLACES)
    data["checkin_time"] = time.strftime("%Y-%m-%dT%H:%M:%S+00",
                                         time.gmtime(now - rnd.randrange(60)))
    data["extra_fields"] = [
        {"field": "Are you an American citizen?", "value": rnd.choice(("Yes", "No"))},
        {"field": "Vehicle registration", "value": "ABC-%03d" % rnd.randrange(1000)},
        {"field": "Purpose of visit", "value": "Scheduled maintenance of the loading docks"},
        {"field": "Safety induction completed", "value": "Yes"},
    ]
    return data


def teamgo_request(i, rnd, size, now):
    ts = "%d" % int(now)
    token = "%032x" % rnd.getrandbits(128)
    body = {"type": "checkin", "timestamp": ts, "token": token,
            "signature": hgvectors.sign_teamgo(SECRETS["teamgo"], ts, token),
            "data": teamgo_data(i, rnd, now)}
    overhead = len(compact(body)) - len(compact(body["data"]))
    pad_to(body["data"], "notes", size - overhead)
    return "/webhooks/teamgo", [], compact(body)


def inline_event(i, k, rnd, now_ms):
    data = json.loads(hgseeds.INLINE_RESERVATION_DATA)
    for drop in ("thirdPartyMember", "order", "contact"):
        data.pop(drop)
    data["id"] = "-LR%08d%02d%06x" % (i, k, rnd.getrandbits(24))
    data["tables"] = [{"name": "%s%d" % (rnd.choice("ABCD"), rnd.randrange(1, 30))}]
    data["branchId"] = "-LBR%04d" % rnd.randrange(10000)
    data["companyId"] = "-LCO%04d" % rnd.randrange(1000)
    data["groupSize"] = rnd.randrange(1, 9)
    data["customer"]["name"] = "%s %s" % (rnd.choice(FIRST_NAMES), rnd.choice(LAST_NAMES))
    data["reservationTime"] = now_ms + rnd.randrange(86400000)
    data["createdTime"] = now_ms - rnd.randrange(86400000)
    data["serialNumber"] = "%d" % (1000 + i)
    kind = ("reservation-created", "reservation-seated", "reservation-table-changed")[k % 3]
    return {"type": kind, "data": data, "timestamp": now_ms - rnd.randrange(1000)}


def inline_request(i, rnd, size, now):
    now_ms = int(now * 1000)
    body = {"timestamp": now_ms,
            "events": [inline_event(i, k, rnd, now_ms) for k in range(INLINE_BATCH)]}
    raw = compact(body)
    # inline signs the payload with keys sorted ascending (deep): JSON.stringify of it.
    # The bodies hold only ASCII keys, strings and numbers whose Python and JavaScript
    # texts agree, so json.dumps(sort_keys=True) is that form; verified against
    # hgvectors (parse + canonical) for the first requests of every file.
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"),
                       ensure_ascii=False).encode("utf-8")
    sig = "sha1=" + hgvectors.hmac_hex(hashlib.sha1, SECRETS["inline"], canon)
    if i < 20:
        assert sig == hgvectors.sign_inline(SECRETS["inline"], raw, "deep"), "inline canon"
    return "/webhooks/inline", [("X-Hub-Signature", sig)], raw


def ombori_request(i, rnd, size, now):
    body = json.loads(hgseeds.OMBORI_POSITION_CANCELLED)
    pos = body["data"]["position"]
    pid = "%08x-%04x-4%03x-8%03x-%012x" % (rnd.getrandbits(32), rnd.getrandbits(16),
                                          rnd.getrandbits(12), rnd.getrandbits(12), i)
    pos["id"] = pid
    pos["QRCodeCheckInPositionId"] = json.dumps(
        {"type": "check-in-position", "positionId": pid}, separators=(",", ":"))
    pos["createdAt"] = iso(now - rnd.randrange(86400))
    pos["numberOfPeople"] = rnd.randrange(1, 6)
    pos["notification"]["settings"]["to"] = "+46%09d" % rnd.randrange(10 ** 9)
    pos["customer"] = {"name": "%s %s" % (rnd.choice(FIRST_NAMES), rnd.choice(LAST_NAMES)),
                       "language": rnd.choice(("en", "sv", "de")),
                       "customFields": [{"key": "reason", "value": "Kitchen planning"},
                                        {"key": "store", "value": "Stockholm Kungens Kurva"}]}
    body["type"] = rnd.choice(("positionCalled", "positionCreated", "positionFulfilled"))
    overhead = len(compact(body)) - len(compact(pos))
    pad_to(pos, "label", size - overhead)
    return "/webhooks/ombori", [(OMBORI_HEADER, OMBORI_TOKEN)], compact(body)


def oneup_request(i, rnd, size, now):
    body = json.loads(hgseeds.ONEUP_PUNCH_CREATE)
    punch = body["punch"]
    punch["id"] = 1000000 + i
    punch["punched_at"] = iso(now - rnd.random() * 60, frac=True)
    punch["punch_type"] = rnd.choice(("IN", "OUT"))
    person = punch["person"]
    person["id"] = rnd.randrange(1, 100000)
    person["first_name"] = rnd.choice(FIRST_NAMES)
    person["last_name"] = rnd.choice(LAST_NAMES)
    person["mobile_number"] = "+91 %010d" % rnd.randrange(10 ** 10)
    person["email"] = "%s.%d@example.com" % (person["first_name"].lower(), person["id"])
    overhead = len(compact(body)) - len(compact(punch))
    pad_to(punch, "note", size - overhead)
    raw = compact(body)
    headers = [("X-ServiceHook-Event", "punch.create"),
               ("X-ServiceHook-Timestamp", iso(int(now))),
               ("X-ServiceHook-UUID", ONEUP_UUID),
               ("X-ServiceHook-Signature", hgvectors.sign_oneup(SECRETS["oneupvision"], raw))]
    return "/webhooks/oneupvision", headers, raw


def trutac_request(i, rnd, size, now):
    raw = trutac_body(i, rnd, size, now)
    return "/webhooks/trutac", [("TT-Hook-Event", "clocking"),
                                ("TT-Hook-Signature",
                                 hgvectors.sign_trutac(SECRETS["trutac"], raw))], raw


BUILDERS = {"teamgo": teamgo_request, "inline": inline_request, "ombori": ombori_request,
            "trutac": trutac_request, "oneupvision": oneup_request}


def raw_request(path, headers, body, host="127.0.0.1"):
    head = ["POST %s HTTP/1.1" % path, "Host: %s" % host, "Content-Type: application/json",
            "Content-Length: %d" % len(body)]
    head += ["%s: %s" % (n, v) for n, v in headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + body


def generate(provider, count, out, size=DEFAULT_SIZE, split=2, seed=1, now=None):
    """Writes the request files; returns the metadata it also writes to OUT.meta.json."""
    if provider not in BUILDERS:
        raise ValueError("unknown provider %r" % provider)
    now = time.time() if now is None else now
    rnd = random.Random("%s/%d/%d" % (provider, size, seed))
    files = [open("%s.%d" % (out, k), "wb") for k in range(split)]
    total_body = total_raw = 0
    min_body, max_body = 1 << 60, 0
    digests = set()
    try:
        for i in range(count):
            path, headers, body = BUILDERS[provider](i, rnd, size, now)
            raw = raw_request(path, headers, body)
            files[i % split].write(b"%d\n" % len(raw))
            files[i % split].write(raw)
            total_body += len(body)
            total_raw += len(raw)
            min_body, max_body = min(min_body, len(body)), max(max_body, len(body))
            if i < 2000:
                digests.add(hashlib.sha256(body).digest())
    finally:
        for f in files:
            f.close()
    if len(digests) != min(count, 2000):
        raise RuntimeError("%s: bodies are not distinct" % provider)
    meta = {"provider": provider, "count": count, "split": split, "size_target": size,
            "body_bytes_mean": round(total_body / max(count, 1), 1), "body_bytes_min": min_body,
            "body_bytes_max": max_body, "request_bytes_mean": round(total_raw / max(count, 1), 1),
            "events_per_request": EVENTS_PER_REQUEST[provider], "generated_at": now,
            "files": ["%s.%d" % (out, k) for k in range(split)]}
    with open(out + ".meta.json", "w") as f:
        json.dump(meta, f, indent=1)
    return meta


def check_with_model(provider, n=5, size=DEFAULT_SIZE, now=None):
    """Runs a few generated requests through hgvectors.process (the contract model):
    each must be accepted with EVENTS_PER_REQUEST events."""
    now = time.time() if now is None else now
    config = {"providers": {
        "teamgo": {"secrets": [SECRETS["teamgo"]]},
        "inline": {"secrets": [SECRETS["inline"]]},
        "trutac": {"secrets": [SECRETS["trutac"]]},
        "oneupvision": {"tenants": {ONEUP_UUID: {"secrets": [SECRETS["oneupvision"]]}}},
        "ombori": {"auth": {"tokens": [OMBORI_TOKEN], "token_header": OMBORI_HEADER}}}}
    rnd = random.Random(7)
    for i in range(n):
        path, headers, body = BUILDERS[provider](i, rnd, size, now)
        hdrs = [("Content-Type", "application/json")] + headers
        got = hgvectors.process(config, path, hdrs, body, "127.0.0.1", int(now * 1000))
        if got.get("status") != "accepted" or len(got["events"]) != EVENTS_PER_REQUEST[provider]:
            raise RuntimeError("%s request %d not accepted by the model: %r" % (provider, i, got))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("provider", choices=PROVIDERS)
    ap.add_argument("--count", type=int, default=50000)
    ap.add_argument("--size", type=int, default=DEFAULT_SIZE,
                    help="body size in bytes (exact for trutac; about, for the others)")
    ap.add_argument("--split", type=int, default=2, help="files (wrk threads)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True, help="output prefix")
    a = ap.parse_args()
    check_with_model(a.provider, size=a.size)
    meta = generate(a.provider, a.count, a.out, a.size, a.split, a.seed)
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
