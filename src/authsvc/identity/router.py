"""Account endpoints: registration, profile, password policy, password change."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from authsvc.deps import CurrentToken, CurrentUser, DbSession, Identity, State, rate_limit
from authsvc.errors import AuthError
from authsvc.identity.schemas import PasswordChange, Registration, user_body
from authsvc.mfa.repository import MfaRepository
from authsvc.openapi import BEARER_ERRORS, REGISTRATION_ERRORS, error_responses
from authsvc.recovery.service import RecoveryService
from authsvc.responses import NO_STORE, json_response

router = APIRouter(tags=["accounts"])


@router.get("/password-policy")
async def password_policy(state: State) -> Response:
    return json_response(state.validator.describe())


@router.post("/users", status_code=201, responses=REGISTRATION_ERRORS,
             dependencies=[rate_limit("register", "rate_limit_register")])
async def register(
    body: Registration, identity: Identity, state: State, session: DbSession
) -> Response:
    user = await identity.register(body.email, body.password, body.display_name)
    await state.audit.record("user_registered", session=session, user_id=user.id)
    # The verification mail leaves in the background once the account has committed.
    await RecoveryService(session, state, identity).send_verification(user)
    return json_response(user_body(user), status=201, headers=NO_STORE)


@router.get("/users/me", responses=error_responses(401, 429, 503))
async def me(user: CurrentUser, session: DbSession) -> Response:
    left = await MfaRepository(session).recovery_codes_left(user.id)
    return json_response(user_body(user, recovery_codes_left=left), headers=NO_STORE)


@router.post("/users/me/password", status_code=204, responses=BEARER_ERRORS)
async def change_password(
    body: PasswordChange, user: CurrentUser, token: CurrentToken, identity: Identity,
    state: State, session: DbSession,
) -> Response:
    """Needs a recent step-up when MFA is on; ends every other session and refresh family."""
    if user.mfa_enabled:
        from authsvc.deps import require_recent_mfa

        await require_recent_mfa(token, state)
    if not await identity.verify_current_password(user, body.current_password):
        raise AuthError("The current password is incorrect.", code="invalid_password",
                        status=400)
    await identity.set_password(user, body.new_password)
    await state.tokens.revoke_user_families(session, user.id, "password_changed",
                                            keep=token.claims.get("sid"))
    await state.audit.record("password_changed", session=session, user_id=user.id)
    return Response(status_code=204)
