-- requests.lua - wrk script: cycles through pre-signed requests (bench/gen.py).
--
--   wrk -t2 -c64 -d11s -s bench/wrk/requests.lua URL -- PREFIX THREADS WINDOW_S
--
-- Thread k (0-based) loads PREFIX.<k>: records "<length>\n<raw HTTP request>", so
-- no two threads send the same request. Each thread sends them in order, wrapping
-- around when its list runs out (wrapped sends are counted as "repeats").
--
-- Measurement window: each thread measures its own WINDOW_S seconds from its first
-- request. After that it sends no further complete request: each connection that
-- gets its last answer sends an unfinished request head instead (no blank line), which
-- every server just waits on, so when wrk stops (-d must exceed WINDOW_S by more than the
-- time a thread takes to load its file, since wrk starts its clock before that)
-- nothing it counted is still in flight and no request was processed without its
-- answer being seen. That is what makes the stream-count check exact: the entries
-- added equal the "accepted" answers counted here. Throughput = answers / WINDOW_S,
-- summed over the threads; wrk's own Requests/sec (which divides by -d) is not used.
--
-- t_first (CLOCK_MONOTONIC, the clock of Python's time.monotonic) lets bench.py take
-- the CPU figures over the interval in which every thread is inside its window.
--
-- Answers are counted by HTTP status and, for 200, by the "status" word of the JSON
-- body (accepted, duplicate, spooled, ping). done() prints one line
-- "BENCHJSON {...}" with the counts, wrk's latency percentiles, and per-thread data.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function clock(id)
   ffi.C.clock_gettime(id, ts)
   return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end
local MONOTONIC, THREAD_CPU = 1, 3

-- main state ------------------------------------------------------------------

local threads = {}
local counter = 0

function setup(thread)
   thread:set("tid", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

-- thread state ----------------------------------------------------------------

-- (globals where done() reads them through thread:get)
local reqs, n, idx = {}, 0, 0
local deadline, verifying = nil, false
local hold = "POST /hold HTTP/1.1\r\nHost: 127.0.0.1\r\n"  -- never completed
window, sent, repeats, answers, held, t_first = 10, 0, 0, 0, 0, 0
codes, words = {}, {}
load_wall, load_cpu, loaded = 0, 0, 0

function init(args)
   local prefix, nthreads = args[1], tonumber(args[2] or "1")
   window = tonumber(args[3] or "10")
   assert(prefix, "requests.lua: give the request file prefix after --")
   assert(tid < nthreads, "requests.lua: more wrk threads than request files")
   local w0, c0 = clock(MONOTONIC), clock(THREAD_CPU)
   local f = assert(io.open(prefix .. "." .. tid, "rb"))
   while true do
      local len = f:read("*l")
      if not len then break end
      n = n + 1
      reqs[n] = f:read(tonumber(len))
   end
   f:close()
   assert(n > 0, "requests.lua: no requests in " .. prefix .. "." .. tid)
   loaded = n
   -- wrk calls request() once on thread 0 right after init, in the main thread, to
   -- check the request parses; that call must not start the window or count.
   verifying = (tid == 0)
   load_wall, load_cpu = clock(MONOTONIC) - w0, clock(THREAD_CPU) - c0
end

function request()
   if verifying then
      verifying = false
      return reqs[1]
   end
   local now = clock(MONOTONIC)
   if not deadline then
      t_first = now
      deadline = now + window
   elseif now >= deadline then
      held = held + 1
      return hold
   end
   idx = idx + 1
   if idx > n then
      idx = 1
   end
   sent = sent + 1
   if sent > n then
      repeats = repeats + 1
   end
   return reqs[idx]
end

function response(status, headers, body)
   answers = answers + 1
   codes[status] = (codes[status] or 0) + 1
   if status == 200 then
      local w = string.match(body, '"status"%s*:%s*"(%a+)"') or "other"
      words[w] = (words[w] or 0) + 1
   end
end

-- done: in the main state, after every thread stopped ----------------------------

local function json(v)
   local t = type(v)
   if t == "table" then
      local parts, is_array = {}, #v > 0
      if is_array then
         for _, x in ipairs(v) do parts[#parts + 1] = json(x) end
         return "[" .. table.concat(parts, ",") .. "]"
      end
      for k, x in pairs(v) do
         parts[#parts + 1] = string.format("%q", tostring(k)) .. ":" .. json(x)
      end
      return "{" .. table.concat(parts, ",") .. "}"
   elseif t == "number" then
      return string.format("%.17g", v)
   elseif t == "nil" then
      return "null"
   elseif t == "boolean" then
      return tostring(v)
   end
   return string.format("%q", v)
end

function done(summary, latency, requests)
   local out = {
      wrk_duration_us = summary.duration,
      wrk_requests = summary.requests,
      wrk_bytes = summary.bytes,
      errors = summary.errors,
      latency_us = {
         min = latency.min, max = latency.max, mean = latency.mean, stdev = latency.stdev,
         p50 = latency:percentile(50), p90 = latency:percentile(90),
         p99 = latency:percentile(99), p999 = latency:percentile(99.9),
      },
      threads = {},
   }
   for _, t in ipairs(threads) do
      local th = {
         tid = t:get("tid"), window = t:get("window"), answers = t:get("answers"),
         sent = t:get("sent"), repeats = t:get("repeats"), held = t:get("held"),
         loaded = t:get("loaded"), load_wall = t:get("load_wall"), load_cpu = t:get("load_cpu"),
         t_first = t:get("t_first"),
         codes = {}, words = {},
      }
      for k, v in pairs(t:get("codes") or {}) do th.codes[tostring(k)] = v end
      for k, v in pairs(t:get("words") or {}) do th.words[k] = v end
      table.insert(out.threads, th)
   end
   io.write("BENCHJSON " .. json(out) .. "\n")
end
