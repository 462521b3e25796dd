-- `make soak`'s traffic for wrk: a weighted mix of telemetry batches, analytics and executions
-- reads, and workflow runs (whose LLM step calls the stand-in provider). examples/soak.rs sets
-- the environment: SOAK_TOKEN (a member access token), SOAK_WORKFLOW (a workflow id) and
-- SOAK_EXECUTION (an execution id to read). Every status is counted per thread; done() prints
-- the totals as `SOAK status <code> <count>` lines for the driver.

local token = os.getenv("SOAK_TOKEN")
local workflow = os.getenv("SOAK_WORKFLOW")
local execution = os.getenv("SOAK_EXECUTION")

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local components = { "checkout", "search", "feed", "editor", "settings" }
local actions = { "view", "click", "submit" }

-- A 20-event batch without ids (the server gives each a UUIDv7, so none is a duplicate).
local function batch()
  local events = {}
  for i = 1, 20 do
    events[i] = string.format(
      '{"component":"%s","action":"%s","user_id":"u%d","session_id":"s%d","properties":{"i":%d}}',
      components[math.random(#components)], actions[math.random(#actions)],
      math.random(500), math.random(2000), i)
  end
  return '{"events":[' .. table.concat(events, ",") .. ']}'
end

-- Cumulative weights out of 100.
local mix = {
  { 40, function() return wrk.format("POST", "/api/telemetry/batch", nil, batch()) end },
  { 55, function() return wrk.format("GET", "/api/analytics/summary?range=24h") end },
  { 65, function() return wrk.format("GET", "/api/analytics/trends?metric=actions&range=24h&interval=hour") end },
  { 82, function() return wrk.format("GET", "/api/executions") end },
  { 97, function() return wrk.format("GET", "/api/executions/" .. execution) end },
  { 100, function()
      local body = string.format('{"input":{"n":%d}}', math.random(1000000))
      return wrk.format("POST", "/api/workflows/" .. workflow .. "/execute", nil, body)
    end },
}

function init(args)
  math.randomseed(os.time() + math.random(1000000))
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.headers["Content-Type"] = "application/json"
  statuses = {}
end

function request()
  local roll = math.random(100)
  for _, entry in ipairs(mix) do
    if roll <= entry[1] then
      return entry[2]()
    end
  end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      totals[status] = (totals[status] or 0) + count
    end
  end
  for status, count in pairs(totals) do
    io.write(string.format("SOAK status %d %d\n", status, count))
  end
  local e = summary.errors
  io.write(string.format("SOAK socket_errors connect=%d read=%d write=%d timeout=%d\n",
    e.connect, e.read, e.write, e.timeout))
  io.write(string.format("SOAK requests %d duration_us %d\n", summary.requests, summary.duration))
  for _, p in ipairs({ 50, 90, 99, 99.9 }) do
    io.write(string.format("SOAK latency p%s %.2f ms\n", p, latency:percentile(p) / 1000))
  end
  io.write(string.format("SOAK latency max %.2f ms\n", latency.max / 1000))
end
