"""Every setting is documented where operators look: .env.example and the README."""

from __future__ import annotations

from pathlib import Path

import pytest

from authsvc.config import Settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("document", [".env.example", "README.md"])
def test_every_setting_is_documented(document: str) -> None:
    text = (ROOT / document).read_text(encoding="utf-8")
    missing = [f"AUTHSVC_{name.upper()}" for name in Settings.model_fields
               if f"AUTHSVC_{name.upper()}" not in text]
    assert not missing, f"{document} does not mention {missing}"


def test_the_docs_stand_on_their_own() -> None:
    """Every relative link of the README and docs/ points at a file of this repository (a clone
    has no ../shared/), the README links the interface description, and snippets use python3."""
    import re

    documents = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for document in documents:
        text = document.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if "://" in target:
                continue
            resolved = (document.parent / target).resolve()
            assert resolved.is_relative_to(ROOT) and resolved.exists(), (document.name, target)
        assert not re.search(r"(?<![\w.])python -c", text), document.name
    assert "](docs/api.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_run_command_installs_no_test_dependencies() -> None:
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    run = re.search(r"```sh\n(.*authsvc serve.*)\n```", readme)
    assert run and run.group(1).startswith("EXTRAS= bash scripts/install.sh"), run
