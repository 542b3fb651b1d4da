"""hookgate behind nginx, with docker/nginx.conf itself.

A real nginx (Debian's /usr/sbin/nginx, not daemonised, every path under the
pytest temporary directory, listening on free loopback ports) runs the server
block of docker/nginx.conf three times, with only the listen port and the
upstream substituted, in front of three real gateways:

  trusted   TCP upstream,  trusted_proxies ["127.0.0.1/32"]
  untrusted TCP upstream,  no trusted_proxies
  unix      upstream unix:<tmp>/hg.sock, trusted_proxies ["127.0.0.1/32"]
            (a unix-socket peer counts as 127.0.0.1)

Each gateway also has Ombori with auth {tokens: ["t0k"], allow_ips:
["198.51.100.0/24"]}, so the client address that hookgate works out decides
between 200 and 403.

The test client connects to nginx from 127.0.0.1, which is also the proxy's
address. So an X-Forwarded-For that the test sends stands for a further
trusted hop in front of nginx (a load balancer): nginx appends 127.0.0.1, and
hookgate, reading from the right, skips the trusted 127.0.0.1 and takes the
address the test put there.
"""

import contextlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import time

import pytest

from hookgate_testlib import (
    Gateway,
    Response,
    assert_accepted,
    assert_error,
    assert_nothing_published,
    assert_single_entry,
    event_id,
    free_port,
    read_stream,
    trutac_body,
    trutac_headers,
)

NGINX = os.environ.get("NGINX_BIN", "/usr/sbin/nginx")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE_CONF = os.path.join(REPO, "docker", "nginx.conf")
MAX_BODY = 1048576  # docker/nginx.conf's client_max_body_size 1m, and max_body

OMBORI_TOKEN = "t0k"
OMBORI_BODY = (b'{"message":null,"data":{"position":{"id":"p-1"}},'
               b'"type":"positionCalled","organization":"acme"}')
OMBORI_AUTH = {"auth": {"tokens": [OMBORI_TOKEN], "allow_ips": ["198.51.100.0/24"]}}
ALLOWED_IP = "198.51.100.7"
OTHER_IP = "203.0.113.9"


