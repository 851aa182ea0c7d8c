-- wrk script for benches/server-load: POSTs one JSON-RPC request to a streamable HTTP MCP
-- endpoint and counts answers that are not a successful result.
-- env: BENCH_BODY (the JSON-RPC request), BENCH_TOKEN (bearer token), BENCH_EXPECT (`result`,
--      or `error` when the request is meant to be refused as a tool error).
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2025-11-25"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_TOKEN") or "")
local expect_error = os.getenv("BENCH_EXPECT") == "error"

local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) unexpected = 0 end
function response(status, headers, body)
  local is_error = body:find('"isError":true', 1, true) ~= nil
  if status ~= 200 or not body:find('"result"', 1, true) or is_error ~= expect_error then
    unexpected = unexpected + 1
  end
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("unexpected") end
  io.write(string.format("RESULT %d %.0f %.2f %.2f %.2f %d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000, total))
end
