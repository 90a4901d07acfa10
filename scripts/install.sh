#!/usr/bin/env bash
# Install authsvc into a virtual environment. The ONE install script: the Dockerfile's build stage,
# CI (scripts/test.sh, scripts/container_smoke.sh) and developers all use it.
#
#   VENV=path    the virtual environment (default .venv, relative to the repository root);
#                created if missing or broken, reused otherwise
#   EXTRAS=list  optional dependency groups (default "test"; EXTRAS= installs none, as in Docker)
#   EDITABLE=1   install with `pip install -e` (developer convenience; never in Docker or CI)
#   PYTHON=exe   the interpreter that creates the venv (default python3)
#
# Idempotent: running it again upgrades pip and reinstalls the project from the working tree.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${VENV:-.venv}
EXTRAS=${EXTRAS-test}
EDITABLE=${EDITABLE:-0}
PYTHON=${PYTHON:-python3}

log() { printf '[install] %s\n' "$*"; }
die() { printf '[install] ERROR: %s\n' "$*" >&2; exit 1; }
run() { log "+ $*"; "$@"; }

export PIP_DISABLE_PIP_VERSION_CHECK=1

command -v "$PYTHON" >/dev/null 2>&1 || die "interpreter '$PYTHON' not found (set PYTHON=...)"

if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import pip' >/dev/null 2>&1; then
    log "using the existing virtualenv $VENV ($("$VENV/bin/python" --version 2>&1))"
else
    if [ -e "$VENV" ]; then
        log "$VENV exists but is not a working virtualenv: recreating it"
        run "$PYTHON" -m venv --clear "$VENV"
    else
        log "creating the virtualenv $VENV with $("$PYTHON" --version 2>&1)"
        run "$PYTHON" -m venv "$VENV"
    fi
fi

"$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "$VENV has $("$VENV/bin/python" --version 2>&1); authsvc needs Python 3.11 or newer"

run "$VENV/bin/python" -m pip install --upgrade pip

# setuptools builds in the source tree: a stale build/ could carry deleted modules into the wheel.
if [ -d "$ROOT/build" ]; then
    run rm -rf "$ROOT/build"
fi

target=$ROOT
if [ -n "$EXTRAS" ]; then
    target="${ROOT}[${EXTRAS}]"
fi
if [ "$EDITABLE" = 1 ]; then
    run "$VENV/bin/python" -m pip install --editable "$target"
else
    run "$VENV/bin/python" -m pip install "$target"
fi

# The resource-server library (sdk/python, its own distribution) with its framework extras: the
# test suite runs real FastAPI and Flask apps guarded by it. Not part of the service's image.
case ",$EXTRAS," in
    *,test,*|*,dev,*)
        sdk="${ROOT}/sdk/python[fastapi,flask]"
        if [ -d "$ROOT/sdk/python/build" ]; then
            run rm -rf "$ROOT/sdk/python/build"
        fi
        if [ "$EDITABLE" = 1 ]; then
            run "$VENV/bin/python" -m pip install --editable "$sdk"
        else
            run "$VENV/bin/python" -m pip install "$sdk"
        fi
        ;;
esac

# The accessibility test injects axe-core (an npm package) into Chromium: with the test extras,
# install it beside the venv's packages ($VENV/node/node_modules/axe-core/axe.min.js).
AXE_VERSION=4.11.0
case ",$EXTRAS," in
    *,test,*|*,dev,*)
        if command -v npm >/dev/null 2>&1; then
            run npm install --no-save --no-audit --no-fund --loglevel=error \
                --prefix "$VENV/node" "axe-core@$AXE_VERSION"
        else
            log "WARNING: npm not found: the accessibility test needs axe-core (scripts/services.sh installs npm)"
        fi
        ;;
esac

log "done: $VENV (extras: ${EXTRAS:-none})"
