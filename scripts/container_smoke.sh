#!/usr/bin/env bash
# Container smoke test without a Docker engine: follow the Dockerfile's steps on the host.
#  1. install with scripts/install.sh into a fresh temporary venv WITHOUT test extras
#     (SMOKE_VENV=path reuses an existing venv instead, to save time locally; CI installs afresh);
#  2. production must refuse a short AUTHSVC_JWT_SECRET (non-zero exit naming the variable);
#  3. run `scripts/entrypoint.sh authsvc serve` with a production environment, a fresh PostgreSQL
#     database and AUTHSVC_MIGRATE_ON_START=1, from an empty working directory with nothing but
#     that environment (as in the container);
#  4. wait for /health/live, then /health/ready, check the migrations ran and
#     /.well-known/oauth-authorization-server answers 200 with the issuer;
#  5. SIGTERM: the server must exit 0 within 10 seconds.
#   SMOKE_TIMEOUT=seconds  startup budget (default 30)   SMOKE_KEEP=1  keep the temp dir
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
PG_HOST=127.0.0.1
PG_PORT=5432
STARTUP_TIMEOUT=${SMOKE_TIMEOUT:-30}
STOP_TIMEOUT=10

log() { printf '[smoke] %s\n' "$*"; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/authsvc-smoke.XXXXXX")
SERVER_LOG=$TMP/server.log
DB=authsvc_smoke_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
server_pid=
db_created=0

fail() {
    printf '[smoke] FAILED: %s\n' "$*" >&2
    if [ -s "$SERVER_LOG" ]; then
        printf '[smoke] ---- last lines of the server log (%s) ----\n' "$SERVER_LOG" >&2
        tail -n 60 "$SERVER_LOG" >&2
        printf '[smoke] ----\n' >&2
    fi
    exit 1
}

cleanup() {
    local rc=$?
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [ "$db_created" = 1 ]; then
        psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d test -qAt \
            -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 \
            || printf '[smoke] warning: could not drop database %s\n' "$DB" >&2
    fi
    if [ "${SMOKE_KEEP:-0}" = 1 ]; then
        printf '[smoke] kept %s\n' "$TMP" >&2
    else
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ 1. install, as the image does
if [ -n "${SMOKE_VENV:-}" ]; then
    VENV_DIR=$SMOKE_VENV
    [ -x "$VENV_DIR/bin/authsvc" ] || fail "SMOKE_VENV=$VENV_DIR has no bin/authsvc"
    log "reusing the venv $VENV_DIR (SMOKE_VENV; CI installs afresh)"
else
    VENV_DIR=$TMP/venv
    log "installing into a fresh venv without test extras, as the Docker build stage does"
    VENV=$VENV_DIR EXTRAS='' bash scripts/install.sh || fail "scripts/install.sh failed"
    if "$VENV_DIR/bin/python" -c 'import pytest' 2>/dev/null; then
        fail "the production install pulled in pytest: a test dependency leaked into the main ones"
    fi
fi
PY=$VENV_DIR/bin/python
[ -x "$VENV_DIR/bin/authsvc" ] || fail "the install has no 'authsvc' command"

# Everything the server gets, like `docker run`: nothing from the caller's environment.
WORKDIR=$TMP/work
mkdir -p "$WORKDIR" "$TMP/home"
secret() { "$PY" -c 'import secrets; print(secrets.token_urlsafe(36))'; }  # 48 characters
JWT_SECRET=$(secret)
ENCRYPTION_KEY=$(secret)
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
ISSUER=http://smoke.authsvc.test
# `env -i -C` rather than a subshell: started with `&`, the pid we get is the server's own
# (env, then bash, then the entrypoint's exec all replace the same process), so SIGTERM reaches it.
CLEAN=(env -i -C "$WORKDIR" "PATH=$VENV_DIR/bin:/usr/local/bin:/usr/bin:/bin" "HOME=$TMP/home" LANG=C.UTF-8)
PROD_ENV=(
    AUTHSVC_ENV=production
    "AUTHSVC_DATABASE_URL=postgresql+asyncpg://postgres@$PG_HOST:$PG_PORT/$DB"
    AUTHSVC_REDIS_URL=redis://127.0.0.1:6379/15
    "AUTHSVC_JWT_SECRET=$JWT_SECRET"
    "AUTHSVC_ENCRYPTION_KEY=$ENCRYPTION_KEY"
    "AUTHSVC_ISSUER=$ISSUER"
    AUTHSVC_MAIL_TRANSPORT=log  # no SMTP server here: production refuses to start without this
)

"${CLEAN[@]}" authsvc --help >"$TMP/help.log" 2>&1 \
    || { cat "$TMP/help.log" >&2; fail "'authsvc --help' fails in the production install (see above)"; }

# ------------------------------------------------------------------ 2. a short secret is refused
log "production with a 16-byte AUTHSVC_JWT_SECRET must refuse to start"
rc=0
"${CLEAN[@]}" "${PROD_ENV[@]}" AUTHSVC_JWT_SECRET=too-short-secret AUTHSVC_MIGRATE_ON_START=0 \
    timeout 20 bash "$ROOT/scripts/entrypoint.sh" authsvc serve --host 127.0.0.1 --port "$PORT" \
    >"$TMP/short.log" 2>&1 || rc=$?
if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ]; then
    cat "$TMP/short.log" >&2
    fail "production started (exit $rc) with a short AUTHSVC_JWT_SECRET; it must refuse"
fi
grep -q AUTHSVC_JWT_SECRET "$TMP/short.log" \
    || { cat "$TMP/short.log" >&2; fail "the refusal (exit $rc) does not name AUTHSVC_JWT_SECRET"; }
if grep -q 'Traceback' "$TMP/short.log"; then
    log "warning: the refusal prints a Python traceback; a one-line message is friendlier"
fi
log "refused with exit $rc: $(grep -m1 AUTHSVC_JWT_SECRET "$TMP/short.log")"

# ------------------------------------------------------------------ 3. start as the container does
log "creating the database $DB"
psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d test -v ON_ERROR_STOP=1 -qAt \
    -c "CREATE DATABASE $DB" >/dev/null || fail "cannot create the database $DB"
db_created=1

log "starting: scripts/entrypoint.sh authsvc serve --host 127.0.0.1 --port $PORT (AUTHSVC_MIGRATE_ON_START=1)"
"${CLEAN[@]}" "${PROD_ENV[@]}" AUTHSVC_MIGRATE_ON_START=1 \
    bash "$ROOT/scripts/entrypoint.sh" authsvc serve --host 127.0.0.1 --port "$PORT" \
    >"$SERVER_LOG" 2>&1 &
server_pid=$!

http() {  # http URL -> "STATUS BODY" (STATUS 000 when nothing answers)
    "$PY" - "$1" <<'PYEOF'
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=3) as r:
        print(r.status, r.read(4000).decode("utf-8", "replace").replace("\n", " "))
except urllib.error.HTTPError as e:
    print(e.code, e.read(4000).decode("utf-8", "replace").replace("\n", " "))
except Exception as e:
    print("000", type(e).__name__, e)
PYEOF
}

