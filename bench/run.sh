#!/usr/bin/env bash
# bench/run.sh - hookgate's benchmark, the single entry point (`make bench`).
#
#   bench/run.sh                  full run (about 30 minutes): 3 repetitions, 10 s windows,
#                                 16/64/256 connections, providers, body sizes, profile
#   BENCH_QUICK=1 bench/run.sh    smoke run (a few minutes): 1 repetition, 3 s, 64 conns
#
# It installs what is missing (Debian packages with apt-get, as root; the Node.js
# receiver's npm packages into bench/node/node_modules from package-lock.json), builds
# hookgate with make, then runs bench/bench.py, which starts its own redis-server,
# nginx, Node.js receiver and hookgate on free loopback ports in a temp dir, drives
# them with wrk, stops them by PID, and writes bench/results/<date>-<host>.json and
# (full runs) docs/performance.md. Exits non-zero when the stream-count check fails.
# Other settings: see the docstring of bench/bench.py (BENCH_* variables).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

say() { printf 'bench: %s\n' "$*"; }

# ---- Debian packages --------------------------------------------------------
# command -> package; the build dependencies are checked by package name.
declare -A tool_pkg=(
    [wrk]=wrk [nginx]=nginx [redis-server]=redis-server [redis-benchmark]=redis-tools
    [redis-cli]=redis-tools [node]=nodejs [python3]=python3 [make]=make [cc]=gcc
    [pkg-config]=pkg-config
)
missing=()
for tool in "${!tool_pkg[@]}"; do
    if ! command -v "$tool" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$tool" ]; then
        missing+=("${tool_pkg[$tool]}")
    fi
done
for pkg in libmicrohttpd-dev libssl-dev libyajl-dev libhiredis-dev; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
        missing+=("$pkg")
done
# npm: bundled with NodeSource's nodejs, a separate package with Debian's.
if ! command -v npm >/dev/null 2>&1; then
    missing+=(npm)
fi
# perf, for the profile (optional: the profile falls back to valgrind's callgrind)
if ! command -v perf >/dev/null 2>&1 && [ "${BENCH_QUICK:-0}" = 0 ]; then
    apt-cache show linux-perf >/dev/null 2>&1 && missing+=(linux-perf)
fi
if ((${#missing[@]})); then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    if [ "$(id -u)" != 0 ]; then
        say "missing Debian packages: ${missing[*]} (run as root, or apt-get install them)" >&2
        exit 1
    fi
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
    say "node $(node --version) is too old for fastify 5: Node.js 20 or newer is needed" >&2
    exit 1
fi

# ---- the Node.js receiver's packages (package-lock.json) --------------------
node_dir="$here/node"
stamp="$node_dir/node_modules/.package-lock.json"
if [ ! -f "$stamp" ] || [ "$node_dir/package-lock.json" -nt "$stamp" ]; then
    say "npm ci in bench/node"
    (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi

# ---- hookgate ---------------------------------------------------------------
make -C "$root" --no-print-directory

# wrk keeps up to 256 connections; the servers get more than that.
ulimit -n 65536 2>/dev/null || ulimit -n 4096 2>/dev/null || true

python=/usr/bin/python3
[ -x "$python" ] || python="$(command -v python3)"
exec "$python" "$here/bench.py" "$@"
