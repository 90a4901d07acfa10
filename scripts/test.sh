#!/usr/bin/env bash
# The test command (README): install into .venv, make sure PostgreSQL, Redis and the system
# packages are there, then run pytest with every argument passed through.
#   scripts/test.sh [pytest args...]      e.g. scripts/test.sh -x -k token
# pytest's exit code 5 (no tests collected) is a failure here, not a pass.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export VENV

# services.sh first: it installs the Debian packages (npm among them) that install.sh may use.
bash scripts/services.sh
bash scripts/install.sh

echo "[test] + $VENV/bin/pytest $*"
rc=0
"$VENV/bin/pytest" "$@" || rc=$?
if [ "$rc" -eq 5 ]; then
    echo "[test] ERROR: pytest collected no tests (exit 5): treated as a failure" >&2
fi
exit "$rc"
