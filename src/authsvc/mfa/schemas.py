"""Request bodies of the MFA endpoints."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

Method = Literal["totp", "email", "recovery_code", "webauthn"]
MAX_CREDENTIAL_JSON = 16_384


class CodeIn(BaseModel):
    code: str = Field(min_length=1, max_length=64)


class SecondFactorIn(BaseModel):
    """`{"method", "code"}`; for `webauthn`, `{"method": "webauthn", "credential": {...}}` (the
    browser's `PublicKeyCredential.toJSON()`), or the same JSON as a string in `code`."""

    method: Method
    code: str | None = Field(default=None, min_length=1, max_length=MAX_CREDENTIAL_JSON)
    credential: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_proof(self) -> SecondFactorIn:
        if self.method == "webauthn":
            if self.credential is not None:
                self.code = json.dumps(self.credential)
            if not self.code or len(self.code) > MAX_CREDENTIAL_JSON:
                raise ValueError("webauthn needs the credential")
        elif not self.code or len(self.code) > 64:
            raise ValueError("code must be 1 to 64 characters")
        return self

    @property
    def proof(self) -> str:
        assert self.code is not None
        return self.code


class ChallengeIn(BaseModel):
    mfa_token: str = Field(min_length=1, max_length=8192)
    method: Literal["email", "webauthn"]


class StepUpChallengeIn(BaseModel):
    method: Literal["email", "webauthn"]
