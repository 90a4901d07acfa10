"""Request and response bodies of the account endpoints."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from authsvc.caller import Caller
from authsvc.identity.models import User


class Registration(BaseModel):
    model_config = ConfigDict(extra="ignore")  # unknown fields such as `roles` are ignored

    email: str = Field(max_length=320)
    password: str = Field(max_length=4096)
    display_name: str | None = Field(default=None, max_length=200)


class DeviceTokenField(BaseModel):
    """An optional `device_token` (OWASP device cookies): the app's, from its last login."""

    device_token: str | None = Field(default=None, max_length=2048)

    def with_device(self, client: Caller) -> Caller:
        return replace(client, device=self.device_token) if self.device_token else client


class PasswordChange(DeviceTokenField):
    current_password: str = Field(max_length=4096)
    new_password: str = Field(max_length=4096)


def user_body(user: User, *, recovery_codes_left: int | None = None,
              passkeys: int = 0) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(user.id),
        "email": user.email,
        "display_name": user.display_name,
        "roles": list(user.roles or []),
        "is_active": user.is_active,
        "email_verified": user.email_verified,
        "created_at": int(user.created_at.timestamp()) if user.created_at else None,
    }
    if recovery_codes_left is not None:  # the user's own view (GET /users/me)
        # A password found in a breach list at login: choose a new one (see README).
        body["password_reset_required"] = bool(user.password_reset_required)
        body["mfa"] = {
            "totp": bool(user.totp_enabled),
            "email": bool(user.email_mfa_enabled),
            "recovery_codes_left": recovery_codes_left,
            "passkeys": passkeys,
        }
    return body


class MfaStatusOut(BaseModel):
    totp: bool
    email: bool
    recovery_codes_left: int


class UserOut(BaseModel):
    """A user as `user_body` writes it (`mfa` only on `GET /users/me`)."""

    model_config = ConfigDict(extra="allow")

    id: str
    email: str
    display_name: str | None
    roles: list[str]
    is_active: bool
    email_verified: bool
    created_at: int | None
    mfa: MfaStatusOut | None = None


class PasswordPolicyOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    preset: str
    min_length: int
    max_length: int
    require_upper: bool
    require_lower: bool
    require_digits: bool
    require_special: bool
    blocklist: bool
    requirements: list[str]
