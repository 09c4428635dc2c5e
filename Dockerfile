# syntax=docker/dockerfile:1
# Multi-stage: install the locked dependencies (uv.lock) into /venv, then the app, and copy that venv
# into a slim non-root runtime image. No development extra: the image has no embedded Redis.
#
# The base image is pinned by digest (the python:3.11.10-slim-bookworm multi-platform index on Docker
# Hub). To move to a newer patch release: `docker buildx imagetools inspect python:3.11-slim-bookworm`
# and put the tag and digest it prints in both FROM lines.
FROM python:3.11.10-slim-bookworm@sha256:5148c0e4bbb64271bca1d3322360ebf4bfb7564507ae32dd639322e4952a6b16 AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
    UV_PROJECT_ENVIRONMENT=/venv UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install "uv==0.13.9"
WORKDIR /src
# Dependencies in their own layer: a change to the code reuses it; only uv.lock or pyproject.toml
# changes reinstall them. --frozen installs exactly the lock (hashes checked), never re-resolves.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-install-project --extra otel
COPY README.md ./
COPY otp_service ./otp_service
COPY providers ./providers
RUN uv sync --frozen --no-editable --extra otel

FROM python:3.11.10-slim-bookworm@sha256:5148c0e4bbb64271bca1d3322360ebf4bfb7564507ae32dd639322e4952a6b16
ENV PATH=/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 OTP_ENV=production
RUN useradd --system --no-log-init --uid 10001 --no-create-home --shell /usr/sbin/nologin otp
COPY --from=build /venv /venv
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health/ready', timeout=2).status == 200 else 1)"]
# SIGTERM starts a graceful stop: no new connections, requests in flight get up to 20 s, then Redis and
# the vendor client close. Docker waits only 10 s before SIGKILL: stop with `docker stop -t 30`
# (compose.yaml sets stop_grace_period: 30s; Kubernetes: terminationGracePeriodSeconds 40).
STOPSIGNAL SIGTERM
# One worker per core; set OTP_WORKERS to match the container's CPU limit.
ENV OTP_WORKERS=2
CMD ["sh", "-c", "exec otp-service serve --host 0.0.0.0 --port 8000 --workers ${OTP_WORKERS}"]
