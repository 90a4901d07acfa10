#!/usr/bin/env bash
# Container entrypoint (also run by scripts/container_smoke.sh, outside Docker).
#   AUTHSVC_MIGRATE_ON_START=1   run `authsvc migrate` before the command (default: off)
# Then it execs the command, so the server is PID 1's direct replacement and gets SIGTERM itself.
# With no command it serves on 0.0.0.0:8000; every `authsvc` subcommand or option given bare
# (`serve --workers 4`, `migrate`, `users list`, `--version`) is run as `authsvc ...`.
# In production the secrets are required: AUTHSVC_X or AUTHSVC_X_FILE (Docker secrets).
set -euo pipefail

if [ $# -eq 0 ]; then
    set -- authsvc serve --host 0.0.0.0 --port 8000
fi
# Every subcommand of `authsvc` (tests/package/test_container.py keeps this list complete).
case "$1" in
    serve|migrate|create-admin|create-client|unlock|users|clients|keys|-*) set -- authsvc "$@" ;;
esac

# (`--help` and `--version` need no secrets.)
if [ "${AUTHSVC_ENV:-development}" = production ] && [ "${1:-}" = authsvc ] \
        && [[ "${2:-}" != -* ]]; then
    missing=()
    for name in AUTHSVC_JWT_SECRET AUTHSVC_ENCRYPTION_KEY; do
        file_var="${name}_FILE"
        if [ -z "${!name:-}" ] && [ -z "${!file_var:-}" ]; then
            missing+=("$name")
        fi
    done
    if [ ${#missing[@]} -gt 0 ]; then
        for name in "${missing[@]}"; do
            echo "[entrypoint] ERROR: set ${name} (at least 32 bytes) or ${name}_FILE (a file holding it, e.g. /run/secrets/...)" >&2
        done
        exit 2
    fi
fi

case "${AUTHSVC_MIGRATE_ON_START:-0}" in
    1|true|yes|on)
        echo "[entrypoint] AUTHSVC_MIGRATE_ON_START=${AUTHSVC_MIGRATE_ON_START}: running 'authsvc migrate'" >&2
        rc=0
        authsvc migrate || rc=$?
        if [ "$rc" -ne 0 ]; then
            echo "[entrypoint] ERROR: 'authsvc migrate' failed (exit $rc); not starting" >&2
            exit "$rc"
        fi
        echo "[entrypoint] migrations done" >&2
        ;;
    0|false|no|off|"") ;;
    *)
        echo "[entrypoint] ERROR: AUTHSVC_MIGRATE_ON_START must be 1 or 0, not '${AUTHSVC_MIGRATE_ON_START}'" >&2
        exit 2
        ;;
esac

exec "$@"
