"""Forgot password, reset, e-mail verification (JSON). `RecoveryService` does the work."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from authsvc.deps import CallerInfo, CurrentUser, rate_limit
from authsvc.recovery.deps import Recovery
from authsvc.recovery.schemas import (
    FORGOT_ACCEPTED,
    INVALID_BODY,
    RATE_LIMITED,
    RESEND_ACCEPTED,
    Accepted,
    ForgotIn,
    MfaRequiredOut,
    ResetIn,
    VerifyIn,
    WeakPasswordOut,
    error,
)
from authsvc.responses import NO_STORE, json_response

router = APIRouter(tags=["recovery"])

INVALID_TOKEN = error("`invalid_token`: the link or code is unknown, expired or used (one answer).")


@router.post(
    "/password/forgot", status_code=202,
    dependencies=[rate_limit("forgot", "rate_limit_forgot")],
    responses={202: {"model": Accepted, "description": "Always, account or not."},
               422: INVALID_BODY, 429: RATE_LIMITED},
)
async def forgot_password(body: ForgotIn, recovery: Recovery) -> Response:
    """Mail a reset link and code if an active account uses the address.

    The same 202 body, and the same work, whether or not it does; past the per-address mail
    budget (`AUTHSVC_RATE_LIMIT_FORGOT_ACCOUNT`) still 202, without a mail.
    """
    await recovery.request_reset(body.email)
    return json_response(FORGOT_ACCEPTED, status=202, headers=NO_STORE)


@router.post(
    "/password/reset", status_code=204,
    responses={
        204: {"description": "The password is changed; every session and refresh family ended."},
        400: error("`invalid_token` (unknown, expired or used link or code); `mfa_required` "
                   "(with `mfa_methods`: send `method` and `code`); `invalid_code` (a wrong "
                   "second factor). Only a success spends the token.", MfaRequiredOut),
        422: error("`weak_password` with `unmet`, or a malformed body.", WeakPasswordOut),
        429: error("`temporarily_locked`: too many wrong second factors, with `Retry-After`."),
    },
)
async def reset_password(body: ResetIn, recovery: Recovery, client: CallerInfo) -> Response:
    await recovery.reset_password(body.token, body.new_password, body.with_device(client),
                                  email=body.email,
                                  method=body.method, code=body.code)
    return Response(status_code=204, headers=NO_STORE)


@router.post(
    "/users/verify-email", status_code=204,
    responses={204: {"description": "The address is verified."}, 400: INVALID_TOKEN,
               422: INVALID_BODY},
)
async def verify_email(body: VerifyIn, recovery: Recovery) -> Response:
    await recovery.verify_email(body.token, email=body.email)
    return Response(status_code=204, headers=NO_STORE)


@router.post(
    "/users/me/verify-email/resend", status_code=202,
    responses={202: {"model": Accepted}, 401: error("No valid bearer access token."),
               409: error("`email_already_verified`."), 429: RATE_LIMITED},
)
async def resend_verification(user: CurrentUser, recovery: Recovery) -> Response:
    """A new verification mail; the older link is void. Per user: 1 a minute, 5 an hour
    (`AUTHSVC_EMAIL_SEND_PER_MINUTE`, `AUTHSVC_EMAIL_SEND_PER_HOUR`)."""
    await recovery.resend_verification(user)
    return json_response(RESEND_ACCEPTED, status=202, headers=NO_STORE)
