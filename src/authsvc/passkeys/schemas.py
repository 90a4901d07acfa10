"""Request bodies of the passkey endpoints. `credential` is the browser's
`PublicKeyCredential.toJSON()` (WebAuthn Level 3 JSON), checked by py_webauthn, not here."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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


class PasskeyOut(BaseModel):
    id: str
    name: str | None
    created_at: int
    last_used_at: int | None = None


class CreationOptionsOut(BaseModel):
    """WebAuthn Level 3 `PublicKeyCredentialCreationOptionsJSON` (py_webauthn's JSON)."""

    model_config = ConfigDict(extra="allow")

    rp: dict[str, Any]
    user: dict[str, Any]
    challenge: str
    pubKeyCredParams: list[dict[str, Any]]  # noqa: N815 - WebAuthn's member name


class RequestOptionsOut(BaseModel):
    """WebAuthn Level 3 `PublicKeyCredentialRequestOptionsJSON`, with our `challenge_id`."""

    model_config = ConfigDict(extra="allow")

    challenge: str
    challenge_id: str
