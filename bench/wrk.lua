-- The one wrk script of bench/bench.py. Environment:
--   METHOD        GET or POST (default POST)
--   CONTENT_TYPE  the body's media type, if any
--   AUTHORIZATION an Authorization header every request carries
--   BODIES        a file of request bodies, one a line, cycled (threads take disjoint
--                 stripes, so c connections send distinct bodies)
--   BODY          one body for every request
--   DPOP          a file of DPoP proofs, one a line: each is sent once, never again
-- When the run ends it prints one line, `RESULT {json}`: requests, seconds, rate,
-- p50/p99 in ms, and the count of answers by status (socket errors as "socket").
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local function lines(path)
  local out = {}
  local file = path and #path > 0 and io.open(path, "r")
  if file then
    for line in file:lines() do
      if #line > 0 then table.insert(out, line) end
    end
    file:close()
  end
  return out
end

function init(args)
  nthreads = tonumber(os.getenv("THREADS") or "2")
  bodies = lines(os.getenv("BODIES"))
  proofs = lines(os.getenv("DPOP"))
  body = os.getenv("BODY")
  next_body = id + 1
  next_proof = id + 1
  statuses = {}
  headers = {}
  local content_type = os.getenv("CONTENT_TYPE")
  if content_type and #content_type > 0 then headers["Content-Type"] = content_type end
  local authorization = os.getenv("AUTHORIZATION")
  if authorization and #authorization > 0 then headers["Authorization"] = authorization end
  method = os.getenv("METHOD") or "POST"
end

function request()
  local this_body = body
  if #bodies > 0 then
    this_body = bodies[next_body]
    next_body = next_body + nthreads
    if next_body > #bodies then next_body = id + 1 end
  end
  if #proofs > 0 then
    -- A spent proof is never resent: when they run out, the last one is, and is
    -- refused, which the status counts show.
    headers["DPoP"] = proofs[next_proof] or proofs[#proofs]
    next_proof = next_proof + nthreads
  end
  return wrk.format(method, nil, headers, this_body)
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    local counted = thread:get("statuses")
    for status, count in pairs(counted) do
      merged[status] = (merged[status] or 0) + count
    end
  end
  local socket = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  if socket > 0 then merged["socket"] = socket end
  local parts = {}
  for status, count in pairs(merged) do
    table.insert(parts, string.format("%q:%d", status, count))
  end
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'RESULT {"requests":%d,"seconds":%.3f,"rate":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,"statuses":{%s}}\n',
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, table.concat(parts, ",")))
end
