"""Passkey endpoints (CONTRACT "Passkeys"): registration and the list (Bearer), passwordless
sign-in (public). JSON in and out; `PasskeyService` does the work."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends
from starlette.responses import Response

from authsvc.deps import (
    CallerInfo,
    CurrentToken,
    CurrentUser,
    Login,
    Passkeys,
    State,
    StepUpIfMfa,
    passkey_service,
    rate_limit,
    require_recent_mfa,
)
from authsvc.identity.reauth import claims_time, require_recent_authentication
from authsvc.openapi import BEARER_ERRORS, PUBLIC_JSON_ERRORS
from authsvc.passkeys.schemas import (
    CreationOptionsOut,
    LoginIn,
    LoginOptionsIn,
    PasskeyOut,
    RegisterIn,
    RegisterOptionsIn,
    RequestOptionsOut,
)
from authsvc.passkeys.service import passkey_body
from authsvc.responses import NO_STORE, json_response
from authsvc.tokens.grants.webauthn import passkey_login
from authsvc.tokens.schemas import TokenOut

router = APIRouter(tags=["passkeys"])


SignInLimit = rate_limit("webauthn", "rate_limit_token")


@router.post("/webauthn/register/options", dependencies=[StepUpIfMfa], responses=BEARER_ERRORS,
             response_model=CreationOptionsOut)
async def register_options(
    user: CurrentUser, token: CurrentToken, passkeys: Passkeys, state: State,
    client: CallerInfo, body: Annotated[RegisterOptionsIn | None, Body()] = None,
) -> Response:
    """`PublicKeyCredentialCreationOptionsJSON`; adding a factor needs a recent authentication
    (the token's `auth_time`, a step-up, or `current_password`)."""
    await require_recent_authentication(
        state.settings, passkeys.login, user, auth_time=claims_time(token.claims),
        amr=list(token.claims.get("amr", [])),
        current_password=body.current_password if body else None, client=client)
    return json_response(await passkeys.registration_options(user), headers=NO_STORE)


@router.post("/webauthn/register/verify", status_code=201, responses=BEARER_ERRORS,
             response_model=PasskeyOut)
async def register_verify(body: RegisterIn, user: CurrentUser, passkeys: Passkeys,
                          client: CallerInfo) -> Response:
    passkey = await passkeys.register(user, body.credential, body.name, client)
    out = passkey_body(passkey)
    return json_response({k: out[k] for k in ("id", "name", "created_at")}, status=201,
                         headers=NO_STORE)


@router.get("/users/me/passkeys", responses=BEARER_ERRORS, response_model=list[PasskeyOut])
async def list_passkeys(user: CurrentUser, passkeys: Passkeys) -> Response:
    return json_response([passkey_body(p) for p in await passkeys.list(user)], headers=NO_STORE)


@router.delete("/users/me/passkeys/{passkey_id}", status_code=204,
               dependencies=[Depends(require_recent_mfa)], responses=BEARER_ERRORS)
async def delete_passkey(passkey_id: str, user: CurrentUser, passkeys: Passkeys,
                         client: CallerInfo) -> Response:
    await passkeys.remove(user, passkey_id, client)
    return Response(status_code=204)


@router.post("/webauthn/login/options", dependencies=[SignInLimit], responses=PUBLIC_JSON_ERRORS,
             response_model=RequestOptionsOut)
async def login_options(passkeys: Passkeys,
                        body: Annotated[LoginOptionsIn | None, Body()] = None) -> Response:
    """`PublicKeyCredentialRequestOptionsJSON` plus its `challenge_id` (5 minutes, once)."""
    options, challenge = await passkeys.login_options(body.username if body else None)
    return json_response({**options, "challenge_id": challenge}, headers=NO_STORE)


@router.post("/webauthn/login/verify", dependencies=[SignInLimit], responses=PUBLIC_JSON_ERRORS,
             response_model=TokenOut)
async def login_verify(body: LoginIn, state: State, login: Login,
                       client: CallerInfo) -> Response:
    """The `/token` success body; `amr` has `hwk` or `swk`, and `user` + `mfa` after user
    verification (RFC 8176)."""
    body_out = await passkey_login(state.tokens, state.audit, passkey_service(state, login),
                                   client, body.challenge_id, body.credential)
    return json_response(body_out, headers=NO_STORE)
