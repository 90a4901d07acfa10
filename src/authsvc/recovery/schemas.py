"""Request and response bodies of the recovery and verification endpoints."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from authsvc.identity.schemas import DeviceTokenField

FORGOT_ACCEPTED = {
    "status": "accepted",
    "message": "If an account uses this address, a link to reset its password is on its way.",
}
RESEND_ACCEPTED = {"status": "accepted", "message": "A new verification mail is on its way."}


class ForgotIn(BaseModel):
    email: str = Field(max_length=320)


class ResetIn(DeviceTokenField):
    token: str = Field(min_length=1, max_length=512,
                       description="The `token` of the mailed link, or the mailed code "
                                   "with `email`.")
    new_password: str = Field(max_length=4096)
    email: str | None = Field(default=None, max_length=320,
                              description="Only with the typed code from the mail.")
    method: str | None = Field(
        default=None, max_length=32,
        description="Second factor (`totp` or `recovery_code`), required when the account has MFA.")
    code: str | None = Field(default=None, max_length=64, description="The second factor's code.")


class VerifyIn(BaseModel):
    token: str = Field(min_length=1, max_length=512,
                       description="The `token` of the mailed link, or the mailed code "
                                   "with `email`.")
    email: str | None = Field(default=None, max_length=320)


class Accepted(BaseModel):
    status: Literal["accepted"]
    message: str


class ErrorOut(BaseModel):
    error: str
    error_description: str


class WeakPasswordOut(ErrorOut):
    unmet: list[str]


class MfaRequiredOut(ErrorOut):
    mfa_methods: list[str]


def error(description: str, model: type[BaseModel] = ErrorOut) -> dict[str, Any]:
    """An entry of a route's `responses=`, so the OpenAPI document lists the error."""
    return {"model": model, "description": description}


RATE_LIMITED = error("`rate_limited`, with `Retry-After` (seconds).")
INVALID_BODY = error("The body is malformed (`invalid_request`, with `detail`).")