# --------------------------------------------------------------------------
# Gateways
# --------------------------------------------------------------------------


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=15):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.unix_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class UnixGateway(Gateway):
    """A gateway listening on a unix socket; /healthz and requests go over it."""

    def __init__(self, workdir, redis_url, overrides=None):
        super().__init__(workdir, redis_url, overrides=overrides)
        self.sock_path = os.path.join(self.dir, "hg.sock")
        self.config["listen"] = "unix:" + self.sock_path

    def request(self, method, path, body=None, headers=None, timeout=15):
        conn = UnixHTTPConnection(self.sock_path, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            out = Response(resp.status, resp.getheaders(), resp.read())
        finally:
            conn.close()
        self._check_no_secret(out)
        return out


@contextlib.contextmanager
def running(gw):
    """Starts `gw`, yields it, stops it and checks it stopped cleanly."""
    try:
        gw.start()
        yield gw
    finally:
        gw.stop()
    gw.check_stopped_cleanly()


# --------------------------------------------------------------------------
# nginx
# --------------------------------------------------------------------------


def substitute(text, old, new, count=None):
    n = text.count(old)
    assert n >= 1 and (count is None or n == count), \
        "docker/nginx.conf: expected %s occurrence(s) of %r, found %d" % (count or "some", old, n)
    return text.replace(old, new)


def server_block(name, port, upstream):
    """docker/nginx.conf with its own upstream name, listen port and upstream server."""
    with open(EXAMPLE_CONF) as f:
        text = f.read()
    text = substitute(text, "upstream hookgate {", "upstream hookgate_%s {" % name, 1)
    text = substitute(text, "proxy_pass http://hookgate;", "proxy_pass http://hookgate_%s;" % name)
    text = substitute(text, "\n    server 127.0.0.1:8080;", "\n    server %s;" % upstream, 1)
    text = substitute(text, "\n    listen 80;", "\n    listen 127.0.0.1:%d;" % port, 1)
    return text


class Nginx:
    def __init__(self, workdir, backends):
        """backends: {name: (listen_port, upstream)}"""
        self.dir = str(workdir)
        self.backends = backends
        self.conf = os.path.join(self.dir, "nginx.conf")
        self.error_log = os.path.join(self.dir, "error.log")
        self.pid_file = os.path.join(self.dir, "nginx.pid")
        self.proc = None

    def write(self):
        includes = []
        for name, (port, upstream) in self.backends.items():
            path = os.path.join(self.dir, "hookgate-%s.conf" % name)
            with open(path, "w") as f:
                f.write(server_block(name, port, upstream))
            includes.append("    include %s;" % path)
        d = self.dir
        lines = []
        if os.geteuid() == 0:
            # As root, nginx's workers would otherwise run as "nobody" and could
            # not reach the 0700 pytest directory (temp files, the unix socket).
            lines.append("user root;")
        lines += [
            "worker_processes 1;",
            "error_log %s info;" % self.error_log,
            "events { worker_connections 256; }",
            "http {",
            "    access_log %s/access.log;" % d,
            "    default_type application/octet-stream;",
            "    client_body_temp_path %s/client_body;" % d,
            "    proxy_temp_path %s/proxy;" % d,
            "    fastcgi_temp_path %s/fastcgi;" % d,
            "    uwsgi_temp_path %s/uwsgi;" % d,
            "    scgi_temp_path %s/scgi;" % d,
        ] + includes + ["}"]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def argv(self, *extra):
        return [NGINX, "-p", self.dir + "/", "-c", self.conf, "-e", self.error_log,
                "-g", "daemon off; pid %s;" % self.pid_file] + list(extra)

    def error_text(self):
        try:
            with open(self.error_log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def start(self, timeout=10.0):
        self.write()
        check = subprocess.run(self.argv("-t"), stdin=subprocess.DEVNULL, capture_output=True,
                               text=True, timeout=30)
        assert check.returncode == 0, "nginx -t refused the generated config %s:\n%s%s" % (
            self.conf, check.stdout, check.stderr)
        out = open(os.path.join(self.dir, "nginx.out"), "ab")
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=subprocess.STDOUT)
        out.close()
        deadline = time.monotonic() + timeout
        pending = {port for port, _ in self.backends.values()}
        while pending and time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail("nginx exited with %d during start-up:\n%s"
                            % (self.proc.returncode, self.error_text()[-3000:]))
            for port in list(pending):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    pending.discard(port)
                except OSError:
                    pass
            time.sleep(0.05)
        if pending:
            self.stop()
            pytest.fail("nginx did not listen on %s within %.0f s:\n%s"
                        % (sorted(pending), timeout, self.error_text()[-3000:]))
        return self

    def stop(self, timeout=10.0):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGQUIT)  # graceful shutdown
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def request(self, name, method, path, body=None, headers=None, timeout=15):
        """A request to nginx's server for backend `name`. A body that nginx
        refuses early may not be sent in full: the answer is read anyway."""
        port = self.backends[name][0]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            try:
                conn.request(method, path, body=body, headers=headers or {})
            except (BrokenPipeError, ConnectionResetError):
                if body is None:
                    raise
            resp = conn.getresponse()
            return Response(resp.status, resp.getheaders(), resp.read())
        finally:
            conn.close()

    def post_chunked(self, name, path, body, headers, chunk_size=65536, timeout=15):
        port = self.backends[name][0]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
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
                pass
            resp = conn.getresponse()
            return Response(resp.status, resp.getheaders(), resp.read())
        finally:
            conn.close()


# --------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory, redis_server):
    """nginx in front of the three gateways; yields (nginx, {name: gateway})."""
    if not (os.path.isfile(NGINX) and os.access(NGINX, os.X_OK)):
        pytest.fail("nginx is not installed at %s: these tests run Debian's nginx in front of "
                    "hookgate (apt-get install nginx, or set NGINX_BIN)" % NGINX)
    trusted = {"trusted_proxies": ["127.0.0.1/32"],
               "providers": {"ombori": OMBORI_AUTH}}
    untrusted = {"providers": {"ombori": OMBORI_AUTH}}
    gws = {
        "trusted": Gateway(tmp_path_factory.mktemp("gw-trusted"), redis_server.url, trusted),
        "untrusted": Gateway(tmp_path_factory.mktemp("gw-untrusted"), redis_server.url,
                             untrusted),
        "unix": UnixGateway(tmp_path_factory.mktemp("gw-unix"), redis_server.url, trusted),
    }
    assert "trusted_proxies" not in gws["untrusted"].config
    with contextlib.ExitStack() as es:
        for gw in gws.values():
            es.enter_context(running(gw))
        backends = {
            "trusted": (free_port(), "127.0.0.1:%d" % gws["trusted"].port),
            "untrusted": (free_port(), "127.0.0.1:%d" % gws["untrusted"].port),
            "unix": (free_port(), "unix:" + gws["unix"].sock_path),
        }
        nginx = Nginx(tmp_path_factory.mktemp("nginx"), backends)
        es.callback(nginx.stop)
        nginx.start()
        yield nginx, gws
        assert nginx.proc.poll() is None, "nginx died during the tests:\n" + \
            nginx.error_text()[-3000:]
    # nginx stopped above (SIGQUIT); its exit status is 0 when it stopped cleanly
    assert nginx.proc.returncode == 0, "nginx exited with %r:\n%s" % (
        nginx.proc.returncode, nginx.error_text()[-3000:])


