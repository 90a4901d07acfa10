"""MFA endpoints: enrolment (TOTP, e-mail, recovery codes), the login challenge and step-up.
JSON in and out; `Enrolment`, `MfaLogin` and `MfaService` do the work."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from authsvc.deps import (
    CallerInfo,
    CurrentToken,
    CurrentUser,
    Enrol,
    Mfa,
    MfaLogins,
    RecentAuth,
    State,
    StepUpIfMfa,
    rate_limit,
    require_recent_mfa,
)
from authsvc.errors import AuthError
from authsvc.mfa.mail import LOGIN
from authsvc.mfa.schemas import (
    ChallengeIn,
    CodeIn,
    CodeSentOut,
    RecoveryCodesOut,
    SecondFactorIn,
    StepUpChallengeIn,
    TotpSetupOut,
)
from authsvc.mfa.service import MfaService, PasskeysOff
from authsvc.openapi import BEARER_ERRORS
from authsvc.passkeys.challenges import STEP_UP
from authsvc.responses import NO_STORE, json_response
from authsvc.tokens.schemas import TokenOut

router = APIRouter(prefix="/mfa", tags=["mfa"], responses=BEARER_ERRORS)


def passkey_ttl(mfa: MfaService) -> int:
    return mfa.settings.webauthn_challenge_ttl




# ------------------------------------------------------------------------- TOTP
@router.post("/totp/setup", dependencies=[StepUpIfMfa], response_model=TotpSetupOut)
async def totp_setup(user: CurrentUser, enrol: Enrol, _recent: RecentAuth) -> Response:
    """Needs a recent authentication (or `current_password` in the body): 403
    `reauthentication_required` otherwise."""
    setup = await enrol.totp_setup(user)
    return json_response({"secret": setup.secret, "otpauth_uri": setup.otpauth_uri,
                          "qr_svg": setup.qr_svg}, headers=NO_STORE)


@router.get("/totp/qr.png")
async def totp_qr(user: CurrentUser, enrol: Enrol) -> Response:
    png = await enrol.totp_qr_png(user)
    return Response(png, media_type="image/png", headers=NO_STORE)


@router.post("/totp/confirm", dependencies=[StepUpIfMfa], response_model=RecoveryCodesOut)
async def totp_confirm(body: CodeIn, user: CurrentUser, enrol: Enrol) -> Response:
    codes = await enrol.totp_confirm(user, body.code)
    return json_response({"recovery_codes": codes}, headers=NO_STORE)


@router.delete("/totp", status_code=204, dependencies=[Depends(require_recent_mfa)])
async def totp_disable(user: CurrentUser, enrol: Enrol) -> Response:
    await enrol.totp_disable(user)
    return Response(status_code=204)


# ----------------------------------------------------------------------- e-mail
@router.post("/email/enable", dependencies=[StepUpIfMfa], response_model=CodeSentOut)
async def email_enable(user: CurrentUser, enrol: Enrol, _recent: RecentAuth) -> Response:
    """Needs a recent authentication (or `current_password` in the body), as TOTP set-up."""
    expires_in = await enrol.email_enable(user)
    return json_response({"method": "email", "expires_in": expires_in}, headers=NO_STORE)


@router.post("/email/confirm", status_code=204, dependencies=[StepUpIfMfa])
async def email_confirm(body: CodeIn, user: CurrentUser, enrol: Enrol) -> Response:
    await enrol.email_confirm(user, body.code)
    return Response(status_code=204)


@router.delete("/email", status_code=204, dependencies=[Depends(require_recent_mfa)])
async def email_disable(user: CurrentUser, enrol: Enrol) -> Response:
    await enrol.email_disable(user)
    return Response(status_code=204)


# --------------------------------------------------------------- recovery codes
@router.post("/recovery-codes", dependencies=[Depends(require_recent_mfa)],
             response_model=RecoveryCodesOut)
async def recovery_codes(user: CurrentUser, enrol: Enrol) -> Response:
    codes = await enrol.regenerate_recovery_codes(user)
    return json_response({"recovery_codes": codes}, headers=NO_STORE)


# ------------------------------------------------------------ login and step-up
@router.post("/challenge", dependencies=[rate_limit("mfa_challenge", "rate_limit_mfa_challenge")],
             response_model=CodeSentOut)
async def challenge(body: ChallengeIn, mfa: Mfa, logins: MfaLogins,
                    client: CallerInfo) -> Response:
    """Mail a code for a pending MFA login (the `mfa_token` of a 403 `mfa_required`); for
    `webauthn`, the request options (`PublicKeyCredentialRequestOptionsJSON`) to answer."""
    if body.method == "webauthn":
        options = await logins.passkey_options(body.mfa_token, client)
        return json_response({"method": "webauthn", "expires_in": passkey_ttl(mfa),
                              "options": options}, headers=NO_STORE)
    expires_in = await logins.send_email_code(body.mfa_token, client)
    return json_response({"method": "email", "expires_in": expires_in}, headers=NO_STORE)


@router.post("/step-up/challenge", response_model=CodeSentOut,
             dependencies=[rate_limit("mfa_challenge", "rate_limit_mfa_challenge")])
async def step_up_challenge(body: StepUpChallengeIn, user: CurrentUser, mfa: Mfa) -> Response:
    """Mail a code for a step-up of a signed-in user with e-mail MFA on; for `webauthn`, the
    request options listing the user's passkeys."""
    if body.method == "webauthn":
        if mfa.passkeys is None:
            raise PasskeysOff()
        options = await mfa.passkeys.factor_options(user, STEP_UP)
        return json_response({"method": "webauthn", "expires_in": passkey_ttl(mfa),
                              "options": options}, headers=NO_STORE)
    if not user.email_mfa_enabled:
        raise AuthError("E-mail codes are not on for this account.", code="invalid_request")
    expires_in = await mfa.email.send(user, LOGIN)
    return json_response({"method": "email", "expires_in": expires_in}, headers=NO_STORE)


@router.post("/step-up", response_model=TokenOut)
async def step_up(body: SecondFactorIn, user: CurrentUser, token: CurrentToken, mfa: Mfa,
                  state: State, client: CallerInfo) -> Response:
    """A fresh access token whose `amr` has `mfa` and whose `auth_time` is now (RFC 8176)."""
    if not user.mfa_enabled and body.method != "webauthn":  # a passkey is a factor of its own
        raise AuthError("Turn on a second factor first.", code="mfa_not_enabled")
    amr = await mfa.verify_guarded(user, body.method, body.proof, body.with_device(client),
                                   where="step_up")
    body_out = state.tokens.issue_step_up(user, token.claims, amr, client)
    await state.audit.record("mfa_step_up", user_id=user.id, client_ip=client.ip,
                             method=body.method)
    return json_response(body_out, headers=NO_STORE)