# ------------------------------------------------------------------ 4. health and metadata
deadline=$((SECONDS + STARTUP_TIMEOUT))
for path in /health/live /health/ready; do
    while :; do
        kill -0 "$server_pid" 2>/dev/null || {
            rc=0; wait "$server_pid" || rc=$?; server_pid=
            fail "the server exited (code $rc) before $path answered 200"
        }
        answer=$(http "$BASE$path")
        [ "${answer%% *}" = 200 ] && break
        [ "$SECONDS" -lt "$deadline" ] \
            || fail "$path did not answer 200 within ${STARTUP_TIMEOUT}s (last: ${answer:0:300})"
        sleep 0.5
    done
    log "$path: 200 after $((SECONDS + STARTUP_TIMEOUT - deadline))s"
done

tables=$(psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d "$DB" -qAt \
    -c "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'") \
    || fail "cannot read the tables of $DB"
[ "${tables:-0}" -gt 1 ] || fail "no tables in $DB: AUTHSVC_MIGRATE_ON_START=1 did not migrate it"
log "migrations ran: $tables tables in $DB"

answer=$(http "$BASE/.well-known/oauth-authorization-server")
[ "${answer%% *}" = 200 ] \
    || fail "/.well-known/oauth-authorization-server answered ${answer:0:300}"
printf '%s' "${answer#* }" | "$PY" -c '
import json, sys
meta = json.load(sys.stdin)
issuer = meta.get("issuer")
assert issuer == sys.argv[1], f"issuer is {issuer!r}, not {sys.argv[1]!r}"
assert meta.get("token_endpoint"), "no token_endpoint"
' "$ISSUER" || fail "bad metadata: ${answer:0:500}"
log "/.well-known/oauth-authorization-server: 200, issuer $ISSUER"

# ------------------------------------------------------------------ 5. graceful stop
log "SIGTERM: the server must exit 0 within ${STOP_TIMEOUT}s"
kill -TERM "$server_pid"
stop_deadline=$((SECONDS + STOP_TIMEOUT))
while kill -0 "$server_pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$stop_deadline" ]; then
        fail "the server was still running ${STOP_TIMEOUT}s after SIGTERM"
    fi
    sleep 0.2
done
rc=0
wait "$server_pid" || rc=$?
server_pid=
[ "$rc" -eq 0 ] || fail "the server exited with code $rc after SIGTERM, not 0"
log "stopped cleanly (exit 0)"
log "container smoke test passed"
