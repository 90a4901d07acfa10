"""The browser session payload: what the server remembers about one signed-in browser."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["Session"]


@dataclass
class Session:
    """One browser's state. Stored encrypted; the browser only ever holds the random id.

    `user_id` is set once the user is fully signed in; during a login that still needs a second
    factor it stays None and `mfa_pending` holds `{"mfa_token", "methods", ...}`. `user_version`
    is the user's version at sign-in: a change (password, roles, disabling) makes it stale.
    `flashes` are one-shot notices, `{"level": "info"|"error", "text": ...}`.
    """

    csrf_token: str
    created_at: float
    last_seen: float
    user_id: str | None = None
    user_version: int = 0
    auth_time: float | None = None
    amr: list[str] = field(default_factory=list)
    mfa_pending: dict[str, Any] | None = None
    user_agent: str = ""
    ip: str = ""
    flashes: list[dict[str, str]] = field(default_factory=list)
    # Fresh recovery codes, shown once by the GET after the POST that made them (PRG).
    shown_codes: list[str] = field(default_factory=list)

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None

    def flash(self, text: str, level: str = "info") -> None:
        self.flashes.append({"level": level, "text": text})

    def pop_flashes(self) -> list[dict[str, str]]:
        flashes, self.flashes = self.flashes, []
        return flashes

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Session:
        """Parse a stored payload; unknown keys (from a newer release) are ignored."""
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("a session payload is a JSON object")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def field_names(cls) -> frozenset[str]:
        return frozenset(f.name for f in fields(cls))
