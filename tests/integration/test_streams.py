"""Stream layout: redis.stream_by = category and single, custom key and path
prefixes, and providers that are known but not enabled. Separate gateways share
the session redis (flushed between tests)."""

import time

import pytest

from hookgate_testlib import (category_seen_key, ONEUP_SEED, ONEUP_UUID, TRUTAC_SEED, assert_accepted,
                              assert_answer, assert_error, assert_nothing_published,
                              assert_single_entry, check_entry, check_envelope, event_id,
                              iso_utc, oneup_headers, published_keys, read_stream,
                              start_gateway, trutac_body, trutac_headers)


@pytest.fixture(scope="module")
def category_gw(tmp_path_factory, redis_server):
    with start_gateway(tmp_path_factory.mktemp("gw_category"), redis_server.url,
                       overrides={"redis": {"stream_by": "category", "dedup_ttl": 3600}}) as g:
        yield g


@pytest.fixture(scope="module")
def single_gw(tmp_path_factory, redis_server):
    with start_gateway(tmp_path_factory.mktemp("gw_single"), redis_server.url,
                       overrides={"redis": {"stream_by": "single"}}) as g:
        yield g


def test_stream_by_category(category_gw, r):
    created = TRUTAC_SEED
    deleted = trutac_body(action="deleted", clocking_id="CLK-DEL")
    ts = int(time.time())
    t0 = time.time()
    assert_accepted(category_gw.post("/webhooks/trutac", created, trutac_headers(created)),
                    [event_id("trutac", created)])
    assert_accepted(category_gw.post("/webhooks/trutac", deleted, trutac_headers(deleted)),
                    [event_id("trutac", deleted)])
    assert_accepted(category_gw.post("/webhooks", ONEUP_SEED,
                                     oneup_headers(ONEUP_SEED, timestamp=iso_utc(ts))),
                    [event_id("oneupvision", ONEUP_SEED)])
    window = (t0, time.time())

    punched = "webhooks:{attendance.punched}"
    entries = read_stream(r, punched)
    assert len(entries) == 2, entries
    env_tt = check_entry(r, punched, entries[0], event_id("trutac", created), ttl_max=3600,
                         seen=category_seen_key(event_id("trutac", created)))
    env_oneup = check_entry(r, punched, entries[1], event_id("oneupvision", ONEUP_SEED),
                            ttl_max=3600,
                            seen=category_seen_key(event_id("oneupvision", ONEUP_SEED)))
    check_envelope(env_tt, provider="trutac", body=created, type_="trutac.clocking",
                   category="attendance.punched", subject="CLOCKING-ID-123", received=window,
                   time_window=window)
    check_envelope(env_oneup, provider="oneupvision", body=ONEUP_SEED,
                   type_="oneupvision.punch.create", category="attendance.punched",
                   tenant=ONEUP_UUID, subject="2", received=window, time_value=ts)

    env_del = assert_single_entry(r, "webhooks:{attendance.punch_deleted}",
                                  event_id("trutac", deleted), ttl_max=3600,
                                  seen=category_seen_key(event_id("trutac", deleted)))
    assert env_del["subject"] == "CLK-DEL"
    assert r.exists("webhooks:{trutac}", "webhooks:{oneupvision}") == 0
    assert published_keys(r) == sorted([
        punched, category_seen_key(event_id("trutac", created)),
        category_seen_key(event_id("oneupvision", ONEUP_SEED)),
        "webhooks:{attendance.punch_deleted}",
        category_seen_key(event_id("trutac", deleted))])


def test_stream_by_category_deduplicates(category_gw, r):
    eid = event_id("trutac", TRUTAC_SEED)
    assert_accepted(category_gw.post("/webhooks/trutac", TRUTAC_SEED,
                                     trutac_headers(TRUTAC_SEED)), [eid])
    assert_answer(category_gw.post("/webhooks/trutac", TRUTAC_SEED,
                                   trutac_headers(TRUTAC_SEED)), "duplicate", [eid])
    assert_single_entry(r, "webhooks:{attendance.punched}", eid, ttl_max=3600,
                        seen=category_seen_key(eid))


