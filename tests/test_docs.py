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
