"""Request bodies of the MFA endpoints."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from authsvc.identity.schemas import DeviceTokenField

Method = Literal["totp", "email", "recovery_code"]


class CodeIn(BaseModel):
    code: str = Field(min_length=1, max_length=64)


class SecondFactorIn(DeviceTokenField):
    method: Method
    code: str = Field(min_length=1, max_length=64)


class ChallengeIn(BaseModel):
    mfa_token: str = Field(min_length=1, max_length=8192)
    method: Literal["email"]


class StepUpChallengeIn(BaseModel):
    method: Literal["email"]
