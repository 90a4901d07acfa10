# syntax=docker/dockerfile:1
# authsvc image: `docker build -t authsvc .` (or `docker compose build`).
# CI has no Docker engine: scripts/container_smoke.sh follows these same steps on the host.

# ---------------------------------------------------------------- build stage
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
# Compilers only here, in case a dependency has no wheel for the platform; never in the final image.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The same install script as CI and developers: exact versions and hashes from
# requirements/runtime.txt (scripts/lock.sh), without the `embedded` and `test` extras.
RUN VENV=/opt/venv EXTRAS= PYTHON=python3 bash scripts/install.sh \
    && /opt/venv/bin/authsvc --version \
    && ! /opt/venv/bin/python -c 'import fakeredis' 2>/dev/null

# ---------------------------------------------------------------- final stage
FROM python:3.11-slim
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
# OCI image annotations (github.com/opencontainers/image-spec, annotations.md).
LABEL org.opencontainers.image.title="authsvc" \
      org.opencontainers.image.description="An async, standalone identity provider: users, passwords, MFA and the token life cycle." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.documentation="docs/operations.md" \
      org.opencontainers.image.base.name="docker.io/library/python:3.11-slim"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    AUTHSVC_ENV=production
RUN groupadd --system --gid 10001 authsvc \
    && useradd --system --uid 10001 --gid authsvc --home-dir /var/lib/authsvc --create-home \
       --shell /usr/sbin/nologin authsvc
COPY --from=build /opt/venv /opt/venv
COPY --chmod=0755 scripts/entrypoint.sh /usr/local/bin/authsvc-entrypoint
WORKDIR /var/lib/authsvc
USER authsvc
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=3)"]
# The entrypoint runs `authsvc migrate` first when AUTHSVC_MIGRATE_ON_START=1, then execs the command.
# uvicorn drains on SIGTERM for DRAIN_SECONDS (20 s): give `docker stop -t` / compose more.
STOPSIGNAL SIGTERM
ENTRYPOINT ["authsvc-entrypoint"]
CMD ["authsvc", "serve", "--host", "0.0.0.0", "--port", "8000"]
