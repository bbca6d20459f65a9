-- wrk script of bench/faults.sh: POSTs the file named by $BODY (binary-safe)
-- as $CTYPE (default application/json), counts the answers by status in
-- every thread and prints, at the end, one line of totals (wrk's socket
-- errors by kind) and one of statuses:
--   RESULT requests=N seconds=S rps=R p50_ms= p99_ms= max_ms= connect=C read=R write=W timeout=T
--          status_errors=E
--   STATUS 200=N 503=M ...
-- (wrk gives each thread its own Lua state: each counts in its own table,
-- done() sums them through thread:get, as wrk's examples/setup.lua does)
wrk.method = "POST"
wrk.headers["Content-Type"] = os.getenv("CTYPE") or "application/json"
local f = assert(io.open(os.getenv("BODY"), "rb"))
wrk.body = f:read("*a")
f:close()

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

-- this thread's answers by status (thread:get copies the table)
counts = {}
-- $STOP_AFTER: this thread stops after that many answers and appends a
-- line to $STOP_FILE (a fixed number of requests instead of a duration:
-- wrk itself runs its whole -d, so faults_clients.py sends it SIGINT, which
-- ends it with its summary, once every thread wrote its line)
local stop_after = tonumber(os.getenv("STOP_AFTER") or "") or 0
local stop_file = os.getenv("STOP_FILE")
local answered = 0

function response(status, headers, body)
   counts[status] = (counts[status] or 0) + 1
   answered = answered + 1
   if stop_after > 0 and answered == stop_after then
      if stop_file then
         local f = io.open(stop_file, "a")
         f:write("stopped\n")
         f:close()
      end
      wrk.thread:stop()
   end
end

function done(summary, latency, requests)
   local total = {}
   for _, thread in ipairs(threads) do
      local c = thread:get("counts")
      for s, n in pairs(c or {}) do
         total[s] = (total[s] or 0) + n
      end
   end
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f "
      .. "max_ms=%.3f "
      .. "connect=%d read=%d write=%d timeout=%d status_errors=%d\n",
      summary.requests, summary.duration / 1e6,
      summary.requests / (summary.duration / 1e6),
      latency:percentile(50) / 1000, latency:percentile(99) / 1000,
      latency.max / 1000, e.connect, e.read, e.write, e.timeout, e.status))
   local keys = {}
   for s in pairs(total) do keys[#keys + 1] = s end
   table.sort(keys)
   local parts = {}
   for _, s in ipairs(keys) do parts[#parts + 1] = s .. "=" .. total[s] end
   io.write("STATUS " .. table.concat(parts, " ") .. "\n")
end
