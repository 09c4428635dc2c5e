# syntax=docker/dockerfile:1
# Multi-stage: build a virtualenv with the app, copy it into a slim non-root runtime image.
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /venv
COPY pyproject.toml README.md ./
COPY otp_service ./otp_service
COPY providers ./providers
RUN /venv/bin/pip install .

FROM python:3.11-slim
ENV PATH=/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 OTP_ENV=production
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin otp
COPY --from=build /venv /venv
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health/ready', timeout=2).status == 200 else 1)"]
# One worker per core; set OTP_WORKERS to match the container's CPU limit.
ENV OTP_WORKERS=2
CMD ["sh", "-c", "exec otp-service serve --host 0.0.0.0 --port 8000 --workers ${OTP_WORKERS}"]
