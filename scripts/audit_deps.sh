#!/usr/bin/env bash
# Audit the installed dependencies of the venv for known vulnerabilities (pip-audit).
#
#   bash scripts/audit_deps.sh            # VENV defaults to .venv
#
# Fails (exit 1) only on a vulnerability that has a fixed version to move to; vulnerabilities
# without a fix are listed but do not fail the build. The project itself (editable) is skipped.
# When the vulnerability service cannot be reached, or answers for none of the packages, the
# audit did not happen: that is said loudly and exits 0, unless AUDIT_STRICT=1 (then exit 2).
set -uo pipefail

cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
if ! "$PY" -m pip_audit --version >/dev/null 2>&1; then
    "$VENV/bin/pip" install --quiet "pip-audit>=2.7" || { echo "audit: cannot install pip-audit" >&2; exit 2; }
fi
report=$(mktemp)
trap 'rm -f "$report" "$report.err"' EXIT
# pip-audit exits 1 when it finds anything; the verdict is ours, from its JSON.
"$PY" -m pip_audit --skip-editable --format json --progress-spinner off --timeout 30 \
    --path "$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
    -o "$report" 2>"$report.err"
status=$?
"$PY" - "$report" "$status" "${AUDIT_STRICT:-0}" <<'PYEOF'
import json, sys
path, status, strict = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
try:
    deps = json.load(open(path))["dependencies"]
except Exception as exc:  # no report at all: pip-audit itself failed
    err = open(path + ".err").read()[-2000:]
    print(f"audit: pip-audit failed (exit {status}): {exc}\n{err}", file=sys.stderr)
    sys.exit(2 if strict else 0)
audited = [d for d in deps if "skip_reason" not in d]
fixable, unfixable = [], []
for dep in audited:
    for vuln in dep.get("vulns", []):
        line = f"{dep['name']} {dep['version']}: {vuln['id']} (fixed in: " \
               f"{', '.join(vuln.get('fix_versions') or []) or 'no fix yet'})"
        (fixable if vuln.get("fix_versions") else unfixable).append(line)
print(f"audit: {len(audited)} of {len(deps)} installed packages audited")
for line in unfixable:
    print(f"audit: known, no fix available: {line}")
for line in fixable:
    print(f"audit: VULNERABLE, fix available: {line}", file=sys.stderr)
if not audited and deps:
    print("audit: WARNING: the vulnerability service answered for no package (no network to "
          "it?); nothing was audited", file=sys.stderr)
    sys.exit(2 if strict else 0)
sys.exit(1 if fixable else 0)
PYEOF
