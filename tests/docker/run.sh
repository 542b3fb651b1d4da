#!/bin/bash
# tests/docker/run.sh (make docker-test): builds the hookgate image and tests
# it for real, on a fresh Debian 12 machine, as root, without Docker Hub.
#
#  - installs docker.io, debootstrap, redis-server, curl, openssl (and
#    docker-compose, to validate docker/compose.yaml) if missing
#  - when no debian:bookworm-slim image is present, makes one with
#    debootstrap (minbase) from the Debian mirror this machine uses, with
#    this machine's apt proxy / validity settings, and `docker import`s it
#  - starts dockerd (--bridge=none --iptables=false) when none answers, and
#    stops it at the end only if it started it
#  - builds docker/Dockerfile as hookgate:test (--network host)
#  - starts its own redis-server on a free loopback port, runs the image with
#    --network host (read-only root, no capabilities) on a free loopback port,
#    posts signed TruTac and 1UPVISION deliveries with curl and checks with
#    redis-cli that they landed; checks the user, the HEALTHCHECK and that
#    `docker stop` ends it with exit code 0
#
# Prints "docker-test: N passed, M failed" and exits non-zero on a failure.
# Every wait is bounded; every target is a loopback address.
# Environment: KEEP=1 keeps the temporary directory; IMAGE (default
# hookgate:test).
set -u
export LC_ALL=C DEBIAN_FRONTEND=noninteractive DOCKER_BUILDKIT=0

cd "$(dirname "$0")/../.." || exit 2
IMAGE=${IMAGE:-hookgate:test}
BASE=debian:bookworm-slim
START=$(date +%s)
WORK=$(mktemp -d /tmp/hookgate-docker-test.XXXXXX)
chmod 0755 "$WORK"
CONTAINER=hookgate-test-$$
passed=0
failed=0
dockerd_pid=""
redis_pid=""
container_made=""

