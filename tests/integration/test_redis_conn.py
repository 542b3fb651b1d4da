"""The Redis connection as operators configure it: redis.url with a password,
an ACL user, a database number and a unix socket; the publish script reloaded
after SCRIPT FLUSH (NOSCRIPT); redis.wait_replicas counting a shortfall as a
failure. Each test starts its own redis-server (temp dir, free loopback port
or socket, stopped by PID) and the real gateway."""

import os
import subprocess
import time

import pytest
import redis

from hookgate_testlib import (REDIS_SERVER, RedisServer, assert_accepted, assert_answer,
                              event_id, free_port, read_stream, start_gateway, trutac_body,
                              trutac_headers)

STREAM = "webhooks:{trutac}"


class OwnRedis:
    """A redis-server with settings RedisServer does not cover (auth, socket)."""

    def __init__(self, workdir, args, client_kwargs):
        self.dir = str(workdir)
        os.makedirs(self.dir, exist_ok=True)
        self.args, self.kwargs, self.proc = args, client_kwargs, None

    def __enter__(self):
        log = open(os.path.join(self.dir, "redis.log"), "ab")
        self.proc = subprocess.Popen([REDIS_SERVER, "--dir", self.dir, "--save", "",
                                      "--appendonly", "no", "--daemonize", "no"] + self.args,
                                     stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "redis-server exited; see %s" % self.dir
            try:
                c = self.client()
                if c.ping() and int(c.info("server")["process_id"]) == self.proc.pid:
                    c.close()
                    return self
            except redis.exceptions.ConnectionError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def client(self, db=0):
        return redis.Redis(db=db, decode_responses=True, socket_timeout=5, **self.kwargs)

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(10)


def deliver(gw, clocking_id):
    body = trutac_body(clocking_id=clocking_id)
    return body, gw.post("/webhooks/trutac", body, trutac_headers(body))


def test_password_and_database(tmp_path):
    port = free_port()
    with OwnRedis(tmp_path / "r", ["--port", str(port), "--bind", "127.0.0.1",
                                   "--requirepass", "s3cret-redis-pw"],
                  {"host": "127.0.0.1", "port": port, "password": "s3cret-redis-pw"}) as r:
        url = "redis://:s3cret-redis-pw@127.0.0.1:%d/3" % port
        with start_gateway(tmp_path / "gw", url) as gw:
            body, resp = deliver(gw, "with-password")
            assert_accepted(resp, [event_id("trutac", body)])
            assert [f["id"] for _, f in r.client(db=3).xrange(STREAM)] == \
                [event_id("trutac", body)]
            assert r.client(db=0).exists(STREAM) == 0
        # the password never appears in the log (the gateway teardown checks its
        # configured secrets; the URL is one too)
        assert "s3cret-redis-pw" not in open(gw.stderr_path, errors="replace").read()


def test_wrong_password_is_not_ready_and_spools(tmp_path):
    port = free_port()
    with OwnRedis(tmp_path / "r", ["--port", str(port), "--bind", "127.0.0.1",
                                   "--requirepass", "right-pw"],
                  {"host": "127.0.0.1", "port": port, "password": "right-pw"}):
        url = "redis://:wrong-pw@127.0.0.1:%d/0" % port
        with start_gateway(tmp_path / "gw", url) as gw:
            body, resp = deliver(gw, "wrong-password")
            assert_answer(resp, "spooled", [event_id("trutac", body)])
            assert gw.request("GET", "/readyz").json().get("redis") == "down"


def test_acl_user(tmp_path):
    port = free_port()
    with OwnRedis(tmp_path / "r", ["--port", str(port), "--bind", "127.0.0.1",
                                   "--user", "default", "off",
                                   "--user", "hookgate", "on", ">acl-pw", "~*", "&*", "+@all"],
                  {"host": "127.0.0.1", "port": port, "username": "hookgate",
                   "password": "acl-pw"}) as r:
        url = "redis://hookgate:acl-pw@127.0.0.1:%d/0" % port
        with start_gateway(tmp_path / "gw", url) as gw:
            body, resp = deliver(gw, "acl-user")
            assert_accepted(resp, [event_id("trutac", body)])
            assert [f["id"] for _, f in r.client().xrange(STREAM)] == [event_id("trutac", body)]


def test_unix_socket(tmp_path):
    sock = str(tmp_path / "redis.sock")
    with OwnRedis(tmp_path / "r", ["--port", "0", "--unixsocket", sock,
                                   "--unixsocketperm", "700"],
                  {"unix_socket_path": sock}) as r:
        with start_gateway(tmp_path / "gw", "unix://" + sock) as gw:
            body, resp = deliver(gw, "unix-socket")
            assert_accepted(resp, [event_id("trutac", body)])
            assert [f["id"] for _, f in r.client().xrange(STREAM)] == [event_id("trutac", body)]


def test_script_flush_is_recovered(tmp_path):
    server = RedisServer(tmp_path / "r")
    server.start()
    try:
        with start_gateway(tmp_path / "gw", server.url) as gw:
            first, resp = deliver(gw, "before-flush")
            assert_accepted(resp, [event_id("trutac", first)])
            r = server.client()
            r.script_flush()
            # the next publish meets NOSCRIPT, reloads the script and succeeds
            second, resp = deliver(gw, "after-flush")
            assert_accepted(resp, [event_id("trutac", second)])
            # and the dedup keys still work across the reload
            _, resp = deliver(gw, "after-flush")
            assert_answer(resp, "duplicate", [event_id("trutac", second)])
            assert [f["id"] for _, f in read_stream(r, STREAM)] == \
                [event_id("trutac", first), event_id("trutac", second)]
    finally:
        server.stop()


def test_wait_replicas_shortfall_spools(tmp_path):
    """wait_replicas 1 and no replica: WAIT confirms 0, which counts as a
    failure, so the delivery is spooled (and the drain finds it in Redis)."""
    server = RedisServer(tmp_path / "r")
    server.start()
    try:
        with start_gateway(tmp_path / "gw", server.url,
                           overrides={"redis": {"wait_replicas": 1, "timeout_ms": 300}}) as gw:
            body, resp = deliver(gw, "no-replica")
            assert_answer(resp, "spooled", [event_id("trutac", body)])
            r = server.client()
            # the primary has it once, whatever the drainer's retries do
            time.sleep(1.0)
            assert [f["id"] for _, f in read_stream(r, STREAM)] == [event_id("trutac", body)]
    finally:
        server.stop()
