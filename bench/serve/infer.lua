-- wrk script: POST the request bodies listed in the file named by KILN_BODIES (one JSON body per line),
-- round-robin, to the path in KILN_PATH. Used by bench/serve/run.py.
local bodies = {}
local path = os.getenv("KILN_PATH")
for line in io.lines(os.getenv("KILN_BODIES")) do
  bodies[#bodies + 1] = line
end
local n = 0

request = function()
  n = n % #bodies + 1
  return wrk.format("POST", path, {["Content-Type"] = "application/json"}, bodies[n])
end

-- One parseable line at the end: requests, errors and latency percentiles (microseconds).
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("KILN_WRK requests=%d seconds=%.3f connect=%d read=%d write=%d timeout=%d status=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration / 1e6, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
