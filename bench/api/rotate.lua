-- wrk script of bench/api: each connection sends GET requests rotating over the paths given
-- after "--" on wrk's command line (one path: every request to it), and done() prints one JSON
-- line with the latency percentiles (microseconds) and the error counts. An argument
-- "think=MS" makes each connection wait MS milliseconds after an answer before its next request
-- (a person reading the page); without it, the next request goes at once (closed loop).
--
--   wrk -t2 -c100 -d20s --timeout 10s -s bench/api/rotate.lua http://127.0.0.1:8000 -- \
--       /api/v1/health /api/v1/rankings/dvc-766?kind=commune

local paths = {}
local counter = 0
local non2xx = 0
local threads = {}
local think = 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  for i = 1, #args do
    local ms = string.match(args[i], "^think=(%d+)$")
    if ms then
      think = tonumber(ms)
    else
      paths[#paths + 1] = args[i]
    end
  end
  if #paths == 0 then
    paths[1] = "/"
  end
  -- threads start at different places in the rotation
  counter = (id or 0) % #paths
end

function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter - 1) % #paths + 1])
end

function delay()
  return think
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do
    bad = bad + (t:get("non2xx") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"p50":%d,"p90":%d,"p95":%d,"p99":%d,' ..
    '"max":%d,"mean":%.1f,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"non2xx":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout, bad))
end