say() { printf 'docker-test: %s\n' "$*"; }
pass() { passed=$((passed + 1)); printf 'ok   %s\n' "$1"; }
fail() {
    failed=$((failed + 1))
    printf 'FAIL %s\n' "$1"
    shift
    [ $# -gt 0 ] && printf '     %s\n' "$@"
    return 0
}

# shellcheck disable=SC2317  # called by the EXIT trap
finish() {
    local rc
    trap - EXIT INT TERM
    if [ -n "$container_made" ]; then
        if [ "$failed" -ne 0 ]; then
            say "container log (tail):"
            timeout 30 docker logs --tail 40 "$CONTAINER" 2>&1 | sed 's/^/     /'
        fi
        timeout 60 docker rm -f -v "$CONTAINER" >/dev/null 2>&1
    fi
    if [ -n "$redis_pid" ]; then
        kill -TERM "$redis_pid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$redis_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$redis_pid" 2>/dev/null
        wait "$redis_pid" 2>/dev/null
    fi
    if [ -n "$dockerd_pid" ]; then
        kill -TERM "$dockerd_pid" 2>/dev/null
        for _ in $(seq 300); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$dockerd_pid" 2>/dev/null; then
            say "dockerd did not stop within 30 s; killing it"
            kill -KILL "$dockerd_pid" 2>/dev/null
        fi
        wait "$dockerd_pid" 2>/dev/null
    fi
    if [ "$failed" -ne 0 ] || [ "${KEEP:-0}" = 1 ]; then
        say "logs kept in $WORK"
    else
        rm -rf "$WORK"
    fi
    say "took $(($(date +%s) - START)) s"
    echo "docker-test: $passed passed, $failed failed"
    rc=0
    [ "$failed" -ne 0 ] && rc=1
    exit "$rc"
}
trap finish EXIT
trap 'fail "interrupted"; exit 1' INT TERM

# A step that everything after it needs: on failure, stop here.
fatal() { fail "$@"; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
    fatal "setup: must run as root (it installs packages and runs dockerd)"
fi

# ---------------------------------------------------------------- packages
need=""
command -v dockerd >/dev/null 2>&1 || need="$need docker.io"
command -v debootstrap >/dev/null 2>&1 || need="$need debootstrap"
if ! timeout 20 docker compose version >/dev/null 2>&1; then
    command -v docker-compose >/dev/null 2>&1 || need="$need docker-compose"
fi
command -v redis-server >/dev/null 2>&1 || need="$need redis-server"
command -v redis-cli >/dev/null 2>&1 || need="$need redis-tools"
command -v curl >/dev/null 2>&1 || need="$need curl"
command -v openssl >/dev/null 2>&1 || need="$need openssl"
if [ -n "$need" ]; then
    say "installing:$need"
    # shellcheck disable=SC2086  # $need is a list of names
    if ! { timeout 600 apt-get update -q >"$WORK/apt.log" 2>&1 &&
        timeout 1200 apt-get install -y -q --no-install-recommends $need >>"$WORK/apt.log" 2>&1; }; then
        fatal "setup: apt-get install$need" "$(tail -5 "$WORK/apt.log")"
    fi
fi
command -v docker >/dev/null 2>&1 || fatal "setup: no docker client after installing docker.io"

# ---------------------------------------------------------------- dockerd
if timeout 20 docker info >/dev/null 2>&1; then
    say "using the Docker engine that is already running"
else
    say "starting dockerd (log: $WORK/dockerd.log)"
    dockerd --bridge=none --iptables=false >"$WORK/dockerd.log" 2>&1 &
    dockerd_pid=$!
    ok=""
    for _ in $(seq 60); do
        if ! kill -0 "$dockerd_pid" 2>/dev/null; then break; fi
        if timeout 5 docker info >/dev/null 2>&1; then ok=1; break; fi
        sleep 1
    done
    [ -n "$ok" ] || fatal "setup: dockerd did not answer within 60 s" "$(tail -5 "$WORK/dockerd.log")"
fi

# ------------------------------------------------ the Debian mirror in use
# The first URI of a deb source for suite $1 in sources.list(.d), either
# format.
debian_uri() {
    local suite=$1 f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk -v s="$suite" '$1 == "deb" {
                i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                if ($(i + 1) == s) { print $i; exit }
            }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v s="$suite" '
            function flush() {
                if (deb && uri != "" && suites ~ ("(^| )" s "( |$)")) { print uri; exit }
                deb = 0; uri = ""; suites = ""
            }
            /^[ \t]*$/ { flush(); next }
            /^#/ { next }
            tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
            tolower($1) == "uris:" { uri = $2 }
            tolower($1) == "suites:" { $1 = ""; suites = $0; sub(/^ +/, "", suites) }
            END { flush() }' "$f"
    done
}
MIRROR=$(debian_uri bookworm | head -1)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY=$(debian_uri bookworm-security | head -1)

# ---------------------------------------------------------------- base image
if timeout 30 docker image inspect "$BASE" >/dev/null 2>&1; then
    say "base image $BASE is present"
else
    say "building $BASE with debootstrap from $MIRROR (log: $WORK/debootstrap.log)"
    rootfs=$WORK/rootfs
    t0=$(date +%s)
    timeout 1200 debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" \
        >"$WORK/debootstrap.log" 2>&1 ||
        fatal "setup: debootstrap bookworm from $MIRROR" "$(tail -5 "$WORK/debootstrap.log")"
    # apt in the image uses the same mirror, and the same proxy and validity
    # settings (a snapshot mirror needs Check-Valid-Until false) as this host.
    {
        echo "deb $MIRROR bookworm main"
        echo "deb $MIRROR bookworm-updates main"
        [ -n "$SECURITY" ] && echo "deb $SECURITY bookworm-security main"
    } >"$rootfs/etc/apt/sources.list"
    for f in /etc/apt/apt.conf /etc/apt/apt.conf.d/*; do
        [ -f "$f" ] || continue
        if grep -qiE 'proxy|check-valid-until|check-date' "$f"; then
            cp "$f" "$rootfs/etc/apt/apt.conf.d/$(basename "$f")-host"
        fi
    done
    # As Debian's slim images: no documentation, man pages or translations
    # (now, or from packages installed later), no package cache, no lists.
    if [ ! -d "$rootfs/usr/share" ] || [ "$rootfs" = / ]; then fatal "setup: no rootfs at $rootfs"; fi
    printf 'path-exclude /usr/share/%s\n' 'doc/*' 'groff/*' 'info/*' 'linda/*' 'lintian/*' \
        'locale/*' 'man/*' >"$rootfs/etc/dpkg/dpkg.cfg.d/docker"
    printf 'path-include /usr/share/doc/*/copyright\n' >>"$rootfs/etc/dpkg/dpkg.cfg.d/docker"
    find "$rootfs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
    find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$rootfs"/usr/share/groff/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/lintian/* \
        "$rootfs"/usr/share/linda/* "$rootfs"/usr/share/locale/* "$rootfs"/usr/share/man/* \
        "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin \
        "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* "$rootfs"/tmp/*
    tar --numeric-owner -C "$rootfs" -c . |
        timeout 600 docker import --change 'CMD ["bash"]' \
            --change 'LABEL org.hookgate.base=debootstrap' - "$BASE" >"$WORK/import.log" 2>&1 ||
        fatal "setup: docker import of $BASE" "$(tail -5 "$WORK/import.log")"
    rm -rf "$rootfs"
    say "built $BASE in $(($(date +%s) - t0)) s"
fi

# ---------------------------------------------------------------- the image
# The build stage is tagged too ($IMAGE-build), so that it stays as the
# cache of the next run while the build stages of earlier sources, left
# untagged, are pruned (label org.hookgate.stage=build) instead of piling up.
say "building $IMAGE (log: $WORK/build.log)"
t0=$(date +%s)
if timeout 1800 docker build --network host -f docker/Dockerfile --target build \
    -t "$IMAGE-build" . >"$WORK/build.log" 2>&1 &&
    timeout 1800 docker build --network host -f docker/Dockerfile -t "$IMAGE" . \
        >>"$WORK/build.log" 2>&1; then
    size=$(timeout 30 docker image inspect --format '{{.Size}}' "$IMAGE")
    pass "image builds ($(($(date +%s) - t0)) s, $((size / 1024 / 1024)) MiB)"
    timeout 120 docker image prune -f --filter label=org.hookgate.stage=build >/dev/null 2>&1
else
    fatal "image builds" "$(tail -15 "$WORK/build.log")"
fi

inspect() { timeout 30 docker image inspect --format "$1" "$IMAGE" 2>&1; }
meta_problems=""
check_meta() { [ "$(inspect "$2")" = "$3" ] || meta_problems="$meta_problems $1=$(inspect "$2")"; }
check_meta user '{{.Config.User}}' 'hookgate:hookgate'
check_meta entrypoint '{{json .Config.Entrypoint}}' '["hookgate"]'
check_meta cmd '{{json .Config.Cmd}}' '["-c","/etc/hookgate/hookgate.json"]'
check_meta healthcheck '{{json .Config.Healthcheck.Test}}' '["CMD","hookgate","healthcheck"]'
check_meta stopsignal '{{.Config.StopSignal}}' 'SIGTERM'
check_meta port '{{json .Config.ExposedPorts}}' '{"8080/tcp":{}}'
check_meta volume '{{json .Config.Volumes}}' '{"/var/lib/hookgate/spool":{}}'
if [ -z "$meta_problems" ]; then
    pass "image: USER, ENTRYPOINT, CMD, HEALTHCHECK, STOPSIGNAL, EXPOSE, VOLUME"
else
    fail "image metadata" "$meta_problems"
fi

# A one-off container without network.
run_once() { timeout 120 docker run --rm --network none "$@" 2>&1; }

# shellcheck disable=SC2016  # expanded by the container's shell
if out=$(run_once --entrypoint /bin/sh "$IMAGE" -c '
    for c in cc gcc make ld pkg-config; do command -v "$c" && exit 1; done
    dpkg-query -W -f "\${Package}\n" | grep -E -- "-dev(:.*)?$" && exit 1
    exit 0'); then
    pass "runtime image has no compiler and no -dev package"
else
    fail "runtime image has no compiler and no -dev package" "found: $(echo "$out" | tr '\n' ' ')"
fi

if out=$(run_once "$IMAGE" --version) && echo "$out" | grep -q '^hookgate '; then
    pass "hookgate --version in the image: $out"
else
    fail "hookgate --version in the image" "$out"
fi

# ------------------------------------------------------- secrets and config
TRUTAC_SECRET="docker-tt-secret-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
ONEUP_SECRET="docker-oneup-secret-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
ONEUP_UUID=1dc54786-9d69-487a-8c17-407ff20d0bdc
printf '%s\n' "$ONEUP_SECRET" >"$WORK/oneup_secret"
chmod 0644 "$WORK/oneup_secret" # the container's uid 10001 reads it

if out=$(run_once -e HOOKGATE_REDIS_URL=redis://127.0.0.1:6379/0 -e TRUTAC_SECRET="$TRUTAC_SECRET" \
    -v "$WORK/oneup_secret:/run/secrets/oneup_secret:ro" "$IMAGE" \
    --check-config -c /etc/hookgate/hookgate.json); then
    pass "the baked /etc/hookgate/hookgate.json validates with env and file secrets"
else
    fail "the baked /etc/hookgate/hookgate.json validates" "$out"
fi

if ! out=$(run_once -e TRUTAC_SECRET="$TRUTAC_SECRET" \
    -v "$WORK/oneup_secret:/run/secrets/oneup_secret:ro" "$IMAGE" \
    --check-config -c /etc/hookgate/hookgate.json) && echo "$out" | grep -q HOOKGATE_REDIS_URL; then
    pass "without HOOKGATE_REDIS_URL the config is refused, naming it"
else
    fail "without HOOKGATE_REDIS_URL the config is refused, naming it" "$out"
fi

# ------------------------------------------------------------ free ports
free_port() {
    local p
    for _ in $(seq 200); do
        p=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# ---------------------------------------------------------------- redis
REDIS_PORT=$(free_port) || fatal "setup: no free loopback port"
mkdir -p "$WORK/redis"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK/redis" --save "" \
    --appendonly no --daemonize no >"$WORK/redis/redis.log" 2>&1 &
redis_pid=$!
rcli() { timeout 10 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
ok=""
for _ in $(seq 100); do
    kill -0 "$redis_pid" 2>/dev/null || break
    if [ "$(rcli INFO server 2>/dev/null | tr -d '\r' | sed -n 's/^process_id://p')" = "$redis_pid" ]; then
        ok=1
        break
    fi
    sleep 0.1
done
[ -n "$ok" ] || fatal "setup: redis-server on 127.0.0.1:$REDIS_PORT" "$(tail -5 "$WORK/redis/redis.log")"

# ------------------------------------------------------------ the container
# The baked config with only "listen" moved to a free loopback port (the
# container shares the host's network), mounted where the image (and its
# HEALTHCHECK) reads it.
HG_PORT=$(free_port) || fatal "setup: no free loopback port"
sed "s|\"listen\": \"0.0.0.0:8080\"|\"listen\": \"127.0.0.1:$HG_PORT\"|" docker/hookgate.json \
    >"$WORK/hookgate.json"
chmod 0644 "$WORK/hookgate.json"
grep -q "\"listen\": \"127.0.0.1:$HG_PORT\"" "$WORK/hookgate.json" ||
    fatal "setup: docker/hookgate.json has no \"listen\": \"0.0.0.0:8080\" to move"

if out=$(timeout 120 docker run -d --name "$CONTAINER" --network host \
    --read-only --cap-drop ALL --security-opt no-new-privileges \
    --health-interval 1s \
    -e HOOKGATE_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" \
    -e TRUTAC_SECRET="$TRUTAC_SECRET" \
    -v "$WORK/hookgate.json:/etc/hookgate/hookgate.json:ro" \
    -v "$WORK/oneup_secret:/run/secrets/oneup_secret:ro" \
    "$IMAGE" 2>&1); then
    container_made=1
else
    fatal "docker run" "$out"
fi

state() { timeout 30 docker inspect --format "$1" "$CONTAINER" 2>/dev/null; }

# HEALTHCHECK: starting -> healthy (interval 1 s here; 30 s in the image).
health=""
for _ in $(seq 60); do
    health=$(state '{{if .State.Health}}{{.State.Health.Status}}{{end}}')
    [ "$health" = healthy ] && break
    [ "$(state '{{.State.Running}}')" = true ] || break
    sleep 1
done
if [ "$health" = healthy ]; then
    pass "HEALTHCHECK turns healthy"
else
    fail "HEALTHCHECK turns healthy (status: ${health:-none}, running: $(state '{{.State.Running}}'))" \
        "$(state '{{range .State.Health.Log}}{{.ExitCode}}: {{.Output}} {{end}}' | tail -c 600)"
fi

# Wait until it answers (healthy already says so; bounded either way).
for _ in $(seq 100); do
    curl -s -o /dev/null -m 2 "http://127.0.0.1:$HG_PORT/healthz" && break
    sleep 0.1
done

# shellcheck disable=SC2016  # expanded by the container's shell
uid=$(timeout 30 docker exec "$CONTAINER" sh -c 'id -u; awk "/^Uid:/{print \$2}" /proc/1/status' 2>&1 | tr '\n' ' ')
if [ "$uid" = "10001 10001 " ]; then
    pass "runs as non-root (uid 10001, exec and PID 1)"
else
    fail "runs as non-root" "uids (exec, PID 1): $uid"
fi

spool=$(timeout 30 docker exec "$CONTAINER" stat -c '%u:%g %a' /var/lib/hookgate/spool 2>&1)
mounted=$(state '{{range .Mounts}}{{if eq .Destination "/var/lib/hookgate/spool"}}{{.Type}}{{end}}{{end}}')
if [ "$spool" = "10001:10001 750" ] && [ "$mounted" = volume ]; then
    pass "spool is a volume owned by hookgate"
else
    fail "spool is a volume owned by hookgate" "owner/mode: $spool; mount type: ${mounted:-none}"
fi

post() { # path body out-file headers... -> prints the status code
    local path=$1 body=$2 outf=$3
    shift 3
    curl -s -m 10 -o "$outf" -w '%{http_code}' "$@" -H 'Content-Type: application/json' \
        --data-binary "$body" "http://127.0.0.1:$HG_PORT$path"
}
sha256() { printf '%s' "$1" | openssl dgst -sha256 | sed 's/^.* //'; }

# A signed TruTac delivery.
body='{"action":"created","clocking":{"id":"DOCKER-CLOCKING-1","driverId":"DRIVER-1","clockingTimeStamp":"2018-01-01T09:01:53","isClockIn":true}}'
sig=sha1=$(printf '%s' "$body" | openssl dgst -sha1 -hmac "$TRUTAC_SECRET" | sed 's/^.* //')
id=trutac:$(sha256 "$body")
code=$(post /webhooks/trutac "$body" "$WORK/trutac.out" \
    -H 'TT-Hook-Event: clocking' -H "TT-Hook-Signature: $sig")
answer=$(cat "$WORK/trutac.out" 2>/dev/null)
if [ "$code" = 200 ] && [ "$answer" = "{\"status\":\"accepted\",\"ids\":[\"$id\"]}" ]; then
    pass "signed TruTac delivery answered 200 accepted"
else
    fail "signed TruTac delivery answered 200 accepted" "HTTP $code: $answer"
fi
# The entry: its "id" field is the envelope id "trutac:" + sha256(body).
entry_ids=$(rcli --raw XRANGE 'webhooks:{trutac}' - + 2>&1 | awk 'p { print; p = 0 } $0 == "id" { p = 1 }')
if [ "$entry_ids" = "$id" ] && [ "$(rcli XLEN 'webhooks:{trutac}')" = 1 ]; then
    pass "the event is in webhooks:{trutac} with id $id"
else
    fail "the event is in webhooks:{trutac} with id $id" "ids found: $(echo "$entry_ids" | tr '\n' ' ')"
fi

# Wrong signature: 401, nothing more in the stream.
code=$(post /webhooks/trutac "$body" "$WORK/bad.out" \
    -H 'TT-Hook-Event: clocking' -H "TT-Hook-Signature: sha1=$(printf '0%.0s' $(seq 40))")
if [ "$code" = 401 ] && [ "$(rcli XLEN 'webhooks:{trutac}')" = 1 ]; then
    pass "a wrong signature is 401 and publishes nothing"
else
    fail "a wrong signature is 401 and publishes nothing" "HTTP $code: $(cat "$WORK/bad.out" 2>/dev/null)"
fi

# A 1UPVISION delivery signed with the secret from /run/secrets (file:).
body='{"punch":{"id":42,"punch_type":"IN","person":{"id":1,"first_name":"Rohit"}}}'
ts=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$ONEUP_SECRET" | sed 's/^.* //')
id=oneupvision:$(sha256 "$body")
code=$(post /webhooks "$body" "$WORK/oneup.out" -H 'X-ServiceHook-Event: punch.create' \
    -H "X-ServiceHook-Timestamp: $ts" -H "X-ServiceHook-UUID: $ONEUP_UUID" \
    -H "X-ServiceHook-Signature: $sig")
entry_ids=$(rcli --raw XRANGE 'webhooks:{oneupvision}' - + 2>&1 | awk 'p { print; p = 0 } $0 == "id" { p = 1 }')
if [ "$code" = 200 ] && [ "$entry_ids" = "$id" ]; then
    pass "1UPVISION delivery signed with the file: secret lands in webhooks:{oneupvision}"
else
    fail "1UPVISION delivery with the file: secret" "HTTP $code: $(cat "$WORK/oneup.out" 2>/dev/null); ids: $entry_ids"
fi

# docker stop: SIGTERM, graceful, exit code 0 (well within the 20 s grace).
t0=$(date +%s)
out=$(timeout 60 docker stop -t 20 "$CONTAINER" 2>&1)
took=$(($(date +%s) - t0))
code=$(state '{{.State.ExitCode}}')
if [ "$(state '{{.State.Running}}')" = false ] && [ "$code" = 0 ] && [ "$took" -lt 20 ]; then
    pass "docker stop: exit code 0 in ${took} s"
else
    fail "docker stop: exit code 0" "exit code ${code:-?} after ${took} s: $out"
fi

logs=$(timeout 30 docker logs "$CONTAINER" 2>&1)
if echo "$logs" | grep -qF -e "$TRUTAC_SECRET" -e "$ONEUP_SECRET"; then
    fail "the container log holds no secret" "a configured secret appears in docker logs"
else
    pass "the container log holds no secret"
fi

# ------------------------------------------------------------ compose file
# Not run (its images come from Docker Hub): validated by the compose plugin
# when there is one, else by Debian's docker-compose (installed above).
export TRUTAC_SECRET
if timeout 20 docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
else
    compose=(docker-compose)
fi
if out=$(timeout 60 "${compose[@]}" -f docker/compose.yaml config -q 2>&1); then
    pass "docker/compose.yaml validates (${compose[*]} config)"
else
    fail "docker/compose.yaml validates (${compose[*]} config)" "$out"
fi

exit 0
