#!/usr/bin/env python3
"""Check docker-compose.yml without a Docker engine (CI has none).

    python scripts/check_compose.py [docker-compose.yml]

Loads the file with PyYAML and checks what the deployment relies on: the services postgres, redis,
mailpit and authsvc; a healthcheck on each; authsvc waits for its dependencies with
`condition: service_healthy`; Redis keeps its data (AOF) and never evicts keys; the secrets are
required variables (`${VAR:?message}`); and no secret-looking setting holds a literal value other
than an obvious development placeholder. Exits 1 and lists every problem found.
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
    for secret in REQUIRED_SECRETS:
        value = env.get(secret)
        match = INTERPOLATION.fullmatch(value or "")
        if not match or match.group("op") not in (":?", "?"):
            problems.append(f"authsvc.environment.{secret} must be a required variable: ${{{secret}:?...}}")
    expected = {
        "AUTHSVC_SMTP_HOST": "mailpit",
        "AUTHSVC_SMTP_PORT": "1025",
        "AUTHSVC_SMTP_TLS": "none",
    }
    for key, want in expected.items():
        if env.get(key) != want:
            problems.append(f"authsvc.environment.{key} is {env.get(key)!r}, not {want!r}")
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
    return problems


def main(argv: list[str]) -> int:
    path = Path(argv[1] if len(argv) > 1 else "docker-compose.yml")
    problems = check(path)
    if problems:
        print(f"{path}: {len(problems)} problem(s):", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print(f"{path}: ok (services, healthchecks, depends_on, Redis persistence, secrets)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
