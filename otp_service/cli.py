"""``otp-service``: run the service for development or production, or write the OpenAPI document."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from .config.strength import new_secret

if TYPE_CHECKING:
    from .settings import Settings

__all__ = ("main",)


# Every uvicorn run gets these. The app reads X-Forwarded-For itself, for OTP_TRUSTED_PROXY_HOPS hops
# only; uvicorn's proxy_headers (on by default, trusting 127.0.0.1) would let any local caller pick
# its per-IP identity. httptools has no header limit: our protocol caps the request head (431), and
# the h11 setting does the same should h11 be chosen; the app refuses headers over 16 KiB itself.
_UVICORN: dict[str, Any] = {
    "access_log": False,
    "log_level": "warning",
    "proxy_headers": False,
    "forwarded_allow_ips": "",
    "h11_max_incomplete_event_size": 32 * 1024,
}


def _fail(*messages: str) -> NoReturn:
    for message in messages:
        click.echo(f"otp-service: configuration error: {message}", err=True)
    sys.exit(2)


def _settings(*, force_dev: bool = False) -> Settings:
    """The validated settings, or every problem printed (one per line) and exit code 2."""
    from .settings import ConfigErrors, SettingsError, load_settings

    try:
        return load_settings(os.environ, force_dev=force_dev)
    except ConfigErrors as exc:
        _fail(*exc.errors)
    except SettingsError as exc:
        _fail(str(exc))


def _serve_metrics(host: str, port: int | None) -> None:
    if port is None:
        return
    from .metrics_export import serve_metrics

    try:
        serve_metrics(host, port)
    except OSError as exc:
        _fail(f"OTP_METRICS_PORT: cannot listen on {host}:{port} ({exc.strerror or exc})")


def _dev_secrets(data_dir: Path) -> dict[str, str]:
    """Generated once per data directory and reused, so the dev API key survives restarts."""
    path = data_dir / "dev-secrets.json"
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    values = {
        "OTP_API_KEYS": f"dev:{new_secret()}",
        "OTP_PEPPER": new_secret(),
        "OTP_ADMIN_TOKEN": new_secret(),
        "OTP_WEBHOOK_SECRET": new_secret(),
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return values


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="otp-service")
def main() -> None:
    """One-time-code verification service (send and check SMS codes)."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--data-dir", default=".otp-dev", show_default=True, type=click.Path(file_okay=False, path_type=Path))
def dev(host: str, port: int, data_dir: Path) -> None:
    """Run for development: embedded Redis, console provider, generated secrets (nothing to configure)."""
    import uvicorn

    from .devredis import RedisProcess
    from .http_protocol import CappedHttpToolsProtocol

    os.environ["OTP_ENV"] = "dev"
    given = {k for k in os.environ if os.environ[k]}
    generated = {k: v for k, v in _dev_secrets(data_dir).items() if k not in given and f"{k}_FILE" not in given}
    os.environ.update(generated)
    redis = None
    if not os.environ.get("OTP_REDIS_URL"):
        try:
            redis = RedisProcess(data_dir=data_dir / "redis", persist=True).start()
        except (FileNotFoundError, RuntimeError) as exc:
            _fail(str(exc))
        assert redis is not None
        os.environ["OTP_REDIS_URL"] = redis.url
    # After a graceful shutdown uvicorn re-raises the signal it caught under the handler it found:
    # SIGTERM's default handler would kill the process there and skip the `finally` that stops the
    # embedded Redis. This handler turns it into a normal exit, so the `finally` runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        settings = _settings(force_dev=True)
        _serve_metrics(host, settings.metrics_port)
        from .app import create_app

        app = create_app(settings)
        click.echo("otp-service (development mode)", err=True)
        click.echo(f"  listening on   http://{host}:{port}  (OpenAPI: /schema/openapi.json)", err=True)
        where = f"embedded, data in {data_dir / 'redis'}" if redis else "OTP_REDIS_URL"
        click.echo(f"  redis          {where}", err=True)
        click.echo(f"  providers      {', '.join(settings.providers)}", err=True)
        if "OTP_API_KEYS" in generated:
            click.echo(f"  API key        {generated['OTP_API_KEYS'].split(':', 1)[1]}   (client 'dev')", err=True)
        if "OTP_ADMIN_TOKEN" in generated:
            click.echo(f"  admin token    {generated['OTP_ADMIN_TOKEN']}", err=True)
        if settings.admins:
            click.echo(f"  admin console  http://{host}:{port}/admin  (sign in with an admin token)", err=True)
        click.echo(f"  (generated secrets are kept in {data_dir / 'dev-secrets.json'})", err=True)
        uvicorn.run(app, host=host, port=port, http=CappedHttpToolsProtocol, timeout_graceful_shutdown=10, **_UVICORN)
    finally:
        if redis is not None:
            redis.stop()


