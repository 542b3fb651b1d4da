#!/usr/bin/env python3
"""bench.py - hookgate's benchmark driver (stdlib only). Run it through bench/run.sh,
which installs the tools, the Node.js packages and builds hookgate first.

In one run, on loopback, with the same pre-signed requests (bench/gen.py) and the same
wrk script (bench/wrk/requests.lua) for every HTTP target:

  nginx      answering a bare 204 (the HTTP ceiling): 2 workers, and 1 worker at 64
  node       bench/node/receiver.js: fastify + ioredis, 2 cluster workers
  hookgate   build/hookgate, threads 2, all five providers configured
  redis      redis-benchmark XADD of hookgate's entry for the same body (Redis ceiling)

Phases: the main matrix (TruTac, ~1.5 KB bodies, every target at each concurrency,
repeated), every provider through hookgate at 64 connections, the body-size curve
(TruTac 1, 4, 16, 64 KB; hookgate and nginx at 64 connections), and a profile of
hookgate under load. Every run is preceded by a warm-up, and after every run the
stream is checked (entries added == "accepted" answers x events per request) and
Redis is flushed. Results: a table on stdout, bench/results/<date>-<host>.json, and
(full runs) the generated section of docs/performance.md.

Environment: BENCH_QUICK=1 (smoke run: 1 repetition, 3 s, 64 connections),
BENCH_REPS, BENCH_DURATION (s, main matrix), BENCH_SHORT_DURATION (s, provider and
body-size runs), BENCH_WARMUP (s), BENCH_CONCURRENCY (e.g. "16,64,256"),
BENCH_SIZES (bytes, e.g. "1024,4096"), BENCH_PHASES (main,redis,providers,sizes,
profile), BENCH_DOC (1/0: update docs/performance.md), BENCH_KEEP=1 (keep the temp dir),
BENCH_PROFILER=callgrind (profile with valgrind instead of perf, which is the fallback
when perf cannot sample).

  bench/bench.py --render bench/results/<run>.json   tables of a past run (BENCH_DOC=1:
                                                     also rewrite the doc's results section)
"""

import datetime
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import gen  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1
LUA = os.path.join(HERE, "wrk", "requests.lua")
HOOKGATE = os.environ.get("HOOKGATE_BIN") or os.path.join(ROOT, "build", "hookgate")
RESULTS = os.path.join(HERE, "results")
DOC = os.path.join(ROOT, "docs", "performance.md")
WRK_THREADS = 2   # one per core; the request files are split the same way
# s after the window: wrk waits for the last answers (requests.lua). wrk starts its
# clock when it starts its threads, but each thread first loads its request file (up
# to about 2.5 s for 200,000 requests on a loaded machine) and starts its window at
# its first request, so the tail must cover that too; run_wrk checks that it did.
TAIL = 4
DOC_BEGIN = "<!-- bench:results:begin (written by bench/run.sh; edits here are replaced) -->"
DOC_END = "<!-- bench:results:end -->"


def env_int(name, default):
    v = os.environ.get(name)
    return int(v) if v not in (None, "") else default


def env_list(name, default):
    v = os.environ.get(name)
    return [int(x) for x in v.split(",") if x.strip()] if v else default


QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
REPS = env_int("BENCH_REPS", 1 if QUICK else 3)
DURATION = env_int("BENCH_DURATION", 3 if QUICK else 10)
SHORT = env_int("BENCH_SHORT_DURATION", 3 if QUICK else 6)
WARMUP = env_int("BENCH_WARMUP", 1 if QUICK else 2)
CONCURRENCY = env_list("BENCH_CONCURRENCY", [64] if QUICK else [16, 64, 256])
SIZES = env_list("BENCH_SIZES", [1024, 4096, 16384, 65536])
PHASES = (os.environ.get("BENCH_PHASES") or
          ("main,redis,providers,sizes" if QUICK else "main,redis,providers,sizes,profile")
          ).split(",")
