"""Fixtures for hookgate's integration tests; the helpers live in hookgate_testlib.py.

  redis_server     (session)  our own redis-server on a free loopback port
  r                (function) a client on that server, FLUSHALLed before the test
  gw               (session)  the default gateway (trutac + oneupvision)
  gateway_factory  (function) starts extra gateways, stopped and checked after the test
"""

import contextlib

import pytest

from hookgate_testlib import RedisServer, start_gateway


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def r(redis_server):
    """A client on the session redis, flushed before the test."""
    client = redis_server.client()
    client.flushall()
    yield client
    client.close()


@pytest.fixture(scope="session")
def gw(tmp_path_factory, redis_server):
    """The default gateway (the config shape from the brief)."""
    with start_gateway(tmp_path_factory.mktemp("gw"), redis_server.url) as g:
        yield g


@pytest.fixture
def gateway_factory(tmp_path_factory, redis_server):
    """Starts extra gateways for one test; each is stopped and checked afterwards."""
    stack = contextlib.ExitStack()

    def make(overrides=None, env=None, args=None, redis_url=None):
        return stack.enter_context(start_gateway(tmp_path_factory.mktemp("gwx"),
                                                 redis_url or redis_server.url,
                                                 overrides=overrides, env=env, args=args))

    with stack:
        yield make