def from_nginx(resp):
    server = resp.header("Server") or ""
    return server.startswith("nginx")


def from_hookgate(resp):
    return resp.header("X-Request-Id") is not None


def ombori_headers(xff=None):
    headers = {"Content-Type": "application/json"}
    if xff is not None:
        headers["X-Forwarded-For"] = xff
    return headers


OMBORI_PATH = "/webhooks/ombori/" + OMBORI_TOKEN


def logged_client(gw, resp, timeout=3.0):
    """The "client" that hookgate logged for the request that got `resp`."""
    rid = resp.header("X-Request-Id")
    assert rid, "no X-Request-Id: %r" % resp
    deadline = time.monotonic() + timeout
    while True:
        for line in gw.log_text().splitlines():
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict) and obj.get("request_id") == rid and "client" in obj:
                return obj["client"]
        if time.monotonic() > deadline:
            raise AssertionError("no log line for request %s" % rid)
        time.sleep(0.05)


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------


def test_example_config_passes_nginx_t(stack):
    nginx, _ = stack
    assert nginx.proc.poll() is None
    for name in nginx.backends:
        text = open(os.path.join(nginx.dir, "hookgate-%s.conf" % name)).read()
        assert re.search(r"client_max_body_size\s+1m;", text)


def test_signed_trutac_delivery_through_nginx_lands(stack, r):
    nginx, _ = stack
    body = trutac_body(clocking_id="NGINX-TCP-1")
    resp = nginx.request("trusted", "POST", "/webhooks/trutac", body, trutac_headers(body))
    assert from_hookgate(resp), resp
    assert_accepted(resp, [event_id("trutac", body)])
    env = assert_single_entry(r, "webhooks:{trutac}", event_id("trutac", body))
    assert env["subject"] == "NGINX-TCP-1"
    assert env["data"] == json.loads(body)


def test_detected_route_through_nginx(stack, r):
    """POST /webhooks (the exact prefix, its own location) reaches hookgate too."""
    nginx, _ = stack
    body = trutac_body(clocking_id="NGINX-TCP-2")
    resp = nginx.request("trusted", "POST", "/webhooks", body, trutac_headers(body))
    assert_accepted(resp, [event_id("trutac", body)])
    assert_single_entry(r, "webhooks:{trutac}", event_id("trutac", body))


def test_body_of_exactly_max_body_passes(stack, r):
    nginx, _ = stack
    base = trutac_body(clocking_id="NGINX-MAX", pad="")
    body = trutac_body(clocking_id="NGINX-MAX", pad="x" * (MAX_BODY - len(base)))
    assert len(body) == MAX_BODY
    resp = nginx.request("trusted", "POST", "/webhooks/trutac", body, trutac_headers(body))
    assert_accepted(resp, [event_id("trutac", body)])


def test_body_over_client_max_body_size_is_413_from_nginx(stack, r):
    nginx, gws = stack
    base = trutac_body(clocking_id="NGINX-BIG", pad="")
    body = trutac_body(clocking_id="NGINX-BIG", pad="x" * (MAX_BODY + 1 - len(base)))
    assert len(body) == MAX_BODY + 1
    before = gws["trusted"].log_text().count('"status":413')
    resp = nginx.request("trusted", "POST", "/webhooks/trutac", body, trutac_headers(body))
    assert resp.status == 413, resp
    assert from_nginx(resp) and not from_hookgate(resp), \
        "the 413 should come from nginx, not hookgate: %r %r" % (resp.headers, resp)
    assert gws["trusted"].log_text().count('"status":413') == before
    assert_nothing_published(r)


def test_chunked_body_over_limit_is_413_from_nginx(stack, r):
    """proxy_request_buffering on: nginx counts a chunked body before forwarding it."""
    nginx, _ = stack
    body = b'{"action":"created","clocking":{"id":"C","pad":"' + b"y" * MAX_BODY + b'"}}'
    resp = nginx.post_chunked("trusted", "/webhooks/trutac", body, trutac_headers(body))
    assert resp.status == 413, resp
    assert from_nginx(resp) and not from_hookgate(resp), resp
    assert_nothing_published(r)


