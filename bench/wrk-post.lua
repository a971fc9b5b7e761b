-- wrk: POST one valid IDMEFv2 message per request (the same body each time).
-- MSG names the message file (default: the example badge-reader message).
local f = assert(io.open(os.getenv("MSG") or "examples/messages/badge-reader.json"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
