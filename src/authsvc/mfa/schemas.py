"""Request bodies of the MFA endpoints."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Method = Literal["totp", "email", "recovery_code"]


class CodeIn(BaseModel):
    code: str = Field(min_length=1, max_length=64)


class SecondFactorIn(BaseModel):
    method: Method
    code: str = Field(min_length=1, max_length=64)


class ChallengeIn(BaseModel):
    mfa_token: str = Field(min_length=1, max_length=8192)
    method: Literal["email"]


class StepUpChallengeIn(BaseModel):
    method: Literal["email"]


class TotpSetupOut(BaseModel):
    secret: str
    otpauth_uri: str
    qr_svg: str


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str]


class CodeSentOut(BaseModel):
    """A code was mailed; it expires in `expires_in` seconds."""

    method: Literal["email"]
    expires_in: int
