-- receipt: apply a delivery receipt to a verification record.
-- KEYS: record
-- ARGV: status, provider, rank, message_id
-- Returns: 1 when applied, 0 when ignored (unknown record, stale rank or another message's receipt)
-- A receipt never moves delivery backwards (a late "sent" after "delivered") and a receipt for the
-- message of an earlier send (before a resend) does not overwrite the current message's state.
-- uses: now
local r = redis.call('HMGET', KEYS[1], 'id', 'delivery_rank', 'message_id', 'reference')
if not r[1] then return 0 end
if ARGV[4] ~= '' and r[3] and r[3] ~= '' and r[3] ~= ARGV[4] and r[4] ~= ARGV[4] then return 0 end
if tonumber(r[2] or '0') > tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], 'delivery_status', ARGV[1], 'delivery_provider', ARGV[2],
  'delivery_rank', ARGV[3], 'delivery_ms', now)
return 1
