-- wrk script for bench/load_test.py: replays a file of requests, paced to a rate.
--
--   wrk -t2 -c64 -d65s --timeout 60s -s bench/load_mix.lua URL -- FILE RATE THREADS [SEND_S]
--
-- FILE holds one request per line, "METHOD<TAB>PATH<TAB>BODY" (BODY may be empty). Thread i of
-- THREADS (n) takes lines i, i+n, i+2n, ... so no two threads ask the same line (an uncached tile stays
-- asked once). RATE (req/s over all threads, 0 = as fast as the connections go) is kept by a
-- schedule per thread: request k of a thread is due at start + k/rate_of_thread; `delay` holds
-- a connection until its request is due. When every connection is busy a due request waits
-- for one; that wait is counted as lateness (`late_ms`), which wrk's latency (write to answer)
-- does not see, so a server that falls behind shows in the rate and the lateness, not hidden.
-- With SEND_S, requests are sent for SEND_S seconds only: the rest of wrk's duration lets the
-- last answers arrive (wrk drops what is in flight when it stops: nginx would log 499s).
-- `done` prints one JSON line that load_test.py reads.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } onemap_timespec;
int clock_gettime(int clk_id, onemap_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local clock = ffi.new("onemap_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

local threads = {}
local counter = 0

function setup(thread)
  thread:set("index", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local requests, position, interval_ms, next_due, stop_at = {}, 0, 0, nil, math.huge
local IDLE_MS = 3600 * 1000 -- past SEND_S a connection waits out wrk's end
late_over_1s, late_max = 0, 0 -- globals: done() reads them with thread:get
local JSON = { ["Content-Type"] = "application/json" }

function init(args)
  local file, rate, step = args[1], tonumber(args[2]), tonumber(args[3])
  if args[4] then
    stop_at = now_ms() + 1000 * tonumber(args[4])
  end
  local line_number = 0
  for line in io.lines(file) do
    if line_number % step == index then
      local method, path, body = line:match("^(%u+)\t([^\t]+)\t?(.*)$")
      if body == "" then
        table.insert(requests, wrk.format(method, path))
      else
        table.insert(requests, wrk.format(method, path, JSON, body))
      end
    end
    line_number = line_number + 1
  end
  if rate > 0 then
    interval_ms = 1000 * step / rate
  end
end

function delay()
  local now = now_ms()
  if now >= stop_at then
    return IDLE_MS
  end
  if interval_ms == 0 then
    return 0
  end
  next_due = (next_due or now) + interval_ms
  local due = next_due - interval_ms
  if due >= now then
    return due - now
  end
  local late = now - due
  if late > 1000 then
    late_over_1s = late_over_1s + 1
  end
  if late > late_max then
    late_max = late
  end
  return 0
end

function request()
  position = position % #requests + 1
  return requests[position]
end

function done(summary, latency, _)
  local late, worst = 0, 0
  for _, thread in ipairs(threads) do
    late = late + thread:get("late_over_1s")
    worst = math.max(worst, thread:get("late_max"))
  end
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "p50_ms": %.1f, "p99_ms": %.1f, "max_ms": %.1f, '
      .. '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, '
      .. '"late_over_1s": %d, "late_max_ms": %.1f}\n',
    summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout, late, worst
  ))
end
