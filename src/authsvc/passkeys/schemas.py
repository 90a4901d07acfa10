"""Request bodies of the passkey endpoints. `credential` is the browser's
`PublicKeyCredential.toJSON()` (WebAuthn Level 3 JSON), checked by py_webauthn, not here."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class RegisterOptionsIn(BaseModel):
    current_password: str | None = Field(default=None, max_length=4096)


class RegisterIn(BaseModel):
    credential: dict[str, Any]
    name: str | None = Field(default=None, max_length=100)


class LoginOptionsIn(BaseModel):
    username: str | None = Field(default=None, max_length=320)


class LoginIn(BaseModel):
    challenge_id: str = Field(min_length=1, max_length=200)
    credential: dict[str, Any]
