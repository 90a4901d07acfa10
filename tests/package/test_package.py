"""The package as installed: its pins, its extras, and the command line a newcomer meets."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from authsvc import __version__

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
RUNTIME = {Requirement(r).name.lower(): Requirement(r)
           for r in PYPROJECT["project"]["dependencies"]}


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AUTHSVC_")}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=60,
                          env={**clean, **(env or {})}, check=False)


@pytest.mark.parametrize(("name", "broken", "working"), [
    ("libpass", "1.9.3", "1.9.4"),          # 1.9.0-1.9.3 fail with bcrypt 5
    ("fastapi", "0.120.4", "0.121.0"),      # Depends(scope=...)
    ("pydantic-settings", "2.6.1", "2.7.0"),  # NoDecode
    ("python-jose", "3.4.0", "3.5.0"),
])
def test_pins_refuse_the_versions_that_break(name: str, broken: str, working: str) -> None:
    specifier = RUNTIME[name].specifier
    assert broken not in specifier and working in specifier


def test_runtime_dependencies_are_imported_or_needed() -> None:
    # Nothing in src/ imports these; they belong to the extras that need them.
    assert not {"python-multipart", "fakeredis"} & set(RUNTIME)
    # security/breached.py calls the range API with httpx at run time.
    assert "httpx" in RUNTIME
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert any(Requirement(r).name == "fakeredis" for r in extras["embedded"])


def test_version_flag() -> None:
    done = _run("-m", "authsvc.cli", "--version")
    assert done.returncode == 0 and done.stdout.strip() == f"authsvc {__version__}"


def test_every_serve_flag_has_help_and_its_default() -> None:
    done = _run("-m", "authsvc.cli", "serve", "--help", env={"AUTHSVC_PORT": "8123"})
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    for flag, default in (("--host", "127.0.0.1"), ("--port", "8123"), ("--workers", "1")):
        assert flag in text
        after = text.split(flag, 2)[-1]
        assert f"(default: {default})" in after.split("--", 1)[0], (flag, after[:200])


BLOCK_EMBEDDED = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('fakeredis', 'lupa'):
            raise ImportError(name)
        return None
sys.meta_path.insert(0, Block())
import importlib.util
_find = importlib.util.find_spec
def find_spec(name, package=None):
    if name.split('.')[0] in ('fakeredis', 'lupa'):
        return None
    return _find(name, package)
importlib.util.find_spec = find_spec
from authsvc.cli import main
sys.exit(main(['serve', '--port', '1']))
"""


def test_serve_without_redis_and_without_the_embedded_extra_says_what_to_install(
        tmp_path: Path) -> None:
    done = _run("-c", BLOCK_EMBEDDED, env={"AUTHSVC_DATA_DIR": str(tmp_path)})
    assert done.returncode == 2, done.stderr
    assert "pip install 'authsvc[embedded]'" in done.stderr
    assert "AUTHSVC_REDIS_URL" in done.stderr
    assert "Traceback" not in done.stderr


def test_env_example_lists_the_server_variables() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    for name in ("AUTHSVC_HOST", "AUTHSVC_PORT", "AUTHSVC_WORKERS", "AUTHSVC_MIGRATE_ON_START"):
        assert f"\n{name}=" in text or f"\n# {name}=" in text, name
