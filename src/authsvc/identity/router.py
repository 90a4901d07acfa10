"""Account endpoints: registration, profile, password policy, password change."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from authsvc.deps import (
    CallerInfo,
    CurrentToken,
    CurrentUser,
    DbSession,
    Identity,
    State,
    password_login,
    rate_limit,
    recovery_service,
    require_recent_mfa,
)
from authsvc.errors import InvalidToken
from authsvc.identity import account
from authsvc.identity.schemas import (
    PasswordChange,
    PasswordPolicyOut,
    Registration,
    UserOut,
    user_body,
)
from authsvc.openapi import BEARER_ERRORS, REGISTRATION_ERRORS, error_responses
from authsvc.responses import NO_STORE, json_response

router = APIRouter(tags=["accounts"])


@router.get("/password-policy", response_model=PasswordPolicyOut)
async def password_policy(state: State) -> Response:
    return json_response(state.validator.describe())


@router.post("/users", status_code=201, response_model=UserOut, responses=REGISTRATION_ERRORS,
             dependencies=[rate_limit("register", "rate_limit_register")])
async def register(
    body: Registration, identity: Identity, state: State, session: DbSession
) -> Response:
    user = await identity.register(body.email, body.password, body.display_name)
    await state.audit.record("user_registered", session=session, user_id=user.id)
    # The verification mail leaves in the background once the account has committed.
    await recovery_service(state, identity).send_verification(user)
    return json_response(user_body(user), status=201, headers=NO_STORE)


@router.get("/users/me", response_model=UserOut, responses=error_responses(401, 429, 503))
async def me(token: CurrentToken, state: State) -> Response:
    """The caller's own profile, from the cache of its current version (no SQL once cached)."""
    assert token.view is not None  # CurrentToken is a user's token
    body = await state.users.profile(token.view)
    if body is None:
        raise InvalidToken("The access token's user is disabled or deleted.")
    return Response(body, media_type="application/json", headers=NO_STORE)


@router.post("/users/me/password", status_code=204, responses=BEARER_ERRORS)
async def change_password(
    body: PasswordChange, user: CurrentUser, token: CurrentToken, identity: Identity,
    state: State, client: CallerInfo,
) -> Response:
    """Needs a recent step-up when MFA is on; ends every other session and refresh family
    (browser sessions included: a password changed by the API signs them all out). A wrong
    `current_password` counts in the username's lockout and a per-account limit (429
    `temporarily_locked` past it, even for the right one)."""
    if user.mfa_enabled:
        await require_recent_mfa(token, state)
    await account.change_password(password_login(state, identity), state.ender, state.audit,
                                  user, body.current_password, body.new_password,
                                  body.with_device(client), keep_family=token.claims.get("sid"))
    return Response(status_code=204)
