-- wrk script for bench/exchange.sh: each request exchanges the next agent's assertion;
-- with a proofs file, each also carries the next unused DPoP proof. Threads take
-- disjoint shares of the proofs, so no proof is ever sent twice.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local function lines(path)
  local out = {}
  local file = path and io.open(path, "r")
  if file then
    for line in file:lines() do
      if #line > 0 then table.insert(out, line) end
    end
    file:close()
  end
  return out
end

function init(args)
  assertions = lines(os.getenv("ASSERTIONS"))
  proofs = lines(os.getenv("PROOFS"))
  nthreads = 2
  next_assertion = id + 1
  next_proof = id + 1
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
  local assertion = assertions[next_assertion]
  next_assertion = next_assertion + nthreads
  if next_assertion > #assertions then next_assertion = id + 1 end
  local body = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" .. assertion
  local headers = nil
  if #proofs > 0 then
    -- wrk.format takes this table instead of wrk.headers, not as well as.
    headers = {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["DPoP"] = proofs[next_proof] or proofs[#proofs],
    }
    next_proof = next_proof + nthreads
  end
  return wrk.format(nil, nil, headers, body)
end
