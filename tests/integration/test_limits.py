"""max_body at its boundary, in a gateway of its own with max_body = 4096: exactly
4096 bytes is not refused for size, 4097 is 413, with Content-Length or chunked."""

import pytest

from hookgate_testlib import (assert_accepted, assert_error, assert_nothing_published,
                              assert_single_entry, event_id, start_gateway, trutac_body,
                              trutac_headers)

MAX_BODY = 4096
STREAM = "webhooks:{trutac}"


@pytest.fixture(scope="module")
def small_gw(tmp_path_factory, redis_server):
    with start_gateway(tmp_path_factory.mktemp("gw_small"), redis_server.url,
                       overrides={"max_body": MAX_BODY}) as g:
        yield g


def padded_body(size, clocking_id):
    """A valid TruTac clocking body of exactly `size` bytes (spaces before the last brace)."""
    base = trutac_body(clocking_id=clocking_id)
    assert len(base) < size
    body = base[:-1] + b" " * (size - len(base)) + b"}"
    assert len(body) == size
    return body


def test_exactly_max_body_is_accepted(small_gw, r):
    body = padded_body(MAX_BODY, "SIZE-4096")
    resp = small_gw.post("/webhooks/trutac", body, trutac_headers(body))
    eid = event_id("trutac", body)
    assert_accepted(resp, [eid])
    env = assert_single_entry(r, STREAM, eid)
    assert env["subject"] == "SIZE-4096"


def test_one_byte_over_max_body_is_413(small_gw, r):
    body = padded_body(MAX_BODY + 1, "SIZE-4097")
    resp = small_gw.post("/webhooks/trutac", body, trutac_headers(body))
    assert_error(resp, 413, "body_too_large")
    assert_nothing_published(r)


def test_exactly_max_body_chunked_is_accepted(small_gw, r):
    body = padded_body(MAX_BODY, "CHUNKED-4096")
    resp = small_gw.post_chunked("/webhooks/trutac", body, trutac_headers(body))
    eid = event_id("trutac", body)
    assert_accepted(resp, [eid])
    assert_single_entry(r, STREAM, eid)


@pytest.mark.parametrize("chunk_size", [1000, 4097], ids=["several-chunks", "one-chunk"])
def test_one_byte_over_max_body_chunked_is_413(small_gw, r, chunk_size):
    body = padded_body(MAX_BODY + 1, "CHUNKED-4097")
    resp = small_gw.post_chunked("/webhooks/trutac", body, trutac_headers(body),
                                 chunk_size=chunk_size)
    assert_error(resp, 413, "body_too_large")
    assert_nothing_published(r)


def test_much_larger_body_is_413_and_gateway_stays_up(small_gw, r):
    body = padded_body(64 * 1024, "SIZE-64K")
    resp = small_gw.post("/webhooks/trutac", body, trutac_headers(body))
    assert_error(resp, 413, "body_too_large")
    assert_nothing_published(r)
    assert small_gw.request("GET", "/healthz").status == 200


def test_413_applies_on_detecting_route(small_gw, r):
    body = padded_body(MAX_BODY + 1, "DETECT-4097")
    resp = small_gw.post("/webhooks", body, trutac_headers(body))
    assert_error(resp, 413, "body_too_large")
    assert_nothing_published(r)