def test_stream_by_category_replay_under_another_event_name_is_a_duplicate(category_gw, r):
    """TruTac does not sign TT-Hook-Event: a captured delivery replayed under
    another event name maps to another category's stream, and must still be
    published only once."""
    eid = event_id("trutac", TRUTAC_SEED)
    assert_accepted(category_gw.post("/webhooks/trutac", TRUTAC_SEED,
                                     trutac_headers(TRUTAC_SEED)), [eid])
    assert_answer(category_gw.post("/webhooks/trutac", TRUTAC_SEED,
                                   trutac_headers(TRUTAC_SEED, event="vehicle")),
                  "duplicate", [eid])
    assert_single_entry(r, "webhooks:{attendance.punched}", eid, ttl_max=3600,
                        seen=category_seen_key(eid))
    assert not r.exists("webhooks:{other}"), read_stream(r, "webhooks:{other}")


def test_stream_by_single(single_gw, r):
    assert_accepted(single_gw.post("/webhooks/trutac", TRUTAC_SEED, trutac_headers(TRUTAC_SEED)),
                    [event_id("trutac", TRUTAC_SEED)])
    assert_accepted(single_gw.post("/webhooks/oneupvision", ONEUP_SEED, oneup_headers(ONEUP_SEED)),
                    [event_id("oneupvision", ONEUP_SEED)])
    assert_answer(single_gw.post("/webhooks/trutac", TRUTAC_SEED, trutac_headers(TRUTAC_SEED)),
                  "duplicate", [event_id("trutac", TRUTAC_SEED)])
    stream = "webhooks:{all}"
    entries = read_stream(r, stream)
    assert len(entries) == 2, entries
    check_entry(r, stream, entries[0], event_id("trutac", TRUTAC_SEED))
    check_entry(r, stream, entries[1], event_id("oneupvision", ONEUP_SEED))
    assert published_keys(r) == sorted([
        stream, stream + ":seen:" + event_id("trutac", TRUTAC_SEED),
        stream + ":seen:" + event_id("oneupvision", ONEUP_SEED)])


# -- prefixes and disabled providers -----------------------------------------

@pytest.fixture(scope="module")
def variant_gw(tmp_path_factory, redis_server):
    """path_prefix /in, key prefix hg, oneupvision configured but disabled;
    started with the long --config option."""
    overrides = {
        "path_prefix": "/in",
        "redis": {"prefix": "hg"},
        "providers": {"oneupvision": {"enabled": False}},
    }
    with start_gateway(tmp_path_factory.mktemp("gw_variant"), redis_server.url,
                       overrides=overrides, args=["--config", "{config}"]) as g:
        yield g


def test_custom_prefixes(variant_gw, r):
    eid = event_id("trutac", TRUTAC_SEED)
    assert_accepted(variant_gw.post("/in/trutac", TRUTAC_SEED, trutac_headers(TRUTAC_SEED)), [eid])
    env = assert_single_entry(r, "hg:{trutac}", eid)
    assert env["provider"] == "trutac"
    assert published_keys(r) == sorted(["hg:{trutac}", "hg:{trutac}:seen:" + eid])


def test_old_prefix_is_not_routed(variant_gw, r):
    resp = variant_gw.post("/webhooks/trutac", TRUTAC_SEED, trutac_headers(TRUTAC_SEED))
    assert_error(resp, 404, "not_found")
    assert_nothing_published(r)


def test_disabled_provider_is_404(variant_gw, r):
    resp = variant_gw.post("/in/oneupvision", ONEUP_SEED, oneup_headers(ONEUP_SEED))
    assert_error(resp, 404, "provider_disabled")
    assert_nothing_published(r)
