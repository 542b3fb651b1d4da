"""Logs and shutdown, checked inside the test (every gateway is also checked on
teardown): one JSON object per stderr line with time, level and msg; no secret
and no body ever logged, at debug level and for refused requests too; SIGTERM
ends the process with status 0 within 10 s."""

import json

from hookgate_testlib import (ALL_SECRETS, ONEUP_OTHER_UUID, ONEUP_SECRET, Gateway, TT_TENANT,
                              TT_SECRET_UNCONFIGURED, log_line_problem, oneup_headers,
                              sanitizer_lines, trutac_headers)

MARKER = "BODYMARKER-5e1f0c2d"


def test_logs_are_json_lines_without_secrets_or_bodies(tmp_path, redis_server, r):
    gw = Gateway(tmp_path, redis_server.url, overrides={"log_level": "debug"})
    gw.start()
    try:
        good = json.dumps({"action": "created",
                           "clocking": {"id": "LOG-1", "driverId": MARKER}}).encode()
        one = json.dumps({"punch": {"id": 77, "note": MARKER}}).encode()
        bad_json = ('{"action":"created","clocking":{"id":"' + MARKER + '",}').encode()
        requests = [
            ("/webhooks/trutac", good, trutac_headers(good), 200),
            ("/webhooks/trutac", good, trutac_headers(good), 200),  # duplicate
            ("/webhooks", good, trutac_headers(good, secret=TT_SECRET_UNCONFIGURED), 401),
            ("/webhooks/trutac/" + TT_TENANT, good, trutac_headers(good), 401),
            ("/webhooks/trutac", bad_json, trutac_headers(bad_json), 400),
            ("/webhooks/oneupvision", one, oneup_headers(one), 200),
            ("/webhooks/oneupvision", one, oneup_headers(one, uuid=ONEUP_OTHER_UUID), 401),
            ("/webhooks/oneupvision", one, oneup_headers(one, secret="x" + ONEUP_SECRET), 401),
            ("/webhooks", good, {"Content-Type": "text/plain"}, 415),
            ("/nope", good, {"Content-Type": "application/json"}, 404),
        ]
        for path, body, headers, status in requests:
            resp = gw.post(path, body, headers)
            assert resp.status == status, (path, resp)
    finally:
        code = gw.stop()

    assert code == 0, "exit status after SIGTERM: %r (expected 0 within 10 s)" % code
    assert gw.stop_seconds is not None and gw.stop_seconds < 10
    log = gw.log_text()
    assert not sanitizer_lines(log), sanitizer_lines(log)
    lines = log.splitlines()
    assert lines, "nothing logged at log_level debug for ten requests"
    for n, line in enumerate(lines, 1):
        problem = log_line_problem(line)
        assert problem is None, "stderr line %d: %s: %r" % (n, problem, line[:300])
    for s in ALL_SECRETS:
        assert s not in log, "secret %s... logged" % s[:6]
    assert MARKER not in log, "a request body was logged"


def test_error_level_logs_no_debug_lines(tmp_path, redis_server, r):
    gw = Gateway(tmp_path, redis_server.url, overrides={"log_level": "error"})
    gw.start()
    try:
        body = json.dumps({"action": "created", "clocking": {"id": "LVL"}}).encode()
        assert gw.post("/webhooks/trutac", body, trutac_headers(body)).status == 200
        assert gw.post("/nope", body, {"Content-Type": "application/json"}).status == 404
    finally:
        code = gw.stop()
    assert code == 0
    for line in gw.log_text().splitlines():
        assert log_line_problem(line) is None, line
        assert json.loads(line)["level"] == "error", "below log_level error: %r" % line
