"""The layers hold (pyproject.toml [tool.importlinter], docs/architecture.md), and the contracts
keep up with the source: a new module of authsvc is named by them, not silently outside."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "authsvc"
CONTRACTS = {
    c["id"]: c
    for c in tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "importlinter"]["contracts"]
}
# A room module that is neither a domain module nor a face: its reason.
UNCLASSIFIED = {
    "authsvc.ops.observe": "the access log and latency histogram, run inside the middleware",
}


def modules(package: Path, prefix: str) -> list[str]:
    """The dotted names of the modules and subpackages directly in `package`."""
    found = []
    for entry in sorted(package.iterdir()):
        if entry.suffix == ".py" and entry.stem != "__init__":
            found.append(f"{prefix}.{entry.stem}")
        elif (entry / "__init__.py").exists():
            found.append(f"{prefix}.{entry.name}")
    return found


def matches(name: str, expression: str) -> bool:
    """import-linter's module expressions: `*` is one segment; a module also stands for the
    modules inside it (contracts treat modules as packages)."""
    pattern = r"\.".join("[^.]+" if part == "*" else re.escape(part)
                         for part in expression.split("."))
    return re.fullmatch(pattern + r"(\..+)?", name) is not None


def test_the_layers_hold() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    lint = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout


def test_security_is_forbidden_every_other_module() -> None:
    forbidden = set(CONTRACTS["security"]["forbidden_modules"])
    others = set(modules(SRC, "authsvc")) - {"authsvc.security"}
    assert others - forbidden == set(), "add them to the security contract"
    assert {m for m in forbidden if m.startswith("authsvc.")} - others == set(), "gone modules"


@pytest.mark.parametrize("room", CONTRACTS["room-layers"]["containers"]
                         + ["authsvc.ops", "authsvc.protection", "authsvc.sessions"])
def test_every_module_of_a_room_is_placed(room: str) -> None:
    """Each module of a room is a domain module (the `services` contract's sources), a face
    (API or pages) or a schema; a new one has to be placed before the check passes."""
    faces = (CONTRACTS["api-not-web"]["source_modules"]
             + CONTRACTS["web-not-api"]["source_modules"])
    placed = CONTRACTS["services"]["source_modules"] + faces
    package = SRC.joinpath(*room.split(".")[1:])
    loose = [name for name in modules(package, room)
             if not name.endswith(".schemas") and name not in UNCLASSIFIED
             and not any(matches(name, expression) for expression in placed)]
    assert loose == [], "name them in the services contract or as a face in pyproject.toml"


def test_the_module_expressions_match_as_import_linter_reads_them() -> None:
    assert matches("authsvc.identity.router", "authsvc.*.router")
    assert not matches("authsvc.tokens.grants.base", "authsvc.*.base")
    assert matches("authsvc.tokens.grants.base", "authsvc.tokens.grants")
    assert not matches("authsvc.tokens.grantsx", "authsvc.tokens.grants")
