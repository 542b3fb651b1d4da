"""The command line and the configuration file: --version, --help, --check-config,
-c / --config / HOOKGATE_CONFIG, comments, and one clear error (file and key,
never a secret) for each kind of bad configuration."""

import json
import os
import subprocess

import pytest

from hookgate_testlib import (ALL_SECRETS, HOOKGATE_BIN, Gateway, assert_accepted, event_id,
                              sanitizer_lines, start_gateway, trutac_headers, TRUTAC_SEED)


def run(argv, env=None, timeout=10):
    if not os.path.exists(HOOKGATE_BIN):
        pytest.fail("hookgate binary not found at %s (set HOOKGATE_BIN)" % HOOKGATE_BIN)
    proc = subprocess.run([HOOKGATE_BIN] + argv, capture_output=True, timeout=timeout,
                          env=env, stdin=subprocess.DEVNULL)
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    assert not sanitizer_lines(err), err
    for s in ALL_SECRETS:
        assert s not in out and s not in err, "a secret value was printed"
    return proc.returncode, out, err


def mentions(text, needle):
    """True when needle appears in text, raw or inside a JSON log line's strings."""
    if needle in text:
        return True
    for line in text.splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and any(isinstance(v, str) and needle in v
                                         for v in obj.values()):
            return True
    return False


@pytest.fixture
def cfg(tmp_path, redis_server):
    """A Gateway object used only for its config file and environment."""
    return Gateway(tmp_path, redis_server.url)


def test_version():
    code, out, _ = run(["--version"])
    assert code == 0
    assert out.splitlines()[0].startswith("hookgate "), out


def test_help():
    code, out, err = run(["--help"])
    assert code == 0
    assert "--check-config" in out, out + err


def test_check_config_ok(cfg):
    cfg.write_config()
    code, out, err = run(["--check-config", "-c", cfg.config_path], env=cfg.env)
    assert (code, out.rstrip("\n")) == (0, "configuration OK"), (code, out, err)


def test_check_config_accepts_comments(cfg):
    text = json.dumps(cfg.config, indent=2)
    text = text.replace('"max_body": 1048576,', '"max_body": 1048576, // one MiB')
    text = "// hookgate test configuration\n// \"quoted\" {not: json}\n" + text
    assert "// one MiB" in text
    with open(cfg.config_path, "w") as f:
        f.write(text)
    code, out, err = run(["--check-config", "--config", cfg.config_path], env=cfg.env)
    assert (code, out.rstrip("\n")) == (0, "configuration OK"), (code, out, err)


def with_config(cfg, mutate):
    conf = json.loads(json.dumps(cfg.config))
    mutate(conf)
    with open(cfg.config_path, "w") as f:
        json.dump(conf, f)


BAD_CONFIGS = {
    # id: (mutation, the key the message must name)
    "unknown-redis-key": (lambda c: c["redis"].update(timeoutms=5), "redis.timeoutms"),
    "unknown-top-key": (lambda c: c.update(listen_address="x"), "listen_address"),
    "max_body-type": (lambda c: c.update(max_body="big"), "max_body"),
    "max_body-zero": (lambda c: c.update(max_body=0), "max_body"),
    "max_body-negative": (lambda c: c.update(max_body=-5), "max_body"),
    "tolerance-type": (lambda c: c.update(timestamp_tolerance="300"), "timestamp_tolerance"),
    "log_level-value": (lambda c: c.update(log_level="loud"), "log_level"),
    "stream_by-value": (lambda c: c["redis"].update(stream_by="bogus"), "stream_by"),
    "unset-env-secret": (lambda c: c["providers"]["trutac"].update(
        secrets=["env:NOPE_NOT_SET", "env:TT_SECRET_OLD"]), "secrets"),
    "missing-file-secret": (lambda c: c["providers"]["trutac"].update(
        secrets=["file:/nonexistent/hookgate-secret"]), "secrets"),
    "unknown-provider": (lambda c: c["providers"].update(acme={"secrets": ["x"]}), "acme"),
    "secrets-type": (lambda c: c["providers"]["trutac"].update(secrets="env:TT_SECRET_NEW"),
                     "secrets"),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_check_config_names_file_and_key(cfg, case):
    mutate, key = BAD_CONFIGS[case]
    with_config(cfg, mutate)
    cfg.env.pop("NOPE_NOT_SET", None)
    code, out, err = run(["--check-config", "-c", cfg.config_path], env=cfg.env)
    assert code == 1, (code, out, err)
    assert "configuration OK" not in out
    assert cfg.config_path in err, "message does not name the file: %r" % err
    assert key in err, "message does not name the key %r: %r" % (key, err)


def test_check_config_syntax_error_names_file(cfg):
    with open(cfg.config_path, "w") as f:
        f.write(json.dumps(cfg.config)[:-1] + ',,}')
    code, out, err = run(["--check-config", "-c", cfg.config_path], env=cfg.env)
    assert code == 1, (code, out, err)
    assert cfg.config_path in err, err


def test_check_config_missing_file_names_file(tmp_path):
    path = str(tmp_path / "does-not-exist.json")
    code, out, err = run(["--check-config", "-c", path])
    assert code == 1, (code, out, err)
    assert path in err, err


@pytest.mark.parametrize("case", ["unknown-redis-key", "unset-env-secret", "max_body-zero"])
def test_start_with_bad_config_fails(cfg, case):
    mutate, key = BAD_CONFIGS[case]
    with_config(cfg, mutate)
    cfg.env.pop("NOPE_NOT_SET", None)
    code, out, err = run(["-c", cfg.config_path], env=cfg.env)
    assert code != 0, (code, out, err)
    assert mentions(err, cfg.config_path), err
    assert mentions(err, key), err


def test_hookgate_config_env_names_the_file(tmp_path_factory, redis_server, r):
    with start_gateway(tmp_path_factory.mktemp("gw_env"), redis_server.url,
                       env={"HOOKGATE_CONFIG": "{config}"}, args=[]) as g:
        # It listens where that file says and publishes with its secrets.
        resp = g.post("/webhooks/trutac", TRUTAC_SEED, trutac_headers(TRUTAC_SEED))
        assert_accepted(resp, [event_id("trutac", TRUTAC_SEED)])


def test_option_wins_over_environment(tmp_path_factory, redis_server):
    with start_gateway(tmp_path_factory.mktemp("gw_env2"), redis_server.url,
                       env={"HOOKGATE_CONFIG": "/nonexistent/hookgate.json"},
                       args=["-c", "{config}"]) as g:
        assert g.request("GET", "/healthz").status == 200
