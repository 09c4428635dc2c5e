-- settings_cas: compare-and-set of the live settings document on its version, writing the audit
-- entries that describe the change in the same step (the log keeps the newest 1000).
-- KEYS: live, audit
-- ARGV: expected_version, new_document, audit_entry, audit_entry, ...
-- Returns: 1 when written, 0 when the stored version was not the expected one
local cur = redis.call('GET', KEYS[1])
local version = 0
if cur then version = cjson.decode(cur)['version'] end
if tostring(version) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
for i = 3, #ARGV do redis.call('LPUSH', KEYS[2], ARGV[i]) end
redis.call('LTRIM', KEYS[2], 0, 999)
return 1
