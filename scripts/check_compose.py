#!/usr/bin/env python3
"""Check docker-compose.yml without a Docker engine (CI has none).

    python scripts/check_compose.py [docker-compose.yml]

Loads the file with PyYAML and checks what the deployment relies on: the services postgres, redis,
mailpit and authsvc; a healthcheck on each; authsvc waits for its dependencies with
`condition: service_healthy`; Redis keeps its data (AOF), never evicts keys and asks for a
password that authsvc's URL carries; every service drops its capabilities and gains no
privileges, authsvc and Redis run read-only; authsvc's stop grace period outlasts the server's
drain; every AUTHSVC_* setting it sets is `${SAME_NAME:-default}`, so .env values apply; the
secrets are not in `environment:` at all (they come from .env or AUTHSVC_<NAME>_FILE, which the
entrypoint checks for: a `${VAR:?}` check would refuse Docker secrets); and no secret-looking
setting holds a literal value other than an obvious development placeholder. Exits 1 and lists
every problem found.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

REQUIRED_SERVICES = ("postgres", "redis", "mailpit", "authsvc")
AUTHSVC_DEPENDS_ON = ("postgres", "redis")
REQUIRED_SECRETS = ("AUTHSVC_JWT_SECRET", "AUTHSVC_ENCRYPTION_KEY")
ROOT = Path(__file__).resolve().parents[1]
ENTRYPOINT = ROOT / "scripts" / "entrypoint.sh"
# Built from other variables (the service names and the passwords), not settings of their own.
COMPOSED = ("AUTHSVC_DATABASE_URL", "AUTHSVC_REDIS_URL")
READ_ONLY = ("authsvc", "redis")
DRAIN_SECONDS = 20  # authsvc.cli.DRAIN_SECONDS (checked against it when authsvc is importable)
SECRET_NAME = re.compile(r"(SECRET|PASSWORD|PASSWD|TOKEN|_KEY$|^KEY$|CREDENTIAL)", re.IGNORECASE)
URL_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^:/@\s]*:(?P<password>[^@\s]*)@", re.IGNORECASE)
# A value made only of ${...} interpolations: `${VAR}`, `${VAR:?msg}`, `${VAR:-default}` ...
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?+])?(?P<arg>[^}]*)\}")
DEV_PLACEHOLDER = re.compile(r"(dev|example|change-?me|placeholder|insecure|not-?secret)", re.I)


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) if "=" in item else (item, None) for item in env)
        return {k: v for k, v in pairs if v is not None}
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def literal_problem(value: str) -> str | None:
    """Why `value` counts as a literal secret, or None if it is acceptable."""
    if value == "":
        return None
    defaults = []
    for match in INTERPOLATION.finditer(value):
        if match.group("op") in (":-", "-"):
            defaults.append(match.group("arg"))
    rest = INTERPOLATION.sub("", value)
    for literal in [rest, *defaults]:
        if literal and not DEV_PLACEHOLDER.search(literal):
            return f"literal value {literal!r} (use ${{VAR:?...}} or an obvious dev placeholder)"
    return None


def check(path: Path) -> list[str]:
    problems: list[str] = []
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        return [f"cannot load {path}: {exc}"]
    if not isinstance(doc, dict) or not isinstance(doc.get("services"), dict):
        return [f"{path}: no 'services' mapping"]
    services: dict[str, Any] = doc["services"]

    for name in REQUIRED_SERVICES:
        if name not in services:
            problems.append(f"service {name!r} is missing")
    for name, service in services.items():
        service = service or {}
        health = service.get("healthcheck") or {}
        if not health.get("test") or health.get("disable"):
            problems.append(f"service {name!r} has no healthcheck")
        env = environment(service)
        for key, value in env.items():
            url = URL_PASSWORD.match(value)
            if url and (why := literal_problem(url.group("password"))):
                problems.append(f"{name}.environment.{key}: password in URL: {why}")
            if SECRET_NAME.search(key) and (why := literal_problem(value)):
                problems.append(f"{name}.environment.{key}: {why}")

    app = services.get("authsvc") or {}
    if not app.get("build"):
        problems.append("authsvc: no 'build' (the image is built from the Dockerfile)")
    depends = app.get("depends_on") or {}
    if isinstance(depends, list):
        problems.append("authsvc.depends_on is a list: use the long form with condition: service_healthy")
        depends = {}
    for dep in AUTHSVC_DEPENDS_ON:
        cond = (depends.get(dep) or {}).get("condition")
        if cond != "service_healthy":
            problems.append(f"authsvc.depends_on.{dep}: condition is {cond!r}, not 'service_healthy'")
    env = environment(app)
    problems += check_secrets(app, env)
    for key, value in env.items():
        if not key.startswith("AUTHSVC_") or key in COMPOSED or key in REQUIRED_SECRETS:
            continue
        match = INTERPOLATION.fullmatch(value)
        if not match or match.group("name") != key or match.group("op") not in (":-", "-"):
            problems.append(f"authsvc.environment.{key} is {value!r}: hard-coded, so .env never "
                            f"applies; write ${{{key}:-default}}")
    smtp_host = INTERPOLATION.fullmatch(env.get("AUTHSVC_SMTP_HOST", ""))
    if not smtp_host or smtp_host.group("arg") != "mailpit":
        problems.append("authsvc.environment.AUTHSVC_SMTP_HOST must default to the bundled mailpit")
    problems += check_hardening(services)
    problems += check_grace(app)
    if not env.get("AUTHSVC_DATABASE_URL", "").startswith("postgresql+asyncpg://"):
        problems.append("authsvc.environment.AUTHSVC_DATABASE_URL must be postgresql+asyncpg://...")
    if not env.get("AUTHSVC_REDIS_URL", "").startswith("redis://"):
        problems.append("authsvc.environment.AUTHSVC_REDIS_URL must be redis://...")
    if "AUTHSVC_MIGRATE_ON_START" not in env:
        problems.append("authsvc.environment.AUTHSVC_MIGRATE_ON_START is not set")
    ports = [str(p) for p in app.get("ports") or []]
    if not any(p.endswith(":8000") or p == "8000" for p in ports):
        problems.append("authsvc does not publish container port 8000")

    redis = services.get("redis") or {}
    command = redis.get("command") or []
    words = command.split() if isinstance(command, str) else [str(w) for w in command]
    joined = " ".join(words)
    if not re.search(r"--appendonly\s+\"?yes", joined):
        problems.append("redis: command lacks '--appendonly yes' (revocations must survive a restart)")
    if not re.search(r"--maxmemory-policy\s+noeviction\b", joined):
        problems.append("redis: command lacks '--maxmemory-policy noeviction' (never evict revocations)")
    password = re.search(r"--requirepass\s+(\S+)", joined)
    if not password:
        problems.append("redis: command lacks '--requirepass' (anyone on the network could write revocations)")
    else:
        wanted = INTERPOLATION.fullmatch(password.group(1))
        url = env.get("AUTHSVC_REDIS_URL", "")
        if not wanted or f":${{{wanted.group('name')}" not in url.split("@", 1)[0]:
            problems.append("authsvc.environment.AUTHSVC_REDIS_URL does not carry the Redis password variable")
    return problems


def check_secrets(app: dict[str, Any], env: dict[str, str]) -> list[str]:
    """Secrets come from .env (env_file) or AUTHSVC_<NAME>_FILE, never from `environment:`."""
    problems = []
    files = [str(f.get("path") if isinstance(f, dict) else f) for f in _as_list(app.get("env_file"))]
    if ".env" not in files:
        problems.append("authsvc: no env_file .env (the secrets and settings come from it)")
    for secret in REQUIRED_SECRETS:
        value = env.get(secret)
        if value is None:
            continue
        match = INTERPOLATION.fullmatch(value)
        if match and match.group("op") in (":?", "?"):
            problems.append(f"authsvc.environment.{secret}: a ${{{secret}:?}} check refuses "
                            f"Docker secrets ({secret}_FILE); leave it to the entrypoint")
        elif not match:
            problems.append(f"authsvc.environment.{secret}: a literal secret")
    try:
        entrypoint = ENTRYPOINT.read_text(encoding="utf-8")
    except OSError:
        entrypoint = ""
    for secret in REQUIRED_SECRETS:
        if secret not in entrypoint or "_FILE" not in entrypoint:
            problems.append(f"scripts/entrypoint.sh does not require {secret} or {secret}_FILE")
    return problems


def check_hardening(services: dict[str, Any]) -> list[str]:
    problems = []
    for name, service in services.items():
        service = service or {}
        if "ALL" not in [str(c).upper() for c in _as_list(service.get("cap_drop"))]:
            problems.append(f"{name}: cap_drop does not include ALL")
        options = [str(o).replace("=", ":") for o in _as_list(service.get("security_opt"))]
        if not any(o in ("no-new-privileges:true", "no-new-privileges") for o in options):
            problems.append(f"{name}: security_opt lacks no-new-privileges:true")
        if name in READ_ONLY and service.get("read_only") is not True:
            problems.append(f"{name}: read_only is not true")
    return problems


def check_grace(app: dict[str, Any]) -> list[str]:
    drain = DRAIN_SECONDS
    try:
        from authsvc.cli import DRAIN_SECONDS as drain  # noqa: N811 - the server's own figure
    except ImportError:
        pass
    grace = duration_seconds(str(app.get("stop_grace_period") or "10s"))
    if grace is None or grace <= drain:
        return [f"authsvc.stop_grace_period is {app.get('stop_grace_period')!r}: it must be "
                f"longer than the server's drain ({drain} s), or docker kills it mid-drain"]
    return []


def duration_seconds(text: str) -> float | None:
    """A compose duration (`30s`, `1m30s`, `500ms`) in seconds."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text.replace(" ", ""):
        return None
    scale = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 0.000001}
    return sum(float(n) * scale[u] for n, u in parts)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def main(argv: list[str]) -> int:
    path = Path(argv[1] if len(argv) > 1 else "docker-compose.yml")
    problems = check(path)
    if problems:
        print(f"{path}: {len(problems)} problem(s):", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print(f"{path}: ok (services, healthchecks, depends_on, Redis persistence and password, "
          "hardening, grace period, settings from .env, secrets)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
