#!/bin/sh
# Runs each cmocka unit test binary; fails when any fails.
set -u
failed=0
for t in "$@"; do
    "$t" || failed=$((failed + 1))
done
if [ "$failed" -ne 0 ]; then
    echo "unit: $failed test program(s) failed" >&2
    exit 1
fi
