"""The ``OTP_*`` variables the service reads; any other ``OTP_*`` name is a typo, reported with a guess.

A misspelt variable used to be ignored silently (a pepper variable missing one letter left the
pepper unset, and the error was about the wrong thing). Provider variables are checked by their
own prefix in the registry.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from .secret_files import FILE_SUFFIX

__all__ = ("KNOWN_VARIABLES", "SECRET_VARIABLES", "unknown_variables")

SECRET_VARIABLES = ("OTP_API_KEYS", "OTP_PEPPER", "OTP_ADMIN_TOKEN", "OTP_WEBHOOK_SECRET", "OTP_ADMIN_TOKENS")

KNOWN_VARIABLES = frozenset(
    {
        *SECRET_VARIABLES,
        *(name + FILE_SUFFIX for name in SECRET_VARIABLES),
        "OTP_ENV",
        "OTP_REDIS_URL",
        "OTP_PROVIDERS",
        "OTP_WEBOTP_HOST",
        "OTP_TEST_NUMBERS",
        "OTP_TRUSTED_PROXY_HOPS",
        "OTP_REDIS_TIMEOUT_S",
        "OTP_ARGON2_TIME_COST",
        "OTP_ARGON2_MEMORY_KIB",
        "OTP_HASH_THREADS",
        "OTP_MAX_BODY_BYTES",
        "OTP_SETTINGS_CACHE_S",
        "OTP_RECEIPT_REFRESH_AFTER_S",
        "OTP_SETTINGS_FILE",  # the baseline of the live settings (otp_service.config.settings_file)
        "OTP_LOG_FORMAT",
        "OTP_LOG_LEVEL",
        "OTP_METRICS_PORT",
        "OTP_WORKERS",  # `serve --workers` default, and what the workers report at start-up
        "OTP_REDIS_SERVER",  # development: the redis-server binary to embed (otp_service.devredis)
        # Outbound events: this replica's delivery worker (on/off) and its schedule (event_worker.py).
        "OTP_EVENTS_WORKER",
        "OTP_EVENTS_TIMEOUT_S",
        "OTP_EVENTS_FIRST_RETRY_S",
        "OTP_EVENTS_MAX_RETRY_S",
        "OTP_EVENTS_RETRY_FOR_S",
        "OTP_EVENTS_CLAIM_AFTER_S",
        "OTP_EVENTS_POLL_S",
    }
)


def unknown_variables(environ: Mapping[str, str], known: Iterable[str] = KNOWN_VARIABLES) -> list[str]:
    """One error per ``OTP_*`` variable nobody reads, with the closest known name when one is close."""
    names = sorted(known)
    errors = []
    for name in sorted(environ):
        if not name.startswith("OTP_") or name in names:
            continue
        guess = difflib.get_close_matches(name, names, n=1)
        hint = f"did you mean {guess[0]}?" if guess else "see the Configuration section of the README"
        errors.append(f"{name}: unknown variable; {hint}")
    return errors
