"""HTTP surface: routes, methods, media types, detection on POST /webhooks, and the
operational endpoints. Every refusal is a JSON error and publishes nothing."""

import time

import pytest

from hookgate_testlib import (ONEUP_SEED, TRUTAC_SEED, assert_error, assert_json_answer,
                              assert_nothing_published, oneup_headers, trutac_headers)


def test_healthz(gw):
    resp = gw.request("GET", "/healthz")
    assert resp.status == 200, resp
    assert assert_json_answer(resp) == {"status": "ok"}


def test_readyz_with_redis_up(gw, r):
    # Allow a moment after start-up for the first connection to Redis.
    deadline = time.monotonic() + 5
    resp = gw.request("GET", "/readyz")
    while resp.status != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
        resp = gw.request("GET", "/readyz")
    assert resp.status == 200, resp
    assert_json_answer(resp)


@pytest.mark.parametrize("path", [
    "/nope",
    "/webhooks/nosuchprovider",
    "/webhooks/trutac/a/b",
    "/webhooksx",
    "/webhooks-trutac",
    "/",
])
def test_unknown_path_is_404(gw, r, path):
    # A correctly signed TruTac delivery: only the path is wrong.
    resp = gw.post(path, TRUTAC_SEED, trutac_headers(TRUTAC_SEED))
    assert_error(resp, 404, "not_found")
    assert_nothing_published(r)


def test_unknown_path_get_is_404(gw):
    assert_error(gw.request("GET", "/nope"), 404, "not_found")


def test_unconfigured_provider_is_404(gw, r):
    # teamgo is not in this config (and may not be registered yet).
    body = b'{"a":1}'
    resp = gw.post("/webhooks/teamgo", body, {"Content-Type": "application/json"})
    assert_error(resp, 404, ("not_found", "provider_disabled"))
    assert_nothing_published(r)


@pytest.mark.parametrize("method,path", [
    ("GET", "/webhooks"),
    ("GET", "/webhooks/trutac"),
    ("PUT", "/webhooks/oneupvision"),
    ("DELETE", "/webhooks/trutac/fleet-a"),
])
def test_non_post_on_webhook_route_is_405(gw, r, method, path):
    resp = gw.request(method, path)
    assert_error(resp, 405, "method_not_allowed")
    allow = resp.header("Allow")
    assert allow is not None, "405 without an Allow header: %r" % resp.headers
    assert [m.strip() for m in allow.split(",")] == ["POST"], allow
    assert_nothing_published(r)


@pytest.mark.parametrize("content_type", ["text/plain", None, "application/x-www-form-urlencoded",
                                          "application/jsonx"],
                         ids=["text-plain", "missing", "form", "jsonx"])
def test_non_json_media_type_is_415(gw, r, content_type):
    headers = trutac_headers(TRUTAC_SEED, content_type=content_type)
    resp = gw.post("/webhooks/trutac", TRUTAC_SEED, headers)
    assert_error(resp, 415, "unsupported_media_type")
    assert_nothing_published(r)


def test_non_json_media_type_on_detecting_route_is_415(gw, r):
    headers = oneup_headers(ONEUP_SEED, content_type="text/plain")
    resp = gw.post("/webhooks", ONEUP_SEED, headers)
    assert_error(resp, 415, "unsupported_media_type")
    assert_nothing_published(r)


@pytest.mark.parametrize("body", [b'{"a":1}', b'{"action":"created","clocking":{"id":"X"}}'],
                         ids=["plain", "trutac-shaped-body"])
def test_no_provider_recognised_is_400(gw, r, body):
    resp = gw.post("/webhooks", body, {"Content-Type": "application/json"})
    assert_error(resp, 400, "unknown_provider")
    assert_nothing_published(r)


def test_two_providers_recognised_is_400(gw, r):
    headers = oneup_headers(ONEUP_SEED)
    headers.update(trutac_headers(ONEUP_SEED))
    resp = gw.post("/webhooks", ONEUP_SEED, headers)
    assert_error(resp, 400, "ambiguous_provider")
    assert_nothing_published(r)

