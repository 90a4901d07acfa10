#!/usr/bin/env bash
# Refresh the lockfiles (exact versions with hashes) from pyproject.toml:
#   requirements/runtime.txt   the runtime dependencies: what the container image installs
#   requirements/embedded.txt  runtime + the `embedded` extra (the in-process Redis stand-in)
#   requirements/test.txt      runtime + the `embedded` and `test` extras: what CI installs
# Run after changing dependencies in pyproject.toml, or to take newer releases:
#   bash scripts/lock.sh            (add --upgrade to move every pin to the newest release)
# scripts/install.sh installs from these files with `pip install --require-hashes`.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${LOCK_VENV:-.lock-venv}
PYTHON=${PYTHON:-python3}
[ -x "$VENV/bin/pip-compile" ] || { "$PYTHON" -m venv "$VENV" && "$VENV/bin/pip" install -q "pip-tools>=7.4"; }
common=(--quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url
        --no-emit-find-links "$@")
"$VENV/bin/pip-compile" "${common[@]}" --output-file requirements/runtime.txt pyproject.toml
"$VENV/bin/pip-compile" "${common[@]}" --extra embedded \
    --output-file requirements/embedded.txt pyproject.toml
"$VENV/bin/pip-compile" "${common[@]}" --extra embedded --extra test \
    --output-file requirements/test.txt pyproject.toml
echo "[lock] requirements/runtime.txt, embedded.txt and test.txt written"