@main.command()
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    envvar="OTP_WORKERS",
    type=click.IntRange(1, 64),
    help="Processes (1 per core); default from OTP_WORKERS.",
)
def serve(host: str, port: int, workers: int) -> None:
    """Run in production: every setting from the environment, validated before start."""
    settings = _settings()
    if settings.is_dev:  # the console provider would print codes into the log, and test numbers work
        _fail("OTP_ENV: `serve` runs production only; use `otp-service dev` for development")
    import uvicorn

    from .http_protocol import CappedHttpToolsProtocol
    from .metrics_export import multiprocess_dir

    if settings.metrics_port == port:
        _fail(f"OTP_METRICS_PORT: {port} is the public port (--port); pick another one for the metrics")
    os.environ["OTP_WORKERS"] = str(workers)  # the workers report it in their start-up line
    # One /metrics for all workers: prometheus-client aggregates through files in this folder.
    with multiprocess_dir(workers):
        _serve_metrics(host, settings.metrics_port)
        # uvicorn re-raises a SIGTERM it handled under the handler it found; the default one would end
        # the process before the folder above is removed. This one exits normally instead.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        if workers == 1:
            uvicorn.run(
                "otp_service.app:create_app",
                factory=True,
                host=host,
                port=port,
                http=CappedHttpToolsProtocol,
                timeout_graceful_shutdown=20,
                **_UVICORN,
            )
            return
        _serve_workers(host, port, workers)


def _serve_workers(host: str, port: int, workers: int) -> None:
    """uvicorn's supervisor with a socket per worker (``workers.py``: connections spread evenly)."""
    import uvicorn

    from .http_protocol import CappedHttpToolsProtocol
    from .workers import Supervisor, listening_sockets

    config = uvicorn.Config(
        "otp_service.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=CappedHttpToolsProtocol,
        timeout_graceful_shutdown=20,
        **_UVICORN,
    )
    try:
        sockets = listening_sockets(host, port, workers)
    except OSError as exc:
        _fail(f"--port: cannot listen on {host}:{port} ({exc.strerror or exc})")
    try:
        Supervisor(config, sockets).run()
    except KeyboardInterrupt:
        pass
    finally:
        for sock in sockets:
            sock.close()


@main.command()
@click.option("--output", default="openapi/openapi.json", show_default=True, type=click.Path(path_type=Path))
def openapi(output: Path) -> None:
    """Write the OpenAPI document the code generates (committed as openapi/openapi.json)."""
    from .openapi_doc import openapi_document

    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(openapi_document())
    click.echo(f"wrote {output}", err=True)


@main.command()
def secret() -> None:
    """Print a new random secret (32 bytes, URL-safe): for OTP_PEPPER, OTP_ADMIN_TOKEN, API keys."""
    click.echo(new_secret())


@main.command("check-config")
def check_config() -> None:
    """Run every check `serve` runs, print every problem found (exit 2), or "ok" (exit 0)."""
    settings = _settings()
    for warning in settings.warnings:
        click.echo(f"otp-service: warning: {warning}", err=True)
    line = f"ok: env={settings.env} providers={','.join(settings.providers)} redis={settings.redis_kind}"
    click.echo(line + (f" settings={settings.settings_file}" if settings.settings_file else ""))


@main.group("settings")
def settings_group() -> None:
    """The live settings document in Redis."""


@settings_group.command("reset")
def settings_reset() -> None:
    """Rewrite the live settings document from the baseline (OTP_SETTINGS_FILE), audited.

    The repair for a document no replica can read (admin writes answer 503 settings_unreadable):
    every admin change is dropped, the baseline is in force again on every replica within a second.
    """
    import asyncio

    from .logging import configure_logging
    from .settings_reset import reset

    settings = _settings()
    configure_logging(fmt=settings.log_format, level=settings.log_level, secrets=settings.secret_values())
    if settings.redis_url is None:
        _fail("OTP_REDIS_URL: `settings reset` needs the Redis the service uses")
    try:
        version = asyncio.run(reset(settings))
    except ValueError as exc:
        _fail(str(exc))
    source = settings.settings_file or "the built-in defaults (no OTP_SETTINGS_FILE)"
    click.echo(f"settings document rewritten from the baseline, {source}: version {version}")
