#!/usr/bin/env bash
# Make sure what the test suite talks to is there: PostgreSQL on 127.0.0.1:5432, Redis on
# 127.0.0.1:6379, and the Debian packages some tests need (libzbar0 to decode QR codes, chromium
# for browser tests, nginx-light for the forward-auth recipe, nodejs and npm to fetch axe-core and
# for the openid-client relying party of tests/e2e). Starts a service that does not answer, waits for it (bounded) and exits
# non-zero, loudly, if it still cannot be reached.
#
#   scripts/services.sh [--install-system | --no-install-system]
#   Missing Debian packages are installed when running as root (a fresh machine, CI) or with
#   --install-system; otherwise they are only reported.
#   SERVICES_WAIT=seconds  how long to wait for each service (default 30)
#   SERVICES_PG_PORT, SERVICES_REDIS_PORT  other ports (default 5432, 6379; for testing this script)
set -euo pipefail

cd "$(dirname "$0")/.."

WAIT=${SERVICES_WAIT:-30}
PG_HOST=127.0.0.1
PG_PORT=${SERVICES_PG_PORT:-5432}
REDIS_HOST=127.0.0.1
REDIS_PORT=${SERVICES_REDIS_PORT:-6379}
SYSTEM_PACKAGES=(libzbar0 chromium nginx-light nodejs npm)

install_system=0
if [ "${CI:-}" = true ] || [ "$(id -u)" = 0 ]; then
    install_system=1
fi
for arg in "$@"; do
    case "$arg" in
        --install-system) install_system=1 ;;
        --no-install-system) install_system=0 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) printf '[services] unknown argument: %s\n' "$arg" >&2; exit 2 ;;
    esac
done

log() { printf '[services] %s\n' "$*"; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

# ------------------------------------------------------------------ Debian packages
package_missing() {
    local pkg=$1
    case "$pkg" in
        chromium) command -v chromium >/dev/null 2>&1 && return 1 ;;
        nginx-light) command -v nginx >/dev/null 2>&1 && return 1 ;;
        nodejs) command -v node >/dev/null 2>&1 && return 1 ;;
        npm) command -v npm >/dev/null 2>&1 && return 1 ;;
    esac
    ! dpkg -s "$pkg" >/dev/null 2>&1
}

missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
    if package_missing "$pkg"; then
        missing+=("$pkg")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    log "system packages present: ${SYSTEM_PACKAGES[*]}"
elif [ "$install_system" = 1 ]; then
    [ "$(id -u)" = 0 ] || die "installing ${missing[*]} needs root"
    log "installing missing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    log "+ apt-get update"
    apt-get update -qq || die "apt-get update failed"
    log "+ apt-get install -y ${missing[*]}"
    apt-get install -y -q "${missing[@]}" || die "apt-get install ${missing[*]} failed"
else
    log "WARNING: missing system packages: ${missing[*]} (tests that need them will fail or skip);"
    log "         run: sudo scripts/services.sh --install-system"
fi

# ------------------------------------------------------------------ helpers
for tool in pg_isready psql redis-cli; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found: install PostgreSQL and Redis clients"
done

pg_up() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2; }
redis_up() { [ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

wait_for() {  # wait_for NAME CHECK_FUNCTION
    local name=$1 check=$2 deadline=$((SECONDS + WAIT))
    while ! "$check"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            return 1
        fi
        sleep 1
    done
    log "$name is up"
}

# ------------------------------------------------------------------ PostgreSQL
if pg_up; then
    log "PostgreSQL answers on $PG_HOST:$PG_PORT"
else
    log "PostgreSQL does not answer on $PG_HOST:$PG_PORT: starting it"
    [ -d /etc/postgresql ] || die "no /etc/postgresql: PostgreSQL is not installed here"
    pg_version=$(find /etc/postgresql -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort -V | tail -n 1)
    [ -n "$pg_version" ] || die "no cluster under /etc/postgresql"
    log "+ pg_ctlcluster --skip-systemctl-redirect $pg_version main start"
    pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start \
        || log "pg_ctlcluster exited $? (it may already be starting); waiting for it anyway"
    if ! wait_for PostgreSQL pg_up; then
        tail -n 20 "/var/log/postgresql/postgresql-$pg_version-main.log" 2>/dev/null >&2 || true
        die "PostgreSQL is still not reachable on $PG_HOST:$PG_PORT after ${WAIT}s"
    fi
fi
if ! out=$(psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d test -v ON_ERROR_STOP=1 -tAc 'SELECT 1' 2>&1); then
    die "PostgreSQL answers but 'psql -U postgres -d test' fails: $out"
fi

# ------------------------------------------------------------------ Redis
if redis_up; then
    log "Redis answers on $REDIS_HOST:$REDIS_PORT"
else
    log "Redis does not answer on $REDIS_HOST:$REDIS_PORT: starting it"
    command -v redis-server >/dev/null 2>&1 || die "redis-server is not installed"
    mkdir -p /var/lib/redis /var/log/redis
    log "+ redis-server --daemonize yes --bind 127.0.0.1 -::1 --port $REDIS_PORT --save \"\" --appendonly no ..."
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" \
        --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log \
        || log "redis-server exited $?; waiting for it anyway"
    if ! wait_for Redis redis_up; then
        tail -n 20 /var/log/redis/ci.log 2>/dev/null >&2 || true
        die "Redis is still not reachable on $REDIS_HOST:$REDIS_PORT after ${WAIT}s"
    fi
fi

log "ready: PostgreSQL $PG_HOST:$PG_PORT, Redis $REDIS_HOST:$REDIS_PORT"
