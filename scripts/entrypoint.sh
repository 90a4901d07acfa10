#!/usr/bin/env bash
# Container entrypoint (also run by scripts/container_smoke.sh, outside Docker).
#   AUTHSVC_MIGRATE_ON_START=1   run `authsvc migrate` before the command (default: off)
# Then it execs the command, so the server is PID 1's direct replacement and gets SIGTERM itself.
# With no command it serves on 0.0.0.0:8000; a bare subcommand or option (`serve --workers 4`,
# `migrate`, `--help`) is run as `authsvc ...`.
set -euo pipefail

if [ $# -eq 0 ]; then
    set -- authsvc serve --host 0.0.0.0 --port 8000
fi
case "$1" in
    serve|migrate|create-admin|create-client|-*) set -- authsvc "$@" ;;
esac

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