def test_only_webhooks_and_healthz_are_exposed(stack):
    nginx, gws = stack
    resp = nginx.request("trusted", "GET", "/healthz")
    assert resp.status == 200 and resp.json() == {"status": "ok"}, resp
    for path in ("/readyz", "/metrics", "/", "/webhooks/../metrics", "/webhooksx"):
        resp = nginx.request("trusted", "GET", path)
        assert resp.status == 404 and not from_hookgate(resp), (path, resp)
    # hookgate itself serves /readyz: it is nginx that hides it
    assert gws["trusted"].request("GET", "/readyz").status == 200


def test_hookgate_errors_pass_through_unchanged(stack, r):
    nginx, _ = stack
    body = trutac_body(clocking_id="NGINX-BADSIG")
    headers = trutac_headers(body, secret="not-the-secret")
    resp = nginx.request("trusted", "POST", "/webhooks/trutac", body, headers)
    assert from_hookgate(resp), resp
    assert_error(resp, 401, "unauthorized")
    resp = nginx.request("trusted", "GET", "/webhooks/trutac")
    assert resp.status == 405 and from_hookgate(resp), resp
    assert_nothing_published(r)


def test_xff_from_trusted_proxy_allowed_ip_is_accepted(stack, r):
    nginx, gws = stack
    resp = nginx.request("trusted", "POST", OMBORI_PATH, OMBORI_BODY, ombori_headers(ALLOWED_IP))
    assert_accepted(resp, [event_id("ombori", OMBORI_BODY)])
    assert logged_client(gws["trusted"], resp) == ALLOWED_IP
    env = assert_single_entry(r, "webhooks:{ombori}", event_id("ombori", OMBORI_BODY))
    assert env["type"] == "ombori.positionCalled"
    assert env["subject"] == "p-1"


def test_xff_from_trusted_proxy_other_ip_is_forbidden(stack, r):
    nginx, gws = stack
    resp = nginx.request("trusted", "POST", OMBORI_PATH, OMBORI_BODY, ombori_headers(OTHER_IP))
    assert from_hookgate(resp), resp
    assert_error(resp, 403, "forbidden")
    assert logged_client(gws["trusted"], resp) == OTHER_IP
    # no X-Forwarded-For from the client: nginx's own 127.0.0.1 is all there is
    resp = nginx.request("trusted", "POST", OMBORI_PATH, OMBORI_BODY, ombori_headers())
    assert_error(resp, 403, "forbidden")
    # the allowed address further left, an untrusted one nearer: the nearer counts
    resp = nginx.request("trusted", "POST", OMBORI_PATH, OMBORI_BODY,
                         ombori_headers("%s, %s" % (ALLOWED_IP, OTHER_IP)))
    assert_error(resp, 403, "forbidden")
    assert_nothing_published(r)


def test_xff_not_believed_without_trusted_proxies(stack, r):
    nginx, gws = stack
    resp = nginx.request("untrusted", "POST", OMBORI_PATH, OMBORI_BODY,
                         ombori_headers(ALLOWED_IP))
    assert from_hookgate(resp), resp
    assert_error(resp, 403, "forbidden")
    # the client is nginx's own address: the header was not believed
    assert logged_client(gws["untrusted"], resp) == "127.0.0.1"
    assert_nothing_published(r)


def test_unix_socket_upstream_delivery_lands(stack, r):
    nginx, gws = stack
    assert gws["unix"].config["listen"].startswith("unix:")
    body = trutac_body(clocking_id="NGINX-UNIX-1")
    resp = nginx.request("unix", "POST", "/webhooks/trutac", body, trutac_headers(body))
    assert from_hookgate(resp), resp
    assert_accepted(resp, [event_id("trutac", body)])
    assert_single_entry(r, "webhooks:{trutac}", event_id("trutac", body))


def test_unix_socket_peer_counts_as_loopback_proxy(stack, r):
    """Over the unix socket the peer is 127.0.0.1, a trusted proxy here: its
    X-Forwarded-For is believed."""
    nginx, gws = stack
    resp = nginx.request("unix", "POST", OMBORI_PATH, OMBORI_BODY, ombori_headers(ALLOWED_IP))
    assert_accepted(resp, [event_id("ombori", OMBORI_BODY)])
    assert logged_client(gws["unix"], resp) == ALLOWED_IP
    resp = nginx.request("unix", "POST", OMBORI_PATH, OMBORI_BODY, ombori_headers(OTHER_IP))
    assert_error(resp, 403, "forbidden")
    assert len(read_stream(r, "webhooks:{ombori}")) == 1
