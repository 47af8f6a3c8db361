-- bench/put.lua — wrk script: every request PUTs a new 4 KiB (SIZE) file under a name no other
-- request uses, so each one creates a file (no deduplication, no new versions).
--
-- Environment: TARGET  "satchel" (PUT /api/v1/files/content?parent_id=PARENT&name=…) or a path
--                      prefix for a plain WebDAV server such as nginx ("/dir/");
--              PARENT  the folder id (Satchel); TOKEN the access token (Satchel);
--              SIZE    bytes per file [4096]; TAG a word that makes this run's names unique.
-- Each thread sends its own names (thread number + counter); each body differs in its first
-- bytes, so no two files share content.

local target = os.getenv("TARGET") or "satchel"
local parent = os.getenv("PARENT") or "root"
local token = os.getenv("TOKEN") or ""
local size = tonumber(os.getenv("SIZE") or "4096")
local tag = os.getenv("TAG") or tostring(os.time())
local threads, counter = {}, 1

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  n = 0
  pad = string.rep("x", size - 40)
  headers = { ["Content-Type"] = "application/octet-stream" }
  if token ~= "" then headers["Authorization"] = "Bearer " .. token end
  failures = 0
end

function request()
  n = n + 1
  local name = string.format("%s-%d-%d", tag, tid, n)
  local body = string.format("%-40s", name):sub(1, 40) .. pad
  local path
  if target == "satchel" then
    path = "/api/v1/files/content?parent_id=" .. parent .. "&name=" .. name
  else
    path = target .. name
  end
  return wrk.format("PUT", path, headers, body)
end

function response(status, headers, body)
  if status ~= 201 and status ~= 200 and status ~= 204 then
    failures = failures + 1
    if failures <= 3 then io.stderr:write("status " .. status .. ": " .. body .. "\n") end
  end
end

function done(summary, latency, requests)
  local failed = 0
  for _, t in ipairs(threads) do failed = failed + (t:get("failures") or 0) end
  io.write(string.format("RATE %.1f\n", summary.requests / (summary.duration / 1e6)))
  io.write(string.format("FAILED %d\n", failed + summary.errors.status + summary.errors.connect
    + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
