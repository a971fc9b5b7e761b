-- wrk: POST one valid IDMEFv2 message per request, each with its own ID, so that
-- idmefv2 listen --out stores a new file for every request (no duplicates).
local f = assert(io.open(os.getenv("MSG") or "examples/messages/badge-reader.json"))
local body = f:read("*a")
f:close()
local head, tail = body:match('^(.-"ID"%s*:%s*")[^"]*(".*)$')
assert(head, "the message has no ID")
local threads = 0
local n = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_no", threads)
end

function request()
  n = n + 1
  local id = string.format("%08x-%04x-4000-8000-%012x", os.time() % 0x7fffffff, thread_no, n)
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, head .. id .. tail)
end
