-- wrk script: POSTs the file named by $BODY (binary-safe) as $CTYPE (default
-- application/json); prints one parseable line.
wrk.method = "POST"
wrk.headers["Content-Type"] = os.getenv("CTYPE") or "application/json"
-- KServe v2's binary tensors: the JSON header's length
local hdrlen = os.getenv("HDRLEN")
if hdrlen and hdrlen ~= "" and hdrlen ~= "0" then
   wrk.headers["Inference-Header-Content-Length"] = hdrlen
end
local f = assert(io.open(os.getenv("BODY"), "rb"))
wrk.body = f:read("*a")
f:close()

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f errors=%d\n",
      summary.requests, summary.duration / 1e6,
      summary.requests / (summary.duration / 1e6),
      latency:percentile(50) / 1000, latency:percentile(99) / 1000,
      e.connect + e.read + e.write + e.status + e.timeout))
end
