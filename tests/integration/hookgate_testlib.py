"""Shared machinery for hookgate's integration tests (fixtures are in conftest.py).

Everything here is real: a `redis-server` started on a free loopback port in a
pytest temporary directory, the hookgate binary (HOOKGATE_BIN) started with a
JSON config written next to it, and HTTP over real sockets (http.client).

Reusable pieces for provider test modules:
  RedisServer        start/stop one redis-server by PID (never any other)
  Gateway            write config, start, wait for /healthz, send requests,
                     stop with SIGTERM and check exit status and stderr
  start_gateway()    context manager used by module-scoped fixtures
  sign_* / *_headers signing helpers per provider
  assert_* helpers   answers, envelopes, stream entries, dedup keys
"""

import contextlib
import copy
import datetime as dt
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest
import redis

HOOKGATE_BIN = os.environ.get("HOOKGATE_BIN") or "/work/main/build/hookgate"
# A command the gateway runs under, e.g. valgrind (make check-valgrind): its
# exit status must still be 0, so a wrapper that reports errors through the
# exit status (valgrind --error-exitcode) fails the test that found them.
HOOKGATE_WRAPPER = os.environ.get("HOOKGATE_WRAPPER", "").split()
SANITIZER = os.environ.get("SANITIZER", "")
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"

# --------------------------------------------------------------------------
# Test secrets. Distinctive strings, so that "never logged" checks are exact.
# --------------------------------------------------------------------------

TT_SECRET_NEW = "tt-new-secret-4b9d7e21c0"
TT_SECRET_OLD = "tt-old-secret-0a5c3f88d1"
TT_SECRET_UNCONFIGURED = "tt-third-secret-77e1a9b3f2"
TT_TENANT = "fleet-a"
TT_TENANT_SECRET = "tenant-a-secret-6d2f90ab"
ONEUP_UUID = "1dc54786-9d69-487a-8c17-407ff20d0bdc"
ONEUP_SECRET = "oneup-secret-e83b17c5a4"
ONEUP_OTHER_UUID = "00000000-1111-2222-3333-444444444444"

ALL_SECRETS = [TT_SECRET_NEW, TT_SECRET_OLD, TT_TENANT_SECRET, ONEUP_SECRET]

SECRET_ENV = {"TT_SECRET_NEW": TT_SECRET_NEW, "TT_SECRET_OLD": TT_SECRET_OLD}

# --------------------------------------------------------------------------
# Seed bodies (JSON-corrected copies of /work/shared/seeds/003 and 004).
# --------------------------------------------------------------------------

TRUTAC_SEED = b"""{
"action": "created",
"clocking": {
"id": "CLOCKING-ID-123",
"driverId": "DRIVER-ID-123",
"clockingTimeStamp": "2018-01-01T09:01:53",
"isClockIn": true
}
}"""

ONEUP_SEED = (
    b'{"punch":{"id":2,"punched_at":"2022-08-28T17:36:59.163781Z","punch_type":"IN",'
    b'"photo_url":"","body_temp":null,"body_temp_unit":null,"body_temp_status":null,'
    b'"person":{"id":1,"first_name":"Rohit","last_name":"","mobile_number":"+91 9999999999",'
    b'"email":"","dob":null,"primary_face_image_url":"","picture_url":null,'
    b'"people_custom_data":{"data":[],"form_schema_revision_id":1},'
    b'"people_form_schema_revision_id":1,"is_blacklisted":false,'
    b'"created_at":"2023-06-14T06:23:40.675961Z"},"shift":{"id":1,"name":"Flexible Shift",'
    b'"code":"flexible-shift","type":"FLEXIBLE","created_at":"2022-02-02T12:12:09.798381Z",'
    b'"updated_at":"2022-02-02T12:12:09.798398Z"},"attendance":{"id":1,'
    b'"attendance_date":"2022-08-28","shift_id":1,"person_id":1,'
    b'"created_at":"2022-08-28T04:06:37.512632Z","updated_at":"2022-08-28T17:36:59.683209Z"},'
    b'"created_at":"2022-08-28T17:36:59.540351Z","updated_at":"2022-08-28T17:36:59.540375Z",'
    b'"space_id":1,"organization_id":1}}'
)


