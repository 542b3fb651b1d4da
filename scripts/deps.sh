#!/bin/sh
# Installs the Debian packages hookgate needs to build, run and test, when
# some are missing. As root it runs apt-get; otherwise it names what to install.
set -eu

pkgs="build-essential pkg-config libmicrohttpd-dev libssl-dev libyajl-dev libhiredis-dev
      libcmocka-dev redis-server redis-tools python3 python3-pytest python3-redis
      python3-jsonschema openssl curl nginx clang libclang-rt-14-dev valgrind"

missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing Debian packages:$missing" >&2
    echo "deps: run as root, or: sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
