"""config/hookgate.example.json documents every key and is a working config.

The key list comes from the key table in lib/config.c, so a key added there
without being documented in the example fails here."""

import os
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "config", "hookgate.example.json")


def table_keys():
    text = open(os.path.join(ROOT, "lib", "config.c")).read()
    keys = re.findall(r'^\s*\{"([a-z_.]+)", KEY_', text, re.M)
    assert len(keys) >= 20, keys  # the parse of the table itself must work
    return keys


def test_example_documents_every_key():
    example = open(EXAMPLE).read()
    sections = {"redis": example.index('"redis"'), "spool": example.index('"spool"')}
    for key in table_keys():
        name = key.split(".")[-1]
        if "." in key:
            section = key.split(".")[0]
            pos = example.find('"%s"' % name, sections[section])
            assert pos > 0, "%s is not documented in the example" % key
        else:
            assert re.search(r'^\s*"%s":' % re.escape(name), example, re.M), \
                "%s is not documented in the example" % key
    for provider in ("teamgo", "inline", "ombori", "trutac", "oneupvision"):
        assert '"%s"' % provider in example, provider


def test_example_is_a_valid_config(tmp_path):
    hookgate = os.environ.get("HOOKGATE_BIN", os.path.join(ROOT, "build", "hookgate"))
    text = open(EXAMPLE).read()
    # the example reads one secret from /run/secrets: point it at a temp file
    secret = tmp_path / "inline_secret"
    secret.write_text("inline-secret\n")
    config = tmp_path / "example.json"
    config.write_text(text.replace("file:/run/secrets/inline_secret", "file:%s" % secret)
                          .replace("file:/run/secrets/oneup_secret", "file:%s" % secret))
    env = dict(os.environ, TEAMGO_API_KEY="a", TRUTAC_SECRET="b", TRUTAC_SECRET_OLD="c",
               OMBORI_TOKEN="d", OMBORI_BASIC_USERPASS="u:p")
    out = subprocess.run([hookgate, "--check-config", "-c", str(config)], env=env,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "configuration OK"
