-- event_fanout: turn one stream entry into a delivery per subscribed endpoint, acknowledged in the
-- same step (so a crash either leaves the entry pending, to be claimed, or fanned out: never both).
-- Each delivery joins the queue of its (endpoint, subject), a sorted set ordered by the entry's id,
-- and the queue is made due when it was not scheduled already.
-- KEYS: stream, endpoints (hash id -> JSON), the app's endpoint set, due (zset)
-- ARGV: group, entry id, app, type, subject, data, key prefix of the queues
-- Returns: how many deliveries were queued, -1 when the entry was fanned out already
-- uses: now
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return -1 end
redis.call('XDEL', KEYS[1], ARGV[2])
local ids
if ARGV[3] == '*' then ids = redis.call('HKEYS', KEYS[2]) else ids = redis.call('SMEMBERS', KEYS[3]) end
local ms, seq = string.match(ARGV[2], '^(%d+)-(%d+)$')
local order = string.rep('0', 15 - #ms) .. ms .. '-' .. string.rep('0', 10 - #seq) .. seq
local member = order .. '|' .. cjson.encode({
  id = 'msg_' .. ARGV[2], app = ARGV[3], type = ARGV[4], subject = ARGV[5], data = ARGV[6], ms = ms
})
local queued = 0
for _, id in ipairs(ids) do
  local raw = redis.call('HGET', KEYS[2], id)
  if raw then
    local endpoint = cjson.decode(raw)
    local wanted = false
    for _, t in ipairs(endpoint.types) do
      if t == ARGV[4] then wanted = true end
    end
    if endpoint.enabled and wanted then
      local suffix = id .. ':' .. ARGV[5]
      redis.call('ZADD', ARGV[7] .. 'q:' .. suffix, 0, member)
      redis.call('ZADD', KEYS[4], 'NX', now, suffix)
      queued = queued + 1
    end
  end
end
return queued