def trutac_body(action="created", clocking_id="CLOCKING-ID-123", **extra):
    """A TruTac clocking body in the seed's shape; distinct ids give distinct events."""
    clocking = {
        "id": clocking_id,
        "driverId": "DRIVER-ID-123",
        "clockingTimeStamp": "2018-01-01T09:01:53",
        "isClockIn": True,
    }
    clocking.update(extra)
    return json.dumps({"action": action, "clocking": clocking}).encode()


def oneup_body(obj="punch", obj_id=2, **extra):
    inner = {"id": obj_id, "punch_type": "IN", "organization_id": 1}
    inner.update(extra)
    return json.dumps({obj: inner}).encode()


# --------------------------------------------------------------------------
# Signing
# --------------------------------------------------------------------------


def sign_trutac(secret, body):
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def sign_oneup(secret, body):
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def iso_utc(epoch_s):
    return dt.datetime.fromtimestamp(int(epoch_s), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def trutac_headers(body, secret=TT_SECRET_NEW, event="clocking", content_type="application/json"):
    headers = {"TT-Hook-Event": event}
    if secret is not None:
        headers["TT-Hook-Signature"] = sign_trutac(secret, body)
    if content_type is not None:
        headers["Content-Type"] = content_type
    return headers


def oneup_headers(body, secret=ONEUP_SECRET, event="punch.create", uuid=ONEUP_UUID,
                  timestamp=None, content_type="application/json"):
    headers = {
        "X-ServiceHook-Event": event,
        "X-ServiceHook-Timestamp": iso_utc(time.time()) if timestamp is None else timestamp,
    }
    if uuid is not None:
        headers["X-ServiceHook-UUID"] = uuid
    if secret is not None:
        headers["X-ServiceHook-Signature"] = sign_oneup(secret, body)
    if content_type is not None:
        headers["Content-Type"] = content_type
    return headers


def event_id(provider, body):
    return provider + ":" + hashlib.sha256(body).hexdigest()


# --------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """One redis-server of our own, on loopback, stopped by its PID."""

    def __init__(self, workdir, port=None, extra_args=None):
        self.dir = str(workdir)
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or free_port()
        # Appended to the command line, so they override the defaults above them
        # (e.g. ["--appendonly", "yes", "--appendfsync", "always"]).
        self.extra_args = list(extra_args or [])
        self.proc = None
        self._log = None

    @property
    def url(self):
        return "redis://127.0.0.1:%d/0" % self.port

    def client(self):
        return redis.Redis(host="127.0.0.1", port=self.port, db=0, decode_responses=True,
                           socket_timeout=5, socket_connect_timeout=2)

    def start(self, timeout=10.0):
        assert self.proc is None or self.proc.poll() is not None, "redis already running"
        self._log = open(os.path.join(self.dir, "redis-%d.log" % self.port), "ab")
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--save", "", "--appendonly", "no", "--daemonize", "no"] + self.extra_args,
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("redis-server exited with %s (port %d); see %s"
                                   % (self.proc.returncode, self.port, self.dir))
            try:
                c = self.client()
                if c.ping():
                    # Make sure we talk to the server we started, not another one.
                    pid = int(c.info("server")["process_id"])
                    c.close()
                    if pid != self.proc.pid:
                        raise RuntimeError("port %d answered by another redis (pid %d)"
                                           % (self.port, pid))
                    return
            except redis.exceptions.ConnectionError as e:
                last = e
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not answer PING on port %d: %s" % (self.port, last))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def kill(self):
        """SIGKILL (a crash: no shutdown save), by PID; start() may follow."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        if self._log is not None:
            self._log.close()
            self._log = None


def deep_merge(base, overrides):
    """Returns base updated by overrides; a None value in overrides deletes the key."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def default_config(workdir, port, redis_url):
    secret_file = os.path.join(str(workdir), "oneup_secret")
    # The file secret ends with one newline that the gateway must drop.
    with open(secret_file, "w") as f:
        f.write(ONEUP_SECRET + "\n")
    return {
        "listen": "127.0.0.1:%d" % port,
        "path_prefix": "/webhooks",
        "max_body": 1048576,
        "timestamp_tolerance": 300,
        "log_level": "debug",
        "redis": {"url": redis_url, "prefix": "webhooks", "stream_by": "provider",
                  "maxlen": 100000, "dedup_ttl": 604800, "timeout_ms": 2000},
        "spool": {"dir": os.path.join(str(workdir), "spool"), "max_bytes": 10485760},
        "providers": {
            "trutac": {"secrets": ["env:TT_SECRET_NEW", "env:TT_SECRET_OLD"],
                       "tenants": {TT_TENANT: {"secrets": [TT_TENANT_SECRET]}}},
            "oneupvision": {"tenants": {ONEUP_UUID: {"secrets": ["file:" + secret_file]}}},
        },
    }


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")


def sanitizer_lines(text):
    return [line for line in text.splitlines() if any(m in line for m in SANITIZER_MARKERS)]


def sanitizer_env():
    env = {}
    if SANITIZER:
        env["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
        env["UBSAN_OPTIONS"] = os.environ.get("UBSAN_OPTIONS", "print_stacktrace=1")
    return env


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # list of (name, value)
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            raise AssertionError("answer is not JSON: status %d body %r" % (self.status, self.body))

    def __repr__(self):
        return "<Response %d %r>" % (self.status, self.body[:300])


class Gateway:
    """One hookgate process with its own config file, port and stderr log."""

    def __init__(self, workdir, redis_url, overrides=None, env=None, secrets=ALL_SECRETS):
        self.dir = str(workdir)
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.config = deep_merge(default_config(self.dir, self.port, redis_url), overrides or {})
        self.config_path = os.path.join(self.dir, "hookgate.json")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.stdout_path = os.path.join(self.dir, "stdout.log")
        self.env = dict(os.environ)
        self.env.update(SECRET_ENV)
        self.env.update(sanitizer_env())
        self.env.update(env or {})
        self.secrets = list(secrets)
        self.proc = None
        self.exit_code = None
        self.stop_seconds = None
        self.killed = False  # the last instance was SIGKILLed on purpose (kill())

    # -- process ----------------------------------------------------------

    def write_config(self):
        with open(self.config_path, "w") as f:
            json.dump(self.config, f, indent=2)

    def start(self, args=None, timeout=15.0 * (4 if HOOKGATE_WRAPPER else 1)):
        if not os.path.exists(HOOKGATE_BIN):
            pytest.fail("hookgate binary not found at %s (set HOOKGATE_BIN)" % HOOKGATE_BIN)
        self.write_config()
        self.killed = False
        argv = HOOKGATE_WRAPPER + [HOOKGATE_BIN] + (
            args if args is not None else ["-c", self.config_path])
        with open(self.stderr_path, "ab") as err, open(self.stdout_path, "ab") as out:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         env=self.env, cwd=self.dir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail("hookgate exited with %d during start-up; stderr:\n%s"
                            % (self.proc.returncode, self.log_text()[-4000:]))
            try:
                resp = self.request("GET", "/healthz", timeout=2)
                if resp.status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        pytest.fail("hookgate did not answer GET /healthz within %.0f s; stderr:\n%s"
                    % (timeout, self.log_text()[-4000:]))

    def stop(self, timeout=10.0):
        """SIGTERM, wait; returns the exit status (None if it had to be killed)."""
        if self.proc is None:
            return self.exit_code
        if self.proc.poll() is None:
            t0 = time.monotonic()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
                self.stop_seconds = time.monotonic() - t0
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                self.stop_seconds = None
                self.exit_code = None
                self.proc = None
                return None
        self.exit_code = self.proc.returncode
        self.proc = None
        return self.exit_code

    def kill(self):
        """SIGKILL (a crash), by PID. Teardown then checks the logs but not the
        exit status of this instance; start() again to run a new one."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        if self.proc is not None:
            self.exit_code = self.proc.returncode
            self.proc = None
            self.killed = True
        return self.exit_code

    def send_signal(self, sig):
        """Sends `sig` to this gateway's process (by PID)."""
        assert self.proc is not None and self.proc.poll() is None, "hookgate is not running"
        self.proc.send_signal(sig)

    def log_lines(self):
        """stderr parsed as JSON log objects (lines that are not JSON are skipped)."""
        out = []
        for line in self.log_text().splitlines():
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                out.append(obj)
        return out

    def log_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def check_stopped_cleanly(self):
        """The checks every gateway gets on teardown. Call after stop()."""
        log = self.log_text()
        problems = []
        if self.exit_code != 0 and not self.killed:
            problems.append("exit status after SIGTERM: %r (expected 0 within 10 s)" % self.exit_code)
        bad = sanitizer_lines(log)
        if bad:
            problems.append("sanitizer reports in stderr:\n" + "\n".join(bad[:20]))
        for s in self.secrets:
            if s in log:
                problems.append("a configured secret (%s...) appears in stderr" % s[:6])
        if not bad:
            for n, line in enumerate(log.splitlines(), 1):
                err = log_line_problem(line)
                if err:
                    problems.append("stderr line %d is not a JSON log object (%s): %r"
                                    % (n, err, line[:200]))
                    break
        assert not problems, "gateway %s:\n%s\n--- stderr tail ---\n%s" % (
            self.dir, "\n".join(problems), log[-3000:])

    # -- HTTP -------------------------------------------------------------

    def request(self, method, path, body=None, headers=None, timeout=15):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            try:
                conn.request(method, path, body=body, headers=headers or {})
            except (BrokenPipeError, ConnectionResetError):
                if body is None:
                    raise
                # The gateway may answer (413) and stop reading early: read the answer.
            resp = conn.getresponse()
            out = Response(resp.status, resp.getheaders(), resp.read())
        finally:
            conn.close()
        self._check_no_secret(out)
        return out

    def post(self, path, body, headers):
        try:
            return self.request("POST", path, body=body, headers=headers)
        except OSError as e:
            alive = self.proc is not None and self.proc.poll() is None
            raise AssertionError("POST %s failed (%s); gateway alive=%s; stderr tail:\n%s"
                                 % (path, e, alive, self.log_text()[-3000:]))

    def post_chunked(self, path, body, headers, chunk_size=1000, timeout=15):
        """POST with Transfer-Encoding: chunked and no Content-Length."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.putrequest("POST", path)
            for k, v in headers.items():
                conn.putheader(k, v)
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            try:
                for i in range(0, len(body), chunk_size):
                    chunk = body[i:i + chunk_size]
                    conn.send(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                conn.send(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the gateway may answer and stop reading early
            resp = conn.getresponse()
            out = Response(resp.status, resp.getheaders(), resp.read())
        finally:
            conn.close()
        self._check_no_secret(out)
        return out

    def _check_no_secret(self, resp):
        for s in self.secrets:
            assert s.encode() not in resp.body, "a configured secret appears in an HTTP answer"
            for _, v in resp.headers:
                assert s not in v, "a configured secret appears in an HTTP answer header"


def log_line_problem(line):
    """None when `line` is a JSON object with string time, level and msg."""
    try:
        obj = json.loads(line)
    except ValueError:
        return "not JSON"
    if not isinstance(obj, dict):
        return "not an object"
    for key in ("time", "level", "msg"):
        if not isinstance(obj.get(key), str) or not obj[key]:
            return "no string %r" % key
    if obj["level"] not in ("debug", "info", "warn", "error"):
        return "unknown level %r" % obj["level"]
    return None


@contextlib.contextmanager
def start_gateway(workdir, redis_url, overrides=None, env=None, args=None):
    """Starts a gateway, yields it, and on exit stops it and checks it stopped cleanly."""
    gw = Gateway(workdir, redis_url, overrides=overrides)
    # "{config}" in args or env values stands for the config file's path.
    for k, v in (env or {}).items():
        gw.env[k] = v.replace("{config}", gw.config_path)
    if args is not None:
        args = [a.replace("{config}", gw.config_path) for a in args]
    try:
        gw.start(args=args)
        yield gw
    finally:
        gw.stop()
    gw.check_stopped_cleanly()


# --------------------------------------------------------------------------
# Assertions about answers, envelopes and Redis
# --------------------------------------------------------------------------

RECEIVEDAT_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
RFC3339_UTC_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
ENVELOPE_KEYS = {"specversion", "id", "source", "type", "category", "provider", "tenant",
                 "subject", "time", "receivedat", "verification", "datacontenttype", "data"}
VERIFICATION = {"oneupvision": "hmac-sha256", "trutac": "hmac-sha1"}


def parse_utc(text):
    assert RFC3339_UTC_RE.match(text), "not an RFC 3339 UTC time: %r" % text
    return dt.datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=dt.timezone.utc).timestamp() + (float("0" + text[19:-1]) if "." in text else 0.0)


def assert_json_answer(resp):
    ctype = resp.header("Content-Type") or ""
    assert ctype.split(";")[0].strip().lower() == "application/json", \
        "answer Content-Type is %r, expected application/json (%r)" % (ctype, resp)
    return resp.json()


def assert_error(resp, status, codes):
    """An error answer: the status, and JSON {"error": one of codes, "message": text}."""
    if isinstance(codes, str):
        codes = (codes,)
    assert resp.status == status, "expected %d %s, got %r" % (status, "/".join(codes), resp)
    doc = assert_json_answer(resp)
    assert isinstance(doc, dict), resp
    assert doc.get("error") in codes, "expected error in %s, got %r" % (codes, doc)
    assert isinstance(doc.get("message"), str) and doc["message"], \
        "error answer without a message: %r" % doc
    return doc


def assert_answer(resp, status_word, ids):
    assert resp.status == 200, "expected 200 %s, got %r" % (status_word, resp)
    doc = assert_json_answer(resp)
    assert doc == {"status": status_word, "ids": list(ids)}, doc
    return doc


def assert_accepted(resp, ids):
    return assert_answer(resp, "accepted", ids)


def published_keys(r):
    """Every key except the operators' rejected-requests stream."""
    return sorted(k for k in r.keys("*") if not k.endswith(":{rejected}"))


def assert_nothing_published(r):
    keys = published_keys(r)
    assert keys == [], "expected nothing published, found keys %r" % keys


def read_stream(r, stream):
    return r.xrange(stream, "-", "+")


def check_envelope(env, *, provider, body, type_, category, tenant=None, subject=None,
                   received=None, time_value=None, time_window=None, verification=None,
                   data=None, id_=None):
    """Checks one CloudEvents envelope against the contract.

    body:        the raw request body
    id_:         the expected id; default "<provider>:" + sha256(body)
    data:        the expected "data" value; default: the parsed body
    verification: default VERIFICATION[provider]
    received:    (t0, t1) epoch seconds around the request; receivedat must lie inside.
    time_value:  expected "time" as epoch seconds (compared as an instant).
    time_window: (t0, t1) for providers whose time is the receive time.
    """
    assert isinstance(env, dict), env
    extra = set(env) - ENVELOPE_KEYS
    assert not extra, "envelope has keys the contract does not define: %r" % sorted(extra)
    assert env.get("specversion") == "1.0", env
    expected_id = id_ or event_id(provider, body)
    assert env.get("id") == expected_id, (env.get("id"), expected_id)
    assert env.get("source") == "/webhooks/" + provider, env.get("source")
    assert env.get("type") == type_, env.get("type")
    assert env.get("category") == category, env.get("category")
    assert env.get("provider") == provider, env.get("provider")
    if tenant is None:
        assert "tenant" not in env, "tenant should be absent: %r" % env.get("tenant")
    else:
        assert env.get("tenant") == tenant, env.get("tenant")
    if subject is None:
        assert "subject" not in env, "subject should be absent: %r" % env.get("subject")
    else:
        assert env.get("subject") == subject, env.get("subject")
    assert env.get("verification") == (verification or VERIFICATION[provider]), \
        env.get("verification")
    assert env.get("datacontenttype") == "application/json", env.get("datacontenttype")
    expected_data = json.loads(body) if data is None else data
    assert "data" in env and env["data"] == expected_data, "data differs from the body"
    assert isinstance(env.get("receivedat"), str) and RECEIVEDAT_RE.match(env["receivedat"]), \
        "receivedat %r is not YYYY-MM-DDTHH:MM:SS.mmmZ" % env.get("receivedat")
    if received is not None:
        t = parse_utc(env["receivedat"])
        assert received[0] - 1.5 <= t <= received[1] + 1.5, \
            "receivedat %s is not the time of the request" % env["receivedat"]
    assert isinstance(env.get("time"), str), env.get("time")
    t = parse_utc(env["time"])
    if time_value is not None:
        assert abs(t - time_value) < 0.001, "time %s, expected %s" % (env["time"],
                                                                    iso_utc(time_value))
    if time_window is not None:
        assert time_window[0] - 1.5 <= t <= time_window[1] + 1.5, \
            "time %s is not the receive time" % env["time"]


def assert_single_entry(r, stream, eid, ttl_max=604800, seen=None):
    """Exactly one entry in `stream`, carrying envelope id `eid`; the dedup key
    holds its entry id with a TTL of at most ttl_max. Returns the envelope."""
    entries = read_stream(r, stream)
    assert len(entries) == 1, "expected one entry in %s, found %d: %r" % (
        stream, len(entries), [e[1].get("id") for e in entries])
    return check_entry(r, stream, entries[0], eid, ttl_max, seen=seen)


def category_seen_key(eid, prefix="webhooks"):
    """With stream_by "category" the dedup key is per provider, not per stream
    (docs/decisions.md): "<prefix>:{<provider>}:seen:<id>"."""
    return "%s:{%s}:seen:%s" % (prefix, eid.split(":", 1)[0], eid)


def check_entry(r, stream, entry, eid, ttl_max=604800, seen=None):
    entry_id, fields = entry
    assert set(fields) >= {"id", "type", "category", "provider", "event"}, sorted(fields)
    env = json.loads(fields["event"])
    assert fields["id"] == eid == env.get("id"), (fields["id"], eid, env.get("id"))
    assert fields["type"] == env.get("type"), (fields["type"], env.get("type"))
    assert fields["category"] == env.get("category"), (fields["category"], env.get("category"))
    assert fields["provider"] == env.get("provider"), (fields["provider"], env.get("provider"))
    seen = seen or "%s:seen:%s" % (stream, eid)
    assert r.get(seen) == entry_id, "dedup key %s holds %r, expected entry id %s" % (
        seen, r.get(seen), entry_id)
    ttl = r.ttl(seen)
    assert 0 < ttl <= ttl_max, "dedup key %s has TTL %r, expected 1..%d" % (seen, ttl, ttl_max)
    return env


# --------------------------------------------------------------------------
# Raw HTTP over a socket (hostile-input tests: bytes http.client will not send)
# --------------------------------------------------------------------------


def raw_request_bytes(method, path, headers, body=b"", version=b"HTTP/1.1"):
    """A request exactly as given: `headers` is a list of (name, value), str or
    bytes; nothing is added (no Host, no Content-Length)."""
    def b(x):
        return x if isinstance(x, bytes) else str(x).encode("latin-1")

    head = b(method) + b" " + b(path) + b" " + b(version) + b"\r\n"
    head += b"".join(b(k) + b": " + b(v) + b"\r\n" for k, v in headers)
    return head + b"\r\n" + body


class RawResult:
    """What came back on a raw connection: the bytes, and how it ended:
    "eof" (closed by the server), "reset", or "timeout" (still open)."""

    def __init__(self, data, ended, seconds):
        self.data = data
        self.ended = ended
        self.seconds = seconds

    @property
    def status(self):
        """The status of the first answer, or None when no status line came."""
        m = re.match(rb"HTTP/1\.[01] (\d{3})", self.data)
        return int(m.group(1)) if m else None

    def response(self):
        """The first answer as a Response (body by Content-Length)."""
        return parse_raw_response(self.data)

    def __repr__(self):
        return "<RawResult %s after %.2f s: %r>" % (self.ended, self.seconds, self.data[:300])


def parse_raw_response(data):
    head, sep, rest = data.partition(b"\r\n\r\n")
    assert sep, "no complete answer head in %r" % data[:300]
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ")[1])
    headers = []
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        headers.append((k.decode("latin-1").strip(), v.decode("latin-1").strip()))
    resp = Response(status, headers, b"")
    n = resp.header("Content-Length")
    resp.body = rest[:int(n)] if n is not None else rest
    return resp


def raw_exchange(port, data, timeout=5.0, until_eof=True, sock=None):
    """Sends `data` (ignoring a send the server cut short) and reads until the
    server closes, or until the first complete answer when until_eof is False,
    for at most `timeout` seconds."""
    t0 = time.monotonic()
    s = sock or socket.create_connection(("127.0.0.1", int(port)), timeout=timeout)
    out = b""
    ended = "timeout"
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered (or closed) before reading everything
        deadline = t0 + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                ended = "reset"
                break
            if not chunk:
                ended = "eof"
                break
            out += chunk
            if not until_eof and raw_answer_complete(out):
                ended = "answer"
                break
    finally:
        if sock is None:
            s.close()
    return RawResult(out, ended, time.monotonic() - t0)


def raw_answer_complete(data):
    """True when `data` holds one complete answer with a Content-Length body."""
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
    return m is not None and len(rest) >= int(m.group(1))
