#!/bin/sh
# Runs every libFuzzer target in build/fuzz/ for $1 seconds (default 10) on
# its seed corpus, after replaying the kept regression inputs. Exits non-zero
# on the first finding; the crashing input is left in build/fuzz/findings/.
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-10}
/usr/bin/python3 tests/fuzz/seeds.py
mkdir -p build/fuzz/findings
failed=0
for bin in build/fuzz/fuzz_*; do
    case "$bin" in *.*) continue ;; esac # logs beside the binaries
    [ -x "$bin" ] || continue
    t=$(basename "$bin")
    regress="tests/fuzz/regressions/${t#fuzz_}"
    if [ -d "$regress" ] && [ -n "$(ls -A "$regress")" ]; then
        "$bin" "$regress"/* >"build/fuzz/$t.regress.log" 2>&1 ||
            { echo "fuzz: $t fails a regression input (build/fuzz/$t.regress.log)"; failed=1; }
    fi
    mkdir -p "build/fuzz/corpus/$t"
    if "$bin" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -dict=tests/fuzz/hookgate.dict -artifact_prefix="build/fuzz/findings/$t-" \
        "build/fuzz/corpus/$t" >"build/fuzz/$t.log" 2>&1; then
        runs=$(grep -Eo 'stat::number_of_executed_units: [0-9]+' "build/fuzz/$t.log" | grep -Eo '[0-9]+$' || true)
        [ -n "$runs" ] || runs=$(grep -Eo '^#[0-9]+' "build/fuzz/$t.log" | tail -1 | tr -d '#')
        echo "fuzz: $t: ${runs:-?} executions in ${seconds}s, no finding"
    else
        echo "fuzz: $t: FINDING, see build/fuzz/$t.log and build/fuzz/findings/"
        failed=1
    fi
done
exit $failed
