"""Prometheus metrics. Labels are bounded enums and provider names: never a number, id or code.

With several worker processes set ``PROMETHEUS_MULTIPROC_DIR`` (``otp-service serve`` does) so
``/metrics`` aggregates every worker; prometheus-client handles the files.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = (
    "APPROVALS_BY_COUNTRY",
    "BREAKER_STATE",
    "BUDGET_SPENT",
    "CHECKS",
    "EVENTS_BACKLOG",
    "EVENTS_DEAD_LETTERS",
    "EVENTS_DELIVERED",
    "EVENTS_FAILURES",
    "EVENTS_PUBLISHED",
    "EVENTS_RECEIVER_SECONDS",
    "NUMBERS_REFUSED",
    "PREFIXES_HELD",
    "PREFIX_HOLDS",
    "PREFIX_RELEASES",
    "PROVIDER_ERRORS",
    "PROVIDER_LATENCY",
    "RATE_LIMITED",
    "RECEIPTS",
    "REDIS_ERRORS",
    "SENDS",
    "SENDS_BY_COUNTRY",
    "SETTINGS_DOCUMENT_VALID",
)

SENDS = Counter("otp_sends_total", "Send attempts by provider and outcome.", ["provider", "outcome"])
CHECKS = Counter("otp_checks_total", "Code checks by outcome.", ["outcome"])
PROVIDER_LATENCY = Histogram(
    "otp_provider_latency_seconds",
    "Time spent in one provider call.",
    ["provider", "operation"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
PROVIDER_ERRORS = Counter("otp_provider_errors_total", "Provider call failures by kind.", ["provider", "kind"])
BREAKER_STATE = Gauge(
    "otp_circuit_breaker_state",
    "Circuit breaker per provider: 0 closed, 1 half-open, 2 open.",
    ["provider"],
    multiprocess_mode="max",
)
RATE_LIMITED = Counter("otp_rate_limited_total", "Requests refused by a limit.", ["limit"])
REDIS_ERRORS = Counter("otp_redis_errors_total", "Redis calls that failed (store unavailable).")
SETTINGS_DOCUMENT_VALID = Gauge(
    "otp_settings_document_valid",
    "1 when the live settings document in Redis was readable at the last read, 0 when this replica "
    "serves its last good settings instead (replace the document: PUT /v1/admin/settings or "
    "`otp-service settings reset`).",
    multiprocess_mode="livemin",
)
RECEIPTS = Counter("otp_delivery_receipts_total", "Delivery receipts by provider and status.", ["provider", "status"])

# Fraud guard (``domain/fraud.py``): ``country`` is an ISO 3166-1 code of phonenumbers' regions or "other"
# (bounded); ``budget`` is a setting's path without the country.
SENDS_BY_COUNTRY = Counter("otp_sms_sends_by_country_total", "SMS sends let through by the fraud guard.", ["country"])
APPROVALS_BY_COUNTRY = Counter(
    "otp_approvals_by_country_total", "Codes approved, by the number's country.", ["country"]
)
NUMBERS_REFUSED = Counter(
    "otp_numbers_refused_total", "Sends refused for the number's type or prefix.", ["country", "reason"]
)
BUDGET_SPENT = Counter(
    "otp_budget_spent_total",
    "Sends refused because a budget is used up (alert on any increase).",
    ["budget", "country"],
)
PREFIX_HOLDS = Counter(
    "otp_conversion_guard_holds_total",
    "Number prefixes held by the conversion guard (alert on any increase).",
    ["country"],
)
PREFIX_RELEASES = Counter("otp_conversion_guard_releases_total", "Held prefixes released by an admin.", ["country"])
PREFIXES_HELD = Gauge(
    "otp_conversion_guard_held_prefixes",
    "Number prefixes held right now, as last read from Redis by this replica (every send refused by a hold "
    "and every admin read refreshes it).",
    multiprocess_mode="max",
)

# Outbound events (otp_service/domain/event_*.py): labels are outcomes and failure classes only.
EVENTS_PUBLISHED = Counter("otp_events_published_total", "Events published, or lost (Redis unavailable).", ["outcome"])
EVENTS_DELIVERED = Counter("otp_events_delivered_total", "Event deliveries a receiver accepted (2xx).")
EVENTS_FAILURES = Counter(
    "otp_events_failures_total",
    "Event deliveries that failed, by class: timeout, connect, network, status_3xx, status_4xx, status_5xx.",
    ["reason"],
)
EVENTS_DEAD_LETTERS = Counter("otp_events_dead_letters_total", "Deliveries moved to a dead-letter list.")
EVENTS_RECEIVER_SECONDS = Histogram(
    "otp_events_receiver_seconds",
    "Time a receiver took to answer an event delivery (or to fail it).",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
EVENTS_BACKLOG = Gauge(
    "otp_events_backlog",
    "Outbound events waiting: stream entries not yet fanned out (part=stream), queues with a delivery "
    "waiting (part=queues), as last seen by a worker.",
    ["part"],
    multiprocess_mode="max",
)
