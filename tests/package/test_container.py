"""The container: the entrypoint maps every command and requires the secrets (or their *_FILE);
the Dockerfile labels the image and installs from the lockfile; scripts/check_compose.py
refuses each weakness of the compose file that issue 14 and 19 found."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from authsvc.cli import DRAIN_SECONDS, parser

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "scripts" / "entrypoint.sh"
sys.path.insert(0, str(ROOT / "scripts"))
import check_compose  # noqa: E402


def _commands() -> set[str]:
    top = parser()
    sub = next(a for a in top._actions if a.__class__.__name__ == "_SubParsersAction")
    return set(sub.choices)


def test_the_entrypoint_maps_every_cli_command() -> None:
    text = ENTRYPOINT.read_text(encoding="utf-8")
    mapped = re.search(r"^\s*([a-z|\-*]+)\) set -- authsvc \"\$@\"", text, re.M)
    assert mapped, "no case line mapping bare commands to authsvc"
    assert _commands() <= set(mapped.group(1).split("|"))


def _entrypoint(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    bin_dir = str(Path(sys.executable).parent)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AUTHSVC_")}
    return subprocess.run(["bash", str(ENTRYPOINT), *args], capture_output=True, text=True,
                          timeout=60, check=False,
                          env={**clean, "PATH": f"{bin_dir}:{clean.get('PATH', '')}", **env})


def test_bare_subcommands_run_as_authsvc() -> None:
    done = _entrypoint("users", "--help")
    assert done.returncode == 0 and "disable" in done.stdout
    assert _entrypoint("--version").stdout.startswith("authsvc ")


def test_production_needs_each_secret_or_its_file(tmp_path: Path) -> None:
    refused = _entrypoint("migrate", AUTHSVC_ENV="production")
    assert refused.returncode == 2
    for name in ("AUTHSVC_JWT_SECRET", "AUTHSVC_ENCRYPTION_KEY"):
        assert f"{name} (at least 32 bytes) or {name}_FILE" in refused.stderr
    secret = tmp_path / "jwt"
    secret.write_text("x" * 40)
    half = _entrypoint("migrate", AUTHSVC_ENV="production", AUTHSVC_JWT_SECRET_FILE=str(secret))
    assert half.returncode == 2 and "AUTHSVC_JWT_SECRET " not in half.stderr
    assert "AUTHSVC_ENCRYPTION_KEY (at least" in half.stderr


def test_the_dockerfile_labels_the_image_and_installs_the_lock() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for label in ("title", "description", "version", "revision", "created", "licenses",
                  "documentation"):
        assert f"org.opencontainers.image.{label}=" in text, label
    assert "EXTRAS= " in text  # no `embedded`, no `test`
    install = (ROOT / "scripts" / "install.sh").read_text(encoding="utf-8")
    assert "--require-hashes" in install and "requirements/runtime.txt" in install


def test_our_compose_file_passes_the_check() -> None:
    assert check_compose.check(ROOT / "docker-compose.yml") == []


def _broken(tmp_path: Path, change: Any) -> list[str]:
    doc = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    change(doc["services"])
    path = tmp_path / "compose.yml"
    path.write_text(yaml.safe_dump(doc))
    return check_compose.check(path)


@pytest.mark.parametrize(("change", "complaint"), [
    (lambda s: s["authsvc"]["environment"].update(AUTHSVC_SMTP_HOST="mailpit"),
     "AUTHSVC_SMTP_HOST is 'mailpit': hard-coded"),
    (lambda s: s["authsvc"]["environment"].update(
        AUTHSVC_JWT_SECRET="${AUTHSVC_JWT_SECRET:?set it}"), "refuses Docker secrets"),
    (lambda s: s["redis"].update(command=["redis-server", "--appendonly", "yes",
                                          "--maxmemory-policy", "noeviction"]),
     "--requirepass"),
    (lambda s: s["authsvc"]["environment"].update(AUTHSVC_REDIS_URL="redis://redis:6379/0"),
     "does not carry the Redis password"),
    (lambda s: s["authsvc"].pop("cap_drop"), "authsvc: cap_drop"),
    (lambda s: s["redis"].pop("security_opt"), "redis: security_opt lacks no-new-privileges"),
    (lambda s: s["authsvc"].pop("read_only"), "authsvc: read_only"),
    (lambda s: s["authsvc"].update(stop_grace_period=f"{DRAIN_SECONDS}s"), "stop_grace_period"),
])
def test_the_check_names_each_weakness(tmp_path: Path, change: Any, complaint: str) -> None:
    problems = _broken(tmp_path, change)
    assert any(complaint in p for p in problems), problems


def test_docker_secrets_are_documented() -> None:
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    for name in ("JWT_SECRET", "ENCRYPTION_KEY", "SMTP_PASSWORD", "DATABASE_URL", "REDIS_URL"):
        assert f"AUTHSVC_{name}_FILE" in text, name
    assert "/run/secrets/" in text and "secrets:" in text
