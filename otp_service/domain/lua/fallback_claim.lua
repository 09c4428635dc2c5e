-- fallback_claim: take the one right to move a pending WhatsApp verification to SMS.
-- KEYS: record
-- ARGV: reason ('refused' is never claimed here: it is decided within the send), 'no_receipt' only
--       claims a code with no final receipt yet; 'undelivered' claims whatever is still pending
-- Returns: {'ok', to, client, locale, expires_ms, gen} | {'no'} (finished, expired, not WhatsApp,
--          already fallen back or being fallen back, or delivered)
-- uses: now
local r = redis.call('HMGET', KEYS[1], 'status', 'expires_ms', 'channel', 'fallback_state', 'delivery_status',
  'to', 'client', 'locale', 'gen')
if r[1] ~= 'pending' or tonumber(r[2] or '0') <= now or r[3] ~= 'whatsapp' then return {'no'} end
if r[4] and r[4] ~= '' then return {'no'} end
if r[5] == 'delivered' then return {'no'} end
if ARGV[1] == 'no_receipt' and (r[5] == 'undelivered' or r[5] == 'failed') then return {'no'} end
redis.call('HSET', KEYS[1], 'fallback_state', 'claimed', 'fallback_reason', ARGV[1])
return {'ok', r[6] or '', r[7] or '', r[8] or '', r[2], r[9] or '0'}
