#!/usr/bin/python3
"""Writes the fuzzers' seed corpora into build/fuzz/corpus/<target>/ from the
test vectors (requests as the fuzz targets read them: header lines, a blank
line, the body), the configuration files, and the regression inputs kept in
tests/fuzz/regressions/<target>/."""

import glob
import hashlib
import json
import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROVIDERS = ["teamgo", "inline", "ombori", "trutac", "oneupvision"]  # registry order


def put(target, data):
    d = os.path.join(ROOT, "build", "fuzz", "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def request_bytes(vector):
    head = "".join("%s: %s\n" % (k, v) for k, v in vector["headers"])
    body = (vector["body"].encode() if "body" in vector
            else __import__("base64").b64decode(vector["body_b64"]))
    return head.encode() + b"\n" + body, body


def main():
    shutil.rmtree(os.path.join(ROOT, "build", "fuzz", "corpus"), ignore_errors=True)
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "vectors", "*", "*.json"))):
        v = json.load(open(path))
        req, body = request_bytes(v)
        put("fuzz_detect", req)
        put("fuzz_canonical", body)
        route = v["route"].strip("/").split("/")
        if len(route) > 1 and route[1] in PROVIDERS:
            put("fuzz_verify", bytes([PROVIDERS.index(route[1])]) + req)
        event = dict((k.lower(), val) for k, val in v["headers"]).get("tt-hook-event", "clocking")
        ev = event.encode()[:16]
        put("fuzz_envelope", bytes([0, len(ev)]) + ev + body)
        put("fuzz_config", json.dumps(v["config"]).encode())
    for path in glob.glob(os.path.join(ROOT, "config", "*.json")):
        put("fuzz_config", open(path, "rb").read())
    for path in glob.glob(os.path.join(ROOT, "tests", "fuzz", "regressions", "*", "*")):
        put(os.path.basename(os.path.dirname(path)) if os.path.basename(
            os.path.dirname(path)).startswith("fuzz_") else
            "fuzz_" + os.path.basename(os.path.dirname(path)), open(path, "rb").read())
    put("fuzz_spool", b"")
    n = len(glob.glob(os.path.join(ROOT, "build", "fuzz", "corpus", "*", "*")))
    print("fuzz seeds: %d files" % n)


if __name__ == "__main__":
    sys.exit(main())
