-- budget_refund: give back what budget_charge or fraud_admit took with this token, whenever it runs: a
-- charge with this token arriving after it then takes nothing. A window that has ended is not given
-- anything. The counter keys come from the token's own record and share its hash tag (one slot).
-- KEYS: token marker
-- ARGV: token_ttl_ms
-- Returns: 1 when something was given back, else 0
-- uses: budget
return budget_give_back(KEYS[1], ARGV[1])
