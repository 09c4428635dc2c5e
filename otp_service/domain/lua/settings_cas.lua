-- settings_cas: compare-and-set of the live settings document on the SHA-1 of its stored bytes,
-- writing the audit entries that describe the change in the same step (the log keeps the newest 1000).
-- Comparing bytes rather than a version read from the JSON lets an admin replace a document that is
-- not JSON at all, or a key of another type, without a window for a concurrent write to be lost.
-- KEYS: live, audit
-- ARGV: expected ('' when there is no document, 'wrongtype' for a key that is not a string,
--       else the SHA-1 hex of the stored document), new_document, audit_entry, audit_entry, ...
-- Returns: 1 when written, 0 when the stored document was not the expected one
local cur = redis.pcall('GET', KEYS[1])
local digest = ''
if type(cur) == 'table' and cur.err then
  digest = 'wrongtype'
elseif cur then
  digest = redis.sha1hex(cur)
end
if digest ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
for i = 3, #ARGV do redis.call('LPUSH', KEYS[2], ARGV[i]) end
redis.call('LTRIM', KEYS[2], 0, 999)
return 1
