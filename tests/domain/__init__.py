"""Domain-layer tests: codes, policy, messages, phone numbers, Redis store and circuit breaker."""