WRITE_DOC = os.environ.get("BENCH_DOC", "0" if QUICK else "1") not in ("", "0")
KEEP = os.environ.get("BENCH_KEEP", "") not in ("", "0")
MAIN_COUNT = env_int("BENCH_MAIN_COUNT", 150000 if QUICK else 400000)
GEN_BYTES_CAP = env_int("BENCH_GEN_BYTES", 1500 * 1000 * 1000)
MAIN_SIZE = gen.DEFAULT_SIZE
REF_CONC = 64 if 64 in CONCURRENCY else CONCURRENCY[len(CONCURRENCY) // 2]


def say(msg):
    print("bench: " + msg, flush=True)


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------
# Redis (RESP over a socket; no client library needed)
# --------------------------------------------------------------------------


class Redis:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.f = self.sock.makefile("rb")

    def cmd(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self._read()

    def _read(self):
        line = self.f.readline()
        if not line:
            raise BenchError("redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise BenchError("redis: " + rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)
            return data[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise BenchError("redis: unexpected reply %r" % line)

    def close(self):
        self.sock.close()


# --------------------------------------------------------------------------
# Processes: started here, stopped here by PID
# --------------------------------------------------------------------------

STARTED = []  # (name, Popen)


def start(name, argv, log_path, env=None, cwd=None):
    logf = open(log_path, "wb")
    p = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                         stdin=subprocess.DEVNULL)
    logf.close()
    STARTED.append((name, p))
    return p


def stop(name, p, sig=signal.SIGTERM, timeout=10):
    if p.poll() is None:
        try:
            p.send_signal(sig)
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            say("%s (pid %d) did not stop on %s: SIGKILL" % (name, p.pid, sig.name))
            p.kill()
            p.wait(timeout=10)
    if (name, p) in STARTED:
        STARTED.remove((name, p))


def stop_all():
    for name, p in list(reversed(STARTED)):
        stop(name, p)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what, fn, timeout=15, proc=None, log=None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            break
        try:
            if fn():
                return
        except (OSError, BenchError):
            pass
        time.sleep(0.05)
    tail = ""
    if log and os.path.exists(log):
        with open(log, "rb") as f:
            tail = f.read()[-2000:].decode(errors="replace")
    raise BenchError("%s did not come up\n%s" % (what, tail))


def http_ok(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=2) as r:
        return 200 <= r.status < 300


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read()
            except OSError:
                continue
            if int(st[st.rindex(")") + 2:].split()[1]) == pid:
                out.append(int(d))
    return out


def proc_stat(pid):
    """(name, CPU seconds: utime + stime of all threads) of a process, or None if gone."""
    try:
        with open("/proc/%s/stat" % pid) as f:
            st = f.read()
    except OSError:
        return None
    fields = st[st.rindex(")") + 2:].split()
    return (st[st.index("(") + 1:st.rindex(")")],
            (int(fields[11]) + int(fields[12])) / CLK_TCK)


def cpu_seconds(pids):
    return sum(st[1] for st in map(proc_stat, pids) if st)


def machine_ticks():
    """(busy, steal, irq) CPU seconds of the whole machine so far: busy is user, nice,
    system, irq and softirq (idle, iowait and steal excluded; guest is inside user); irq
    is irq + softirq time (loopback packet processing, when the kernel accounts it
    apart from the processes)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return ((v[0] + v[1] + v[2] + v[5] + v[6]) / CLK_TCK, v[7] / CLK_TCK,
            (v[5] + v[6]) / CLK_TCK)


def all_process_cpu():
    """{pid: (name, cpu seconds)} of every process on the machine."""
    out = {}
    for d in os.listdir("/proc"):
        st = proc_stat(d) if d.isdigit() else None
        if st:
            out[int(d)] = st
    return out


class Sampler(threading.Thread):
    """Samples, every 0.1 s, the machine's CPU and each group's (and wrk's) CPU seconds,
    so that the figures can be taken over the steady part of a run."""

    def __init__(self, groups, wrk_pid):
        threading.Thread.__init__(self, daemon=True)
        self.groups = groups
        self.wrk_pid = wrk_pid
        self.samples = []
        self.halt = threading.Event()

    def snap(self):
        busy, steal, irq = machine_ticks()
        row = {"t": time.monotonic(), "machine": busy, "steal": steal, "irq": irq,
               "wrk": cpu_seconds([self.wrk_pid])}
        for g, pids in self.groups.items():
            row[g] = cpu_seconds(pids)
        return row

    def run(self):
        while not self.halt.is_set():
            self.samples.append(self.snap())
            self.halt.wait(0.1)

    def stop(self):
        self.halt.set()
        self.join(timeout=10)

    def between(self, a, b):
        """CPU in cores (CPU seconds per second) of each series between a and b."""
        inside = [r for r in self.samples if a <= r["t"] <= b]
        if len(inside) < 2:
            inside = sorted(self.samples, key=lambda r: abs(r["t"] - (a + b) / 2))[:2]
            inside.sort(key=lambda r: r["t"])
        if len(inside) < 2 or inside[-1]["t"] <= inside[0]["t"]:
            return None, 0
        first, last = inside[0], inside[-1]
        span = last["t"] - first["t"]
        return {k: (last[k] - first[k]) / span for k in first if k != "t"}, span


def status_kib(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def reset_hwm(pid):
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")  # resets VmHWM to the current RSS
        return True
    except OSError:
        return False


def version_of(argv, pattern=None):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (r.stdout + r.stderr).strip()
    if pattern:
        m = re.search(pattern, text)
        return m.group(1) if m else text.splitlines()[0] if text else None
    return text.splitlines()[0] if text else None


# --------------------------------------------------------------------------
# The servers
# --------------------------------------------------------------------------


class Servers:
    def __init__(self, tmp):
        self.tmp = tmp
        self.redis_port = free_port()
        self.hg_port = free_port()
        self.node_port = free_port()
        self.nginx_ports = {}
        self.procs = {}
        # A private copy of the binary: the work tree may be rebuilt while the benchmark
        # runs, and the profile needs the file the process runs to stay in place.
        self.hookgate_bin = os.path.join(tmp, "hookgate")
        shutil.copy2(HOOKGATE, self.hookgate_bin)

    # Redis: persistence off for the throughput runs (--save '' --appendonly no).
    def start_redis(self):
        d = os.path.join(self.tmp, "redis")
        os.makedirs(d)
        log = os.path.join(d, "redis.log")
        p = start("redis-server", ["redis-server", "--port", str(self.redis_port),
                                   "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                   "--dir", d, "--daemonize", "no", "--logfile", "",
                                   "--protected-mode", "yes"], log)
        self.procs["redis"] = p
        wait_until("redis-server", lambda: Redis(self.redis_port).cmd("PING") == "PONG",
                   proc=p, log=log)
        self.redis = Redis(self.redis_port)

    def start_nginx(self, workers):
        d = os.path.join(self.tmp, "nginx-%dw" % workers)
        os.makedirs(os.path.join(d, "logs"))
        port = free_port()
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write("""# the HTTP ceiling: a bare 204 for every request
worker_processes %(workers)d;
daemon off;
master_process on;
pid %(d)s/nginx.pid;
error_log %(d)s/logs/error.log warn;
events { worker_connections 4096; multi_accept on; }
http {
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 75s;
    client_max_body_size 2m;
    client_body_temp_path %(d)s/body;
    proxy_temp_path %(d)s/proxy;
    fastcgi_temp_path %(d)s/fastcgi;
    uwsgi_temp_path %(d)s/uwsgi;
    scgi_temp_path %(d)s/scgi;
    server {
        listen 127.0.0.1:%(port)d;
        location / { return 204; }
    }
}
""" % {"workers": workers, "d": d, "port": port})
        log = os.path.join(d, "logs", "stderr.log")
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        name = "nginx-%dw" % workers
        p = start(name, [nginx, "-p", d, "-c", conf, "-e", os.path.join(d, "logs", "error.log")],
                  log)
        self.procs[name] = p
        self.nginx_ports[name] = port

        def up():
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return len(children(p.pid)) >= workers
        wait_until(name, up, proc=p, log=log)

    def start_node(self):
        log = os.path.join(self.tmp, "node.log")
        env = dict(os.environ, PORT=str(self.node_port), HOST="127.0.0.1",
                   REDIS_PORT=str(self.redis_port), TRUTAC_SECRET=gen.SECRETS["trutac"],
                   STREAM="node:{trutac}", WORKERS="2", NODE_ENV="production")
        p = start("node", ["node", os.path.join(HERE, "node", "receiver.js")], log, env=env)
        self.procs["node"] = p

        def up():
            return http_ok(self.node_port, "/healthz") and len(children(p.pid)) >= 2
        wait_until("node receiver", up, proc=p, log=log, timeout=30)

    def hookgate_config(self):
        spool = os.path.join(self.tmp, "spool")
        return {
            "listen": "127.0.0.1:%d" % self.hg_port,
            "log_level": "warn",
            "threads": 2,
            "max_connections_per_ip": 0,  # all the load comes from 127.0.0.1
            "redis": {"url": "redis://127.0.0.1:%d/0" % self.redis_port,
                      "maxlen": 1000000000},  # no trimming during a run
            "spool": {"dir": spool},
            "providers": {
                "teamgo": {"secrets": [gen.SECRETS["teamgo"]]},
                "inline": {"secrets": [gen.SECRETS["inline"]]},
                "trutac": {"secrets": [gen.SECRETS["trutac"]]},
                "oneupvision": {"tenants": {gen.ONEUP_UUID: {
                    "secrets": [gen.SECRETS["oneupvision"]]}}},
                "ombori": {"auth": {"tokens": [gen.OMBORI_TOKEN],
                                    "token_header": gen.OMBORI_HEADER}},
            },
        }

    def start_hookgate(self, name="hookgate", wrapper=(), port=None):
        cfg = self.hookgate_config()
        if port:
            cfg["listen"] = "127.0.0.1:%d" % port
            cfg["spool"]["dir"] += "-" + name
        path = os.path.join(self.tmp, name + ".json")
        with open(path, "w") as f:
            json.dump(cfg, f, indent=1)
        log = os.path.join(self.tmp, name + ".log")
        p = start(name, list(wrapper) + [self.hookgate_bin, "-c", path], log)
        self.procs[name] = p
        wait_until(name, lambda: http_ok(port or self.hg_port, "/healthz"), proc=p, log=log,
                   timeout=60 if wrapper else 15)
        return p

    def instance_pids(self, name):
        """The process and its children (nginx workers, node cluster workers)."""
        p = self.procs.get(name)
        return [p.pid] + children(p.pid) if p is not None and p.poll() is None else []

    def pids(self, group):
        if group == "nginx":
            return self.instance_pids("nginx-2w") + self.instance_pids("nginx-1w")
        return self.instance_pids(group)

    def url(self, target):
        if target.startswith("nginx"):
            return "http://127.0.0.1:%d" % self.nginx_ports[target]
        if target == "node":
            return "http://127.0.0.1:%d" % self.node_port
        return "http://127.0.0.1:%d" % self.hg_port

    def alive(self):
        for name, p in self.procs.items():
            if p.poll() is not None:
                raise BenchError("%s (pid %d) exited with %s" % (name, p.pid, p.returncode))


CPU_GROUPS = ("hookgate", "redis", "nginx", "node")


# --------------------------------------------------------------------------
# One wrk run
# --------------------------------------------------------------------------


def background_load(seconds=3.0):
    """How busy the machine is before the benchmark starts anything (it is shared)."""
    p0, m0, t0 = all_process_cpu(), machine_ticks(), time.monotonic()
    time.sleep(seconds)
    p1, m1, t1 = all_process_cpu(), machine_ticks(), time.monotonic()
    per = {}
    for pid, (name, c1) in p1.items():
        d = c1 - p0.get(pid, (name, 0.0))[1]
        if d > 0 and pid != os.getpid():
            per[name] = per.get(name, 0.0) + d / (t1 - t0)
    top = dict(sorted(((k, round(v, 2)) for k, v in per.items() if v >= 0.01),
                      key=lambda kv: -kv[1])[:5])
    return {"cores_busy": round((m1[0] - m0[0]) / (t1 - t0), 2), "top": top}


def run_wrk(sv, target, files, conc, window, phase, provider="trutac", size=MAIN_SIZE,
            rep=0, check_stream=None, events_per_request=1, on_running=None):
    """Runs wrk against `target` with the request files `files` (prefix), returns the
    measured record. check_stream: the Redis stream whose entries must equal the
    accepted answers x events_per_request (then Redis is flushed)."""
    sv.alive()
    url = sv.url(target) + ("/webhooks/%s" % provider)
    argv = ["wrk", "-t", str(WRK_THREADS), "-c", str(conc), "-d", "%ds" % (window + TAIL),
            "--timeout", "5s", "-s", LUA, url, "--", files, str(WRK_THREADS), str(window)]
    server_pids = {g: sv.pids(g) for g in CPU_GROUPS}
    rss_pids = dict(server_pids)
    rss_pids["nginx"] = sv.instance_pids(target if target.startswith("nginx") else "nginx-2w")
    for g in ("hookgate", "node", "nginx"):
        for pid in rss_pids[g]:
            reset_hwm(pid)
    procs0 = all_process_cpu()
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL)
    sampler = Sampler(server_pids, p.pid)
    sampler.start()
    timer = None
    if on_running:
        timer = threading.Thread(target=on_running, daemon=True)
        timer.start()
    try:
        out, err = p.communicate(timeout=window + TAIL + 120)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise BenchError("wrk did not finish in time (%s %d)" % (target, conc))
    finally:
        sampler.stop()
    if timer:
        timer.join(timeout=60)
    wall = time.monotonic() - t0
    procs1 = all_process_cpu()
    rss = {g: sum(status_kib(q, "VmHWM") for q in rss_pids[g]) for g in CPU_GROUPS}
    out = out.decode(errors="replace")
    line = next((ln for ln in out.splitlines() if ln.startswith("BENCHJSON ")), None)
    if p.returncode != 0 or line is None:
        raise BenchError("wrk failed (%s, %d connections): rc %s\n%s\n%s" % (
            target, conc, p.returncode, out[-2000:], err.decode(errors="replace")[-2000:]))
    w = json.loads(line[len("BENCHJSON "):])
    answers = sum(t["answers"] for t in w["threads"])
    sent = sum(t["sent"] for t in w["threads"])
    codes, words = {}, {}
    for t in w["threads"]:
        for k, v in t["codes"].items():
            codes[k] = codes.get(k, 0) + int(v)
        for k, v in t["words"].items():
            words[k] = words.get(k, 0) + int(v)
    # Every thread's window must end well before wrk stops, or answers still in
    # flight are cut off (counted as unanswered, though the server is not at fault).
    start_skew = max(t["t_first"] for t in w["threads"]) - t0
    rps = answers / window
    # CPU over the steady part: every wrk thread inside its window
    firsts = [t["t_first"] for t in w["threads"]]
    cores, span = sampler.between(max(firsts) + 0.05, min(firsts) + window - 0.05)
    cpu = {}
    if cores:
        for g in CPU_GROUPS + ("wrk",):
            cpu[g] = cores[g]
        cpu["other"] = max(0.0, cores["machine"] - sum(cpu.values()))
        cpu["machine"] = cores["machine"]
        cpu["irq"] = cores["irq"]
        cpu["steal"] = cores["steal"]
    # processes that are not part of the benchmark, over the whole wrk run
    ours = set(q for pids in server_pids.values() for q in pids) | {p.pid, os.getpid()}
    foreign = {}
    for pid, (name, c1) in procs1.items():
        if pid in ours:
            continue
        c0 = procs0.get(pid, (name, 0.0))[1] if pid in procs0 else 0.0
        if c1 - c0 > 0:
            foreign[name] = foreign.get(name, 0.0) + (c1 - c0) / wall
    top_foreign = sorted(foreign.items(), key=lambda kv: -kv[1])[:4]
    lat = w["latency_us"]
    rec = {
        "phase": phase, "target": target, "provider": provider, "size": size,
        "connections": conc, "rep": rep, "window_s": window, "wall_s": round(wall, 2),
        "rps": round(rps, 1), "answers": answers, "sent": sent,
        "unanswered": sent - answers, "repeats": sum(t["repeats"] for t in w["threads"]),
        "start_skew_s": round(start_skew, 3), "cut_off": start_skew > TAIL - 0.5,
        "distinct": sum(t["loaded"] for t in w["threads"]),
        "codes": codes, "words": words, "errors": w["errors"],
        "latency_ms": {k: round(lat[k] / 1000.0, 3) for k in
                       ("p50", "p90", "p99", "p999", "max", "mean")},
        "cpu_cores": {g: round(v, 3) for g, v in cpu.items()},
        "cpu_span_s": round(span, 2),
        "cpu_us_per_req": {g: round(v * 1e6 / rps, 1) if rps else None
                           for g, v in cpu.items() if g != "steal"},
        "cores_busy": round(cpu.get("machine", 0.0), 2),
        "foreign_cores": {k: round(v, 3) for k, v in top_foreign},
        "foreign_cores_total": round(sum(foreign.values()), 3),
        "peak_rss_mib": {g: round(v / 1024.0, 1) for g, v in rss.items()},
        "wrk_load": {"wall_s": round(max(t["load_wall"] for t in w["threads"]), 3),
                     "cpu_s": round(sum(t["load_cpu"] for t in w["threads"]), 3)},
    }
    if check_stream:
        rec["check"] = check_entries(sv, check_stream, words, events_per_request, rec)
    return rec


def check_entries(sv, stream, words, events_per_request, rec):
    """Entries in `stream` == accepted (+ spooled, once drained) answers x events per
    request; nothing was rejected. Then flushes Redis for the next run."""
    r = sv.redis
    accepted = words.get("accepted", 0)
    spooled = words.get("spooled", 0)
    expected = (accepted + spooled) * events_per_request
    deadline = time.monotonic() + (30 if spooled else 2)
    entries = r.cmd("XLEN", stream)
    while entries != expected and time.monotonic() < deadline:
        time.sleep(0.1)
        entries = r.cmd("XLEN", stream)
    rejected = r.cmd("XLEN", "webhooks:{rejected}")
    non200 = sum(v for k, v in rec["codes"].items() if k != "200")
    ok = entries == expected and rejected == 0 and rec["unanswered"] == 0
    r.cmd("FLUSHALL")
    return {"stream": stream, "entries": entries, "accepted": accepted, "spooled": spooled,
            "duplicate": words.get("duplicate", 0), "events_per_request": events_per_request,
            "expected": expected, "rejected": rejected, "non_200": non200,
            "unanswered": rec["unanswered"], "cut_off": rec["cut_off"], "pass": ok}


def check_ok(c):
    """The stream-count rule: every accepted (or spooled) answer is exactly its entries,
    nothing was refused, and no request went unanswered. (A run whose window ended close
    to wrk's stop -- cut_off -- only fails when something was actually left in flight.)"""
    return c["entries"] == c["expected"] and c["rejected"] == 0 and c["unanswered"] == 0


def stream_of(target, provider):
    if target == "hookgate":
        return "webhooks:{%s}" % provider
    if target == "node":
        return "node:{trutac}"
    return None


def measure(sv, runs, target, files, conc, window, phase, reps_label, provider="trutac",
            size=MAIN_SIZE, epr=1, rep=0):
    """A warm-up run, then the measured run; both are checked."""
    stream = stream_of(target, provider)
    warm = run_wrk(sv, target, files, conc, WARMUP, "warmup", provider, size, rep, stream, epr)
    runs.append(warm)
    rec = run_wrk(sv, target, files, conc, window, phase, provider, size, rep, stream, epr)
    runs.append(rec)
    chk = rec.get("check")
    say("%-9s %-12s %5d B c=%-3d %s  %9.0f req/s  p50 %6.2f ms  p99 %7.2f ms  rss %6.1f MiB%s%s"
        % (phase, target if target != "hookgate" else "hookgate/" + provider, size, conc,
           reps_label, rec["rps"], rec["latency_ms"]["p50"], rec["latency_ms"]["p99"],
           rec["peak_rss_mib"].get(target.split("-")[0], 0.0),
           "" if chk is None else ("  check %s" % ("ok" if chk["pass"] else
                                                    "FAILED (%d entries, %d expected, %d rejected,"
                                                    " %d unanswered, %d non-200, %d spooled%s)" % (
                                                        chk["entries"], chk["expected"],
                                                        chk["rejected"], chk["unanswered"],
                                                        chk["non_200"], chk["spooled"],
                                                        "; wrk stopped less than 0.5 s after a"
                                                        " thread's window ended" if rec["cut_off"]
                                                        else ""))),
           "  (%d repeats)" % rec["repeats"] if rec["repeats"] and target == "hookgate" else ""))
    return rec


def generate(tmp, provider, count, size=MAIN_SIZE, tag=None):
    prefix = os.path.join(tmp, "req-%s" % (tag or "%s-%d" % (provider, size)))
    t0 = time.monotonic()
    gen.check_with_model(provider, size=size)
    meta = gen.generate(provider, count, prefix, size=size, split=WRK_THREADS)
    say("generated %d %s requests of %d B bodies in %.1f s" % (
        count, provider, meta["body_bytes_mean"], time.monotonic() - t0))
    return prefix, meta


def remove_files(prefix):
    for k in range(WRK_THREADS):
        try:
            os.unlink("%s.%d" % (prefix, k))
        except OSError:
            pass


# --------------------------------------------------------------------------
# redis-benchmark: XADD of the same entry hookgate writes
# --------------------------------------------------------------------------


def sample_entry(sv, provider="trutac"):
    """Field/value pairs of one entry hookgate wrote (taken before a flush)."""
    got = sv.redis.cmd("XRANGE", "webhooks:{%s}" % provider, "-", "+", "COUNT", "1")
    if not got:
        return None
    return got[0][1]


def run_redis_benchmark(sv, fields, conc, pipeline, rep, count):
    argv = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(sv.redis_port), "-c", str(conc),
            "-n", str(count), "-P", str(pipeline), "--threads", str(WRK_THREADS), "--csv",
            "XADD", "bench:{xadd}", "MAXLEN", "~", "1000000000", "*"]
    argv += [f.decode() for f in fields]
    pids = sv.pids("redis")
    c0 = cpu_seconds(pids)
    m0 = machine_ticks()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    r = subprocess.run(argv, capture_output=True, timeout=120)
    wall = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    m1 = machine_ticks()
    c1 = cpu_seconds(pids)
    lines = [ln for ln in r.stdout.decode(errors="replace").splitlines() if ln.startswith('"')]
    if r.returncode != 0 or len(lines) < 2:
        raise BenchError("redis-benchmark failed: %s" % r.stderr.decode(errors="replace")[-500:])
    header = [h.strip('"') for h in lines[0].split('","')]
    row = lines[-1].rsplit('","', len(header) - 1)
    vals = dict(zip(header[1:], [float(x.strip('"')) for x in row[1:]]))
    entries = sv.redis.cmd("XLEN", "bench:{xadd}")
    sv.redis.cmd("FLUSHALL")
    rps = vals["rps"]
    ops = count
    bench_cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    rec = {"phase": "redis", "target": "redis-xadd" + ("" if pipeline == 1 else "-P%d" % pipeline),
           "provider": "trutac", "size": MAIN_SIZE, "connections": conc, "pipeline": pipeline,
           "rep": rep, "rps": rps, "ops": ops, "entries": entries, "wall_s": round(wall, 2),
           "entry_bytes": sum(len(f) for f in fields),
           "latency_ms": {"p50": vals.get("p50_latency_ms"), "p99": vals.get("p99_latency_ms"),
                          "max": vals.get("max_latency_ms"), "mean": vals.get("avg_latency_ms")},
           "cpu_s": {"redis": round(c1 - c0, 3), "redis-benchmark": round(bench_cpu, 3),
                     "machine": round(m1[0] - m0[0], 3)},
           "cpu_us_per_req": {"redis": round((c1 - c0) * 1e6 / ops, 2),
                              "redis-benchmark": round(bench_cpu * 1e6 / ops, 2)}}
    say("redis     %-12s %5d B c=%-3d P=%-2d     %9.0f ops/s  p50 %6.2f ms  p99 %7.2f ms"
        % ("xadd", rec["entry_bytes"], conc, pipeline, rps, rec["latency_ms"]["p50"] or 0,
           rec["latency_ms"]["p99"] or 0))
    return rec


# --------------------------------------------------------------------------
# Profile
# --------------------------------------------------------------------------


def perf_works():
    if not shutil.which("perf"):
        return False
    r = subprocess.run(["perf", "record", "-e", "cpu-clock", "-o", "/dev/null", "--", "true"],
                       capture_output=True, timeout=30)
    return r.returncode == 0


def parse_perf_report(text, limit=25):
    """Rows "  5.50%  [ 1.20% ]  dso  [.] symbol" of perf report --stdio."""
    rows = []
    for ln in text.splitlines():
        m = re.match(r"^\s+([\d.]+)%\s+(?:([\d.]+)%\s+)?(\S+)\s+\[(\S)\]\s+(.+?)\s*$", ln)
        if m:
            rows.append({"pct": float(m.group(1)),
                         "self": float(m.group(2)) if m.group(2) else None,
                         "dso": m.group(3),
                         "symbol": re.sub(r"(\s+-)+\s*$", "", m.group(5))})
    rows.sort(key=lambda r: -r["pct"])
    return rows[:limit]


def parse_perf_pairs(text):
    """Rows "  14.21%  comm  dso" of perf report --sort comm,dso."""
    rows = []
    for ln in text.splitlines():
        m = re.match(r"^\s+([\d.]+)%\s+(.+?)\s{2,}(\S+)\s*$", ln)
        if m:
            rows.append({"pct": float(m.group(1)), "comm": m.group(2).strip(),
                         "dso": m.group(3)})
    rows.sort(key=lambda r: -r["pct"])
    return rows


def parse_callgrind(text, limit=30):
    """Rows "  1,234 (22.23%)  file:function [object]" of callgrind_annotate."""
    rows = []
    for ln in text.splitlines():
        m = re.match(r"^\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(.+?)\s*$", ln)
        if not m or "PROGRAM TOTALS" in m.group(3):
            continue
        where = m.group(3)
        obj = re.search(r"\[([^\]]+)\]\s*$", where)
        func = re.sub(r"\s*\[[^\]]+\]\s*$", "", where)
        rows.append({"pct": float(m.group(2)), "dso": os.path.basename(obj.group(1)) if obj else "",
                     "symbol": func.split(":", 1)[1] if ":" in func else func})
        if len(rows) >= limit:
            break
    return rows


def commandstats(sv):
    """Redis's own account of the commands it ran (INFO commandstats): calls and
    microseconds per call, e.g. how much of Redis's time hookgate's EVALSHA takes."""
    info = sv.redis.cmd("INFO", "commandstats").decode()
    out = {}
    for line in info.splitlines():
        m = re.match(r"cmdstat_(\S+):(.*)$", line.strip())
        if m:
            kv = dict(x.split("=", 1) for x in m.group(2).split(","))
            out[m.group(1)] = {"calls": int(kv.get("calls", 0)),
                               "usec": int(kv.get("usec", 0)),
                               "usec_per_call": float(kv.get("usec_per_call", 0))}
    return out


def profile(sv, runs, files, stamp):
    """hookgate under the TruTac load at 64 connections: perf (cpu-clock sampling,
    DWARF call graphs) of the hookgate process, then of the whole machine."""
    out = {"tool": None}
    hg = sv.procs["hookgate"].pid
    tmp = sv.tmp
    if os.environ.get("BENCH_PROFILER", "perf") != "callgrind" and perf_works():
        out["tool"] = "perf record -e cpu-clock (software clock sampling; no hardware counters here)"
        hg_data, all_data = os.path.join(tmp, "perf-hg.data"), os.path.join(tmp, "perf-all.data")

        def sample():
            time.sleep(1.5)
            subprocess.run(["perf", "record", "-e", "cpu-clock", "-F", "999", "--call-graph",
                            "dwarf,16384", "-p", str(hg), "-o", hg_data, "--", "sleep", "6"],
                           capture_output=True, timeout=60)
            subprocess.run(["perf", "record", "-e", "cpu-clock", "-F", "499", "-a", "-o",
                            all_data, "--", "sleep", "4"], capture_output=True, timeout=60)
        sv.redis.cmd("CONFIG", "RESETSTAT")
        rec = run_wrk(sv, "hookgate", files, 64, 14, "profile", on_running=sample)
        out["redis_commandstats"] = commandstats(sv)
        rec["check"] = check_entries(sv, "webhooks:{trutac}", rec["words"], 1, rec)
        runs.append(rec)
        reports = {}
        cmds = {
            "self": ["perf", "report", "-i", hg_data, "--stdio", "--no-children", "-g", "none",
                     "--sort", "dso,sym", "--fields", "overhead,dso,sym",
                     "--percent-limit", "0.3"],
            "threads": ["perf", "report", "-i", hg_data, "--stdio", "--no-children", "-g",
                        "none", "--sort", "comm,dso", "--fields", "overhead,comm,dso",
                        "--percent-limit", "0.5"],
            "children": ["perf", "report", "-i", hg_data, "--stdio", "--children", "-g", "none",
                         "--sort", "dso,sym", "--percent-limit", "1.5"],
            "callers": ["perf", "report", "-i", hg_data, "--stdio", "--no-children", "-G",
                        "--sort", "dso,sym", "--fields", "overhead,dso,sym",
                        "--percent-limit", "1.5"],
            "machine": ["perf", "report", "-i", all_data, "--stdio", "--no-children", "-g",
                        "none", "--sort", "comm,dso", "--fields", "overhead,comm,dso",
                        "--percent-limit", "0.5"],
        }
        for k, argv in cmds.items():
            r = subprocess.run(argv, capture_output=True, timeout=300)
            reports[k] = r.stdout.decode(errors="replace")
        out["self"] = parse_perf_report(reports["self"], 30)
        out["children"] = parse_perf_report(reports["children"], 60)
        out["threads"] = parse_perf_pairs(reports["threads"])
        out["machine"] = parse_perf_pairs(reports["machine"])
        text = "\n\n".join("==== %s: %s\n%s" % (k, " ".join(cmds[k]), reports[k]) for k in cmds)
    else:
        # No perf: callgrind on a second hookgate under a light load (instruction counts).
        out["tool"] = "valgrind --tool=callgrind (instruction counts, light load)"
        port = free_port()
        cg = os.path.join(tmp, "callgrind.out")
        name = "hookgate-callgrind"
        p = sv.start_hookgate(name, ("valgrind", "--tool=callgrind", "--callgrind-out-file=" + cg),
                              port)
        saved = sv.hg_port
        sv.hg_port = port
        try:
            rec = run_wrk(sv, "hookgate", files, 16, 5, "profile", check_stream="webhooks:{trutac}")
            runs.append(rec)
        finally:
            sv.hg_port = saved
            stop(name, p, timeout=60)
            sv.procs.pop(name, None)
        r = subprocess.run(["callgrind_annotate", "--inclusive=no", cg], capture_output=True,
                           timeout=300)
        text = r.stdout.decode(errors="replace")
        out["self"] = parse_callgrind(text)
    path = os.path.join(RESULTS, "%s-profile.txt" % stamp)
    with open(path, "w") as f:
        f.write(text)
    out["report_file"] = os.path.relpath(path, ROOT)
    say("profile written to %s" % out["report_file"])
    return out


# --------------------------------------------------------------------------
# Summaries
# --------------------------------------------------------------------------


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summarize(runs):
    """Medians over the repetitions of each (phase, target, provider, size, connections)."""
    groups = {}
    for r in runs:
        if r["phase"] in ("warmup", "profile"):
            continue
        key = (r["phase"], r["target"], r["provider"], r["size"], r["connections"])
        groups.setdefault(key, []).append(r)
    out = []
    for (phase, target, provider, size, conc), rs in groups.items():
        s = {"phase": phase, "target": target, "provider": provider, "size": size,
             "connections": conc, "reps": len(rs),
             "rps": med([r["rps"] for r in rs]),
             "rps_all": [r["rps"] for r in rs],
             "p50_ms": med([r["latency_ms"]["p50"] for r in rs]),
             "p99_ms": med([r["latency_ms"]["p99"] for r in rs])}
        if "cpu_us_per_req" in rs[0]:
            s["cpu_us_per_req"] = {g: med([r["cpu_us_per_req"].get(g) for r in rs])
                                   for g in rs[0]["cpu_us_per_req"]}
        if "peak_rss_mib" in rs[0]:
            s["peak_rss_mib"] = {g: max(r["peak_rss_mib"][g] for r in rs)
                                 for g in rs[0]["peak_rss_mib"]}
        if "cores_busy" in rs[0]:
            s["cores_busy"] = med([r["cores_busy"] for r in rs])
            s["cpu_cores"] = {g: med([r["cpu_cores"].get(g) for r in rs])
                              for g in rs[0]["cpu_cores"]}
            s["foreign_cores"] = med([r["foreign_cores_total"] for r in rs])
        if "pipeline" in rs[0]:
            s["pipeline"] = rs[0]["pipeline"]
            s["entry_bytes"] = rs[0]["entry_bytes"]
        out.append(s)
    # ratios to nginx (2 workers) of the same run, same connections and body size
    ref = {(s["size"], s["connections"]): s for s in out if s["target"] == "nginx-2w"}
    for s in out:
        n = ref.get((s["size"], s["connections"])) or ref.get((MAIN_SIZE, s["connections"])) \
            or ref.get((MAIN_SIZE, REF_CONC))
        if n and n["rps"]:
            s["vs_nginx"] = {
                "rps": round(s["rps"] / n["rps"], 3),
                "p50": round(s["p50_ms"] / n["p50_ms"], 2) if n["p50_ms"] and s["p50_ms"] else None,
                "p99": round(s["p99_ms"] / n["p99_ms"], 2) if n["p99_ms"] and s["p99_ms"] else None,
                "ref": "nginx-2w %d B c=%d" % (n["size"], n["connections"]),
            }
            if s.get("cpu_us_per_req") and n.get("cpu_us_per_req"):
                own = s["cpu_us_per_req"].get(s["target"].split("-")[0])
                if own is None and s["target"].startswith("redis"):
                    own = s["cpu_us_per_req"].get("redis")
                ngx = n["cpu_us_per_req"].get("nginx")
                s["vs_nginx"]["cpu_per_req"] = round(own / ngx, 2) if own and ngx else None
            if s.get("peak_rss_mib") and n.get("peak_rss_mib"):
                own = s["peak_rss_mib"].get(s["target"].split("-")[0])
                ngx = n["peak_rss_mib"].get("nginx")
                s["vs_nginx"]["rss"] = round(own / ngx, 2) if own and ngx else None
    out.sort(key=lambda s: (["main", "redis", "providers", "sizes"].index(s["phase"])
                            if s["phase"] in ("main", "redis", "providers", "sizes") else 9,
                            s["size"], s["connections"], s["target"], s["provider"]))
    return out


def find(summary, phase, target, conc=None, size=MAIN_SIZE, provider=None):
    for s in summary:
        if (s["phase"] == phase and s["target"] == target and s["size"] == size
                and (conc is None or s["connections"] == conc)
                and (provider is None or s["provider"] == provider)):
            return s
    return None


def targets_verdict(summary):
    """The issue's targets, from the medians."""
    out = []
    hg = find(summary, "main", "hookgate", REF_CONC)
    ngx = find(summary, "main", "nginx-2w", REF_CONC)
    node = find(summary, "main", "node", REF_CONC)
    if hg and ngx:
        r = hg["rps"] / ngx["rps"]
        out.append({"target": "throughput >= 0.5x nginx bare 204 at %d connections" % REF_CONC,
                    "measured": "%.2fx (%.0f vs %.0f req/s)" % (r, hg["rps"], ngx["rps"]),
                    "met": r >= 0.5})
    if hg and node:
        r = hg["rps"] / node["rps"]
        out.append({"target": "throughput >= 2.4x the two-process Node.js receiver at %d"
                              % REF_CONC,
                    "measured": "%.2fx (%.0f vs %.0f req/s)" % (r, hg["rps"], node["rps"]),
                    "met": r >= 2.4})
    if hg:
        out.append({"target": "p99 <= 5 ms at %d connections" % REF_CONC,
                    "measured": "%.2f ms (p50 %.2f ms)" % (hg["p99_ms"], hg["p50_ms"]),
                    "met": hg["p99_ms"] <= 5.0})
    top = max((s["connections"] for s in summary
               if s["phase"] == "main" and s["target"] == "hookgate"), default=None)
    hg_top = find(summary, "main", "hookgate", top) if top else None
    if hg_top:
        rss = hg_top["peak_rss_mib"]["hookgate"]
        out.append({"target": "peak RSS <= 64 MiB at %d connections" % top,
                    "measured": "%.1f MiB" % rss, "met": rss <= 64.0})
    curve = sorted((s for s in summary if s["phase"] == "sizes" and s["target"] == "hookgate"),
                   key=lambda s: s["size"])
    if len(curve) >= 2:
        base = curve[0]
        worst, ok = [], True
        for s in curve[1:]:
            bytes_ratio = s["size"] / base["size"]
            cpu_ratio = s["cpu_us_per_req"]["hookgate"] / base["cpu_us_per_req"]["hookgate"]
            time_ratio = base["rps"] / s["rps"]
            worst.append("%dK: cpu x%.1f, time x%.1f for bytes x%d" % (
                s["size"] // 1024, cpu_ratio, time_ratio, bytes_ratio))
            ok = ok and cpu_ratio <= bytes_ratio * 1.1 and time_ratio <= bytes_ratio * 1.1
        out.append({"target": "cost grows no faster than the body (vs %d B)" % base["size"],
                    "measured": "; ".join(worst), "met": ok})
    return out


def checks_summary(runs):
    per = {}
    for r in runs:
        c = r.get("check")
        if not c:
            continue
        k = c["stream"]
        p = per.setdefault(k, {"stream": k, "runs": 0, "entries": 0, "expected": 0,
                               "accepted": 0, "failed_runs": 0})
        p["runs"] += 1
        p["entries"] += c["entries"]
        p["expected"] += c["expected"]
        p["accepted"] += c["accepted"]
        p["failed_runs"] += 0 if check_ok(c) else 1
    for p in per.values():
        p["pass"] = p["failed_runs"] == 0 and p["entries"] == p["expected"]
    return sorted(per.values(), key=lambda p: p["stream"])


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


def fmt(v, spec="%.0f"):
    return "-" if v is None else spec % v


def x(v):
    return "-" if v is None else ("%.2fx" % v)


def tables(res):
    """Markdown tables (used for stdout and the doc)."""
    S = res["summary"]
    L = []
    L.append("### Throughput and latency (TruTac, %d B bodies; medians of %d)\n" % (
        MAIN_SIZE, res["settings"]["reps"]))
    L.append("| target | conns | req/s | (min-max) | vs nginx | p50 ms | p99 ms | p99 vs nginx | "
             "server CPU us/req | peak RSS MiB |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in S:
        if s["phase"] not in ("main", "redis"):
            continue
        v = s.get("vs_nginx", {})
        grp = s["target"].split("-")[0]
        cpu = (s.get("cpu_us_per_req") or {}).get(grp if grp != "redis" else "redis")
        rss = (s.get("peak_rss_mib") or {}).get(grp)
        name = s["target"]
        if name.startswith("redis"):
            name = "redis-benchmark XADD %d B%s" % (s["entry_bytes"], "" if s["pipeline"] == 1
                                                     else " pipeline %d" % s["pipeline"])
        elif name == "nginx-2w":
            name = "nginx 204 (2 workers)"
        elif name == "nginx-1w":
            name = "nginx 204 (1 worker)"
        elif name == "node":
            name = "Node.js fastify+ioredis (2 procs)"
        L.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            name, s["connections"], fmt(s["rps"]),
            "%.0f-%.0f" % (min(s["rps_all"]), max(s["rps_all"])), x(v.get("rps")),
            fmt(s["p50_ms"], "%.2f"),
            fmt(s["p99_ms"], "%.2f"), x(v.get("p99")), fmt(cpu, "%.1f"),
            fmt(rss, "%.1f") if not name.startswith("redis") else "-"))
    prov = [s for s in S if s["phase"] == "providers" or
            (s["phase"] == "main" and s["target"] == "hookgate" and s["connections"] == REF_CONC)]
    if len(prov) > 1:
        L.append("\n### Every provider through hookgate (%d connections; medians)\n" % REF_CONC)
        L.append("| provider | body B | events/req | req/s | vs nginx | p50 ms | p99 ms | "
                 "hookgate CPU us/req | redis CPU us/req |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for s in sorted(prov, key=lambda s: s["provider"]):
            meta = res["generated"].get(s["provider"], {})
            L.append("| %s | %s | %d | %s | %s | %s | %s | %s | %s |" % (
                s["provider"], fmt(meta.get("body_bytes_mean")),
                gen.EVENTS_PER_REQUEST[s["provider"]], fmt(s["rps"]),
                x(s.get("vs_nginx", {}).get("rps")), fmt(s["p50_ms"], "%.2f"),
                fmt(s["p99_ms"], "%.2f"), fmt(s["cpu_us_per_req"]["hookgate"], "%.1f"),
                fmt(s["cpu_us_per_req"]["redis"], "%.1f")))
    sizes = sorted((s for s in S if s["phase"] == "sizes"), key=lambda s: (s["size"], s["target"]))
    if sizes:
        L.append("\n### Body-size curve (TruTac, %d connections; medians)\n" % REF_CONC)
        L.append("| body | target | req/s | vs nginx | MB/s of bodies | p50 ms | p99 ms | "
                 "server CPU us/req | CPU us/KB | peak RSS MiB |")
        L.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for s in sizes:
            grp = s["target"].split("-")[0]
            cpu = s["cpu_us_per_req"].get(grp)
            L.append("| %d KB | %s | %s | %s | %.1f | %s | %s | %s | %s | %s |" % (
                s["size"] // 1024, s["target"], fmt(s["rps"]),
                x(s.get("vs_nginx", {}).get("rps")), s["rps"] * s["size"] / 1e6,
                fmt(s["p50_ms"], "%.2f"), fmt(s["p99_ms"], "%.2f"), fmt(cpu, "%.1f"),
                fmt(cpu / (s["size"] / 1024.0) if cpu else None, "%.2f"),
                fmt(s["peak_rss_mib"].get(grp), "%.1f")))
    L.append("\n### CPU per request, by process (microseconds of CPU per answered request, "
             "over the steady part of each run; medians)\n")
    L.append("`other` is the machine's busy time not charged to these processes (kernel "
             "threads, anything else running); `outside` is CPU used by processes that are "
             "not part of the benchmark, in cores.\n")
    L.append("| run | conns | wrk | nginx | node | hookgate | redis | other | cores busy "
             "(of %d) | outside |" % NCPU)
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in S:
        if s["phase"] not in ("main", "sizes", "providers") or "cpu_us_per_req" not in s:
            continue
        c = s["cpu_us_per_req"]
        label = s["target"]
        if s["phase"] == "sizes":
            label += " %d KB" % (s["size"] // 1024)
        elif s["phase"] == "providers":
            label += "/" + s["provider"]
        L.append("| %s | %d | %s | %s | %s | %s | %s | %s | %.2f | %s |" % (
            label, s["connections"], fmt(c.get("wrk"), "%.1f"), fmt(c.get("nginx"), "%.1f"),
            fmt(c.get("node"), "%.1f"), fmt(c.get("hookgate"), "%.1f"),
            fmt(c.get("redis"), "%.1f"), fmt(c.get("other"), "%.1f"), s["cores_busy"],
            fmt(s.get("foreign_cores"), "%.2f")))
    L.append("\n### Where the two cores go (cores used during the steady part of the "
             "main runs at %d connections; medians)\n" % REF_CONC)
    L.append("`irq` is the machine's irq + softirq time (mostly loopback packet processing); "
             "this kernel also charges it to the process that was running, so it is inside "
             "the columns before it, not an extra.\n")
    L.append("| run | req/s | wrk | nginx | node | hookgate | redis | other | irq "
             "| outside the benchmark | total busy |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in S:
        if s["phase"] != "main" or s["connections"] != REF_CONC or "cpu_cores" not in s:
            continue
        c = s["cpu_cores"]
        L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            s["target"], fmt(s["rps"]), fmt(c.get("wrk"), "%.2f"), fmt(c.get("nginx"), "%.2f"),
            fmt(c.get("node"), "%.2f"), fmt(c.get("hookgate"), "%.2f"),
            fmt(c.get("redis"), "%.2f"), fmt(c.get("other"), "%.2f"),
            fmt(c.get("irq"), "%.2f"), fmt(s.get("foreign_cores"), "%.2f"),
            fmt(c.get("machine"), "%.2f")))
    L.append("\n### Targets\n")
    L.append("| target | measured | |")
    L.append("|---|---|---|")
    for t in res["targets"]:
        L.append("| %s | %s | %s |" % (t["target"], t["measured"], "met" if t["met"] else
                                       "**not met**"))
    L.append("\n### Stream-count check (entries added == accepted answers x events per "
             "request, every run, warm-ups included)\n")
    L.append("| stream | runs | accepted answers | entries expected | entries found | result |")
    L.append("|---|---:|---:|---:|---:|---|")
    for c in res["checks"]:
        L.append("| `%s` | %d | %d | %d | %d | %s |" % (c["stream"], c["runs"], c["accepted"],
                                                      c["expected"], c["entries"],
                                                      "PASS" if c["pass"] else "**FAIL**"))
    prof = res.get("profile")
    if prof and prof.get("self"):
        L.append("\n### Profile of hookgate under load (%s)\n" % prof["tool"])
        L.append("Top self %s in the hookgate process (all its threads):\n" % (
            "instructions" if "callgrind" in prof["tool"] else "time"))
        L.append("| self % | object | symbol |")
        L.append("|---:|---|---|")
        for row in prof["self"][:25]:
            L.append("| %.2f | %s | `%s` |" % (row["pct"], row.get("dso", ""), row["symbol"]))
        hg_rows = [r for r in prof.get("children", []) if r.get("dso") == "hookgate"]
        if hg_rows:
            L.append("\nInclusive time of hookgate's own functions (children included):\n")
            L.append("| total % | self % | function |")
            L.append("|---:|---:|---|")
            for row in hg_rows[:20]:
                L.append("| %.2f | %s | `%s` |" % (row["pct"], fmt(row.get("self"), "%.2f"),
                                                 row["symbol"]))
        if prof.get("threads"):
            L.append("\nhookgate's samples by thread and object:\n")
            L.append("| % | thread | object |")
            L.append("|---:|---|---|")
            for row in prof["threads"][:12]:
                L.append("| %.2f | %s | %s |" % (row["pct"], row["comm"], row["dso"]))
        cs = prof.get("redis_commandstats")
        if cs:
            L.append("\nRedis during the same load (`INFO commandstats`; a script's own "
                     "commands are counted inside it and again under their names):\n")
            L.append("| command | calls | us per call | us total |")
            L.append("|---|---:|---:|---:|")
            for name, c in sorted(cs.items(), key=lambda kv: -kv[1]["usec"])[:8]:
                L.append("| %s | %d | %.2f | %d |" % (name, c["calls"], c["usec_per_call"],
                                                     c["usec"]))
        if prof.get("machine"):
            L.append("\nThe whole machine during the same load (samples by process and "
                     "object):\n")
            L.append("| % | process | object |")
            L.append("|---:|---|---|")
            for row in prof["machine"][:15]:
                L.append("| %.2f | %s | %s |" % (row["pct"], row["comm"], row["dso"]))
        L.append("\nFull reports (with call graphs): `%s`." % prof["report_file"])
    return "\n".join(L)


def source_info():
    """Which hookgate was measured: the commit, uncommitted changes to its sources, and
    the binary's digest."""
    def git(*args):
        r = subprocess.run(["git", "-C", ROOT] + list(args), capture_output=True, text=True,
                           timeout=30)
        return r.stdout.strip() if r.returncode == 0 else None

    with open(HOOKGATE, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    dirty = git("status", "--porcelain", "--", "lib", "gateway", "Makefile")
    return {"commit": git("rev-parse", "--short", "HEAD"),
            "subject": git("log", "-1", "--format=%s"),
            "uncommitted": dirty.splitlines() if dirty else [],
            "binary_sha256": digest}


def machine_info():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem = "%.1f GiB" % (int(line.split()[1]) / 1048576.0)
    def node_pkg(name):
        try:
            with open(os.path.join(HERE, "node", "node_modules", name, "package.json")) as f:
                return json.load(f)["version"]
        except (OSError, ValueError, KeyError):
            return None
    return {
        "host": socket.gethostname(), "nproc": NCPU, "cpu": model, "memory": mem,
        "kernel": platform.release(), "os": version_of(["sh", "-c", ". /etc/os-release; "
                                                              "echo $PRETTY_NAME"]),
        "versions": {
            "hookgate": None,
            "nginx": version_of(["nginx", "-v"], r"nginx/(\S+)"),
            "redis": version_of(["redis-server", "--version"], r"v=(\S+)"),
            "node": version_of(["node", "--version"]),
            "fastify": node_pkg("fastify"), "ioredis": node_pkg("ioredis"),
            "wrk": version_of(["wrk", "-v"], r"wrk (\S+)"),
            "python": platform.python_version(),
            "perf": version_of(["perf", "--version"]),
        },
    }


def write_doc(res, md):
    when = res["date"]
    m = res["machine"]
    v = m["versions"]
    section = "\n".join([
        DOC_BEGIN,
        "## Results of the last full run: %s" % when,
        "",
        "Machine: `%s`, %d cores (%s), %s, kernel %s, %s. Versions: %s (commit %s%s), "
        "nginx %s, redis %s, node %s (fastify %s, ioredis %s), wrk %s. Raw data: `%s`." % (
            m["host"], m["nproc"], m["cpu"], m["memory"], m["kernel"], m["os"],
            v["hookgate"], res["source"]["commit"],
            " plus uncommitted changes" if res["source"]["uncommitted"] else "",
            v["nginx"], v["redis"], v["node"], v["fastify"], v["ioredis"],
            v["wrk"], res["results_file"]),
        "",
        "Settings: %d repetitions, %d s windows (%d s for the provider and body-size runs), "
        "%d s warm-up before each, wrk %d threads; Redis with `--save '' --appendonly no`. "
        "Before the run the machine was already %.2f cores busy with other work (%s)."
        % (res["settings"]["reps"], res["settings"]["duration"],
           res["settings"]["short_duration"], res["settings"]["warmup"], WRK_THREADS,
           res["background"]["cores_busy"],
           ", ".join("%s %.2f" % kv for kv in res["background"]["top"].items()) or "idle"),
        "",
        md,
        DOC_END,
    ])
    text = ""
    if os.path.exists(DOC):
        with open(DOC) as f:
            text = f.read()
    if DOC_BEGIN in text and DOC_END in text:
        a = text.index(DOC_BEGIN)
        b = text.index(DOC_END) + len(DOC_END)
        text = text[:a] + section + text[b:]
    else:
        if not text:
            text = "# Performance\n\nMeasured by `bench/run.sh` (`make bench`).\n"
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    with open(DOC, "w") as f:
        f.write(text)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def main():
    for tool in ("wrk", "redis-server", "redis-benchmark", "node"):
        if not shutil.which(tool):
            raise BenchError("%s is not installed (bench/run.sh installs it)" % tool)
    if not os.path.exists(HOOKGATE):
        raise BenchError("%s is missing: make first" % HOOKGATE)
    os.makedirs(RESULTS, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    host = re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname())
    stamp = now.strftime("%Y-%m-%dT%H%M%SZ") + "-" + host + ("-quick" if QUICK else "")
    tmp = tempfile.mkdtemp(prefix="hookgate-bench.")
    say("%s run: %d reps, %d s windows (%d s short), %d s warm-up, connections %s, phases %s"
        % ("quick" if QUICK else "full", REPS, DURATION, SHORT, WARMUP,
           ",".join(map(str, CONCURRENCY)), ",".join(PHASES)))
    say("temp dir %s" % tmp)
    runs, generated, res = [], {}, {}
    t_start = time.monotonic()
    res["source"] = source_info()
    res["hookgate_version"] = version_of([HOOKGATE, "--version"])
    say("hookgate %s, commit %s%s" % (res["hookgate_version"], res["source"]["commit"],
                                      " with uncommitted changes to %d files" %
                                      len(res["source"]["uncommitted"])
                                      if res["source"]["uncommitted"] else ""))
    res["background"] = background_load()
    say("before starting: the machine is %.2f cores busy (%s)" % (
        res["background"]["cores_busy"],
        ", ".join("%s %.2f" % kv for kv in res["background"]["top"].items()) or "idle"))
    sv = Servers(tmp)
    try:
        sv.start_redis()
        sv.start_nginx(2)
        sv.start_nginx(1)
        sv.start_node()
        sv.start_hookgate()
        say("up: redis :%d, nginx 2w :%d, nginx 1w :%d, node :%d, hookgate :%d" % (
            sv.redis_port, sv.nginx_ports["nginx-2w"], sv.nginx_ports["nginx-1w"], sv.node_port,
            sv.hg_port))

        main_files, meta = generate(tmp, "trutac", MAIN_COUNT, MAIN_SIZE, tag="main")
        generated["trutac"] = meta

        entry_fields = None
        # the entry hookgate writes for this body, for redis-benchmark's XADD
        run_wrk(sv, "hookgate", main_files, 8, 1, "sample", check_stream=None)
        entry_fields = sample_entry(sv)
        sv.redis.cmd("FLUSHALL")

        if "main" in PHASES:
            for rep in range(REPS):
                for conc in CONCURRENCY:
                    targets = ["nginx-2w", "node", "hookgate"]
                    if conc == REF_CONC:
                        targets.insert(1, "nginx-1w")
                    for target in targets:
                        measure(sv, runs, target, main_files, conc, DURATION, "main",
                                "rep %d/%d" % (rep + 1, REPS), rep=rep)

        if "redis" in PHASES and entry_fields:
            for rep in range(REPS):
                for conc, pipe in [(c, 1) for c in CONCURRENCY] + [(2, 32)]:
                    count = 100000 if QUICK else 200000
                    if pipe > 1:
                        count *= 3
                    runs.append(run_redis_benchmark(sv, entry_fields, conc, pipe, rep, count))

        hg_ref = med([r["rps"] for r in runs if r["phase"] == "main" and
                      r["target"] == "hookgate" and r["connections"] == REF_CONC]) or 15000.0

        if "providers" in PHASES:
            for provider in ("teamgo", "inline", "ombori", "oneupvision"):
                count = int(min(300000, max(20000, hg_ref * 1.5 * (SHORT + 1))))
                files, meta = generate(tmp, provider, count)
                generated[provider] = meta
                for rep in range(REPS):
                    measure(sv, runs, "hookgate", files, REF_CONC, SHORT, "providers",
                            "rep %d/%d" % (rep + 1, REPS), provider=provider,
                            epr=gen.EVENTS_PER_REQUEST[provider], rep=rep)
                remove_files(files)

        if "sizes" in PHASES:
            rate = hg_ref * 1.5
            for size in SIZES:
                count = int(max(5000, min(rate * (SHORT + 1), GEN_BYTES_CAP / (size + 300))))
                files, meta = generate(tmp, "trutac", count, size)
                generated["trutac-%d" % size] = meta
                for rep in range(REPS):
                    for target in ("nginx-2w", "hookgate"):
                        measure(sv, runs, target, files, REF_CONC, SHORT, "sizes",
                                "rep %d/%d" % (rep + 1, REPS), size=size, rep=rep)
                got = med([r["rps"] for r in runs if r["phase"] == "sizes" and
                           r["target"] == "hookgate" and r["size"] == size])
                rate = (got or rate) * 1.3
                remove_files(files)

        if "profile" in PHASES:
            res["profile"] = profile(sv, runs, main_files, stamp)
        sv.alive()
    finally:
        stop_all()
        if KEEP:
            say("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    summary = summarize(runs)
    info = machine_info()
    info["versions"]["hookgate"] = res["hookgate_version"]
    res["machine"] = info
    res.update({
        "date": now.strftime("%Y-%m-%d %H:%M UTC"),
        "quick": QUICK,
        "settings": {"reps": REPS, "duration": DURATION, "short_duration": SHORT,
                     "warmup": WARMUP, "tail": TAIL, "connections": CONCURRENCY,
                     "sizes": SIZES, "wrk_threads": WRK_THREADS, "main_body": MAIN_SIZE,
                     "main_distinct_requests": MAIN_COUNT, "phases": PHASES,
                     "redis": "--save '' --appendonly no", "hookgate_threads": 2,
                     "nginx": "worker_processes 2 (reference) and 1; return 204",
                     "node": "cluster, 2 workers; fastify + ioredis (auto-pipelining)"},
        "generated": generated,
        "summary": summary,
        "targets": targets_verdict(summary),
        "checks": checks_summary(runs),
        "runs": runs,
        "elapsed_s": round(time.monotonic() - t_start, 1),
    })
    path = os.path.join(RESULTS, stamp + ".json")
    res["results_file"] = os.path.relpath(path, ROOT)
    with open(path, "w") as f:
        json.dump(res, f, indent=1)
    md = tables(res)
    print()
    print(md)
    print()
    say("results: %s (%.0f s)" % (res["results_file"], res["elapsed_s"]))
    if WRITE_DOC:
        write_doc(res, md)
        say("updated %s" % os.path.relpath(DOC, ROOT))
    failed = [c["stream"] for c in res["checks"] if not c["pass"]]
    for c in res["checks"]:
        print("stream-count check %-22s %s (%d runs: %d entries, %d expected)" % (
            c["stream"], "PASS" if c["pass"] else "FAIL", c["runs"], c["entries"],
            c["expected"]))
    if not res["checks"]:
        failed = ["no check ran"]
    return 1 if failed else 0


def _interrupted(signum, frame):
    raise KeyboardInterrupt


def render(path):
    """bench.py --render RESULTS.json: prints the tables of a past run and, with
    BENCH_DOC=1, writes them into docs/performance.md (no benchmark is run)."""
    with open(path) as f:
        res = json.load(f)
    res["checks"] = checks_summary(res["runs"])  # by today's rule (check_ok)
    md = tables(res)
    print(md)
    if os.environ.get("BENCH_DOC", "") not in ("", "0"):
        write_doc(res, md)
        say("updated %s" % os.path.relpath(DOC, ROOT))
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _interrupted)
    if len(sys.argv) == 3 and sys.argv[1] == "--render":
        sys.exit(render(sys.argv[2]))
    try:
        sys.exit(main())
    except BenchError as e:
        say("error: %s" % e)
        sys.exit(1)
    except KeyboardInterrupt:
        say("interrupted")
        sys.exit(130)
