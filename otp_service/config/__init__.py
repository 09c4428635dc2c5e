"""Reading and checking the environment, split by concern; :mod:`otp_service.settings` assembles it.

* :mod:`.problems`: errors are collected, so one run reports every bad variable at once.
* :mod:`.secret_files`: ``<VARIABLE>_FILE`` (the Docker and Kubernetes secrets convention).
* :mod:`.known`: the ``OTP_*`` names the service reads; anything else is a typo to report.
* :mod:`.settings_file`: ``OTP_SETTINGS_FILE``, the operator's baseline of the live settings.
* :mod:`.strength`: how long a secret must be, and ``otp-service secret``'s new one.
* :mod:`.values`: parsers for single values (numbers, API keys, the Redis URL, the log level...).
"""
