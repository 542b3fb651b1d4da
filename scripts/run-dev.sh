#!/bin/sh
# `make run`: runs build/hookgate in the foreground with config/hookgate.dev.json.
#
# Redis: HOOKGATE_REDIS_URL when set; otherwise a redis-server already
# answering on 127.0.0.1:6379; otherwise a local redis-server started here
# (data and pid file in build/run/, appendonly on) and stopped on exit.
set -eu
cd "$(dirname "$0")/.."
mkdir -p build/run/spool

config=${HOOKGATE_CONFIG:-config/hookgate.dev.json}
started_redis=""

cleanup() {
    if [ -n "$started_redis" ] && [ -f build/run/redis.pid ]; then
        kill "$(cat build/run/redis.pid)" 2>/dev/null || true
    fi
}
trap cleanup EXIT INT TERM

if [ -z "${HOOKGATE_REDIS_URL:-}" ]; then
    if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
        echo "run: using the redis-server already on 127.0.0.1:6379"
    else
        echo "run: starting redis-server on 127.0.0.1:6379 (data in build/run/)"
        redis-server --bind 127.0.0.1 --port 6379 --dir "$PWD/build/run" \
            --appendonly yes --daemonize yes --pidfile "$PWD/build/run/redis.pid" \
            --logfile "$PWD/build/run/redis.log" >/dev/null
        started_redis=1
        i=0
        until redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; do
            i=$((i + 1))
            [ "$i" -gt 50 ] && { echo "run: redis-server did not start" >&2; exit 1; }
            sleep 0.1
        done
    fi
    HOOKGATE_REDIS_URL=redis://127.0.0.1:6379/0
    export HOOKGATE_REDIS_URL
fi

echo "run: hookgate on http://127.0.0.1:8080 with $config (Ctrl-C stops)"
build/hookgate -c "$config" &
gw=$!
trap 'kill -TERM $gw 2>/dev/null; wait $gw; cleanup; exit 0' INT TERM
wait $gw
