"""FastAPI dependencies: the design's decorators (`@token_required`, `@admin_required`, ...)
as composable `Annotated` aliases, so route signatures read like the contract."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.admin.service import AdminService
from authsvc.caller import Caller
from authsvc.composition import Components
from authsvc.db import transaction
from authsvc.errors import (
    AuthError,
    BindingMismatch,
    Forbidden,
    InvalidToken,
    MissingToken,
    StepUpRequired,
)
from authsvc.identity.cache import UserView
from authsvc.identity.login import PasswordLogin
from authsvc.identity.models import User
from authsvc.identity.reauth import claims_time, is_recent, require_recent_authentication
from authsvc.identity.service import IdentityService
from authsvc.mfa.enrolment import Enrolment
from authsvc.mfa.login import MfaLogin
from authsvc.mfa.mail import EmailCodes
from authsvc.mfa.service import MfaService
from authsvc.net import client_address
from authsvc.paging import MAX_LIMIT
from authsvc.passkeys.service import PasskeyService
from authsvc.recovery.service import RecoveryDependencies, RecoveryService
from authsvc.tokens.grants import TokenRequest


def get_state(request: Request) -> Components:
    return request.app.state.authsvc  # type: ignore[no-any-return]


# The aliases use `async def` wrappers: FastAPI runs a plain `def` dependency in the thread
# pool, one thread hop (and a capacity-limiter round) per dependency per request; py-spy put
# that at ~12% of a worker under /introspect load.
async def _state(request: Request) -> Components:
    return request.app.state.authsvc  # type: ignore[no-any-return]


State = Annotated[Components, Depends(_state)]


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    async for session in transaction(get_state(request).sessions):
        yield session


# scope="function": the commit happens before the response is sent, never after.
DbSession = Annotated[AsyncSession, Depends(get_db, scope="function")]


DEVICE_COOKIE = "authsvc_device"


def get_caller(request: Request) -> Caller:
    """Who is asking: user agent, address, and the device token a browser keeps as the
    `authsvc_device` cookie (apps send theirs as a form or body field instead)."""
    state = get_state(request)
    ip = client_address(request, tuple(state.settings.trusted_proxies))
    request.state.client_ip = ip  # for the access log
    device = None
    if "cookie" in request.headers:
        secure = state.settings.secure_cookies
        device = request.cookies.get(f"__Host-{DEVICE_COOKIE}" if secure else DEVICE_COOKIE)
    return Caller(user_agent=request.headers.get("user-agent"), ip=ip, device=device)


async def _caller(request: Request) -> Caller:
    return get_caller(request)


CallerInfo = Annotated[Caller, Depends(_caller)]


# ---------------------------------------------------------------- the use cases
# Each request-scoped use case is built here, on the request's unit of work, from the
# components it uses; the faces (routers, pages, CLI) ask for them by these factories or
# the aliases below, and the services never see the container.

def get_identity(state: Components, session: AsyncSession) -> IdentityService:
    return IdentityService(
        session,
        hasher=state.hasher,
        validator=state.validator,
        cache=state.user_cache,
        max_password_length=state.settings.password_max_length,
        breached=state.breached,
        sessions=state.sessions,
    )


def password_login(state: Components, identity: IdentityService) -> PasswordLogin:
    """The one login rule: the API, the pages and MFA alike."""
    return PasswordLogin(identity, state.protector, state.stuffing, state.audit, state.devices,
                         require_verified_email=state.settings.require_verified_email)


def passkey_service(state: Components, login: PasswordLogin) -> PasskeyService:
    """404 `passkeys_disabled` while passkeys are off."""
    return PasskeyService(login.identity.session, state.passkeys, login)


def optional_passkeys(state: Components, login: PasswordLogin) -> PasskeyService | None:
    """The passkeys as a second factor: None while they are off."""
    return passkey_service(state, login) if state.passkeys is not None else None


def mfa_service(state: Components, identity: IdentityService) -> MfaService:
    login = password_login(state, identity)
    return mfa_on(state, login, optional_passkeys(state, login))


def mfa_on(state: Components, login: PasswordLogin,
           passkeys: PasskeyService | None) -> MfaService:
    session = login.identity.session
    email = EmailCodes(session, state.mfa, courier=state.courier, messages=state.messages,
                       limiter=state.limiter, settings=state.settings)
    return MfaService(session, login, state.mfa, email, state.settings, passkeys)


def mfa_login(state: Components, mfa: MfaService) -> MfaLogin:
    return MfaLogin(mfa, devices=state.devices, binding=state.binding, codec=state.codec)


def recovery_service(state: Components, identity: IdentityService) -> RecoveryService:
    deps = RecoveryDependencies(
        settings=state.settings, sessions=state.sessions, redis=state.redis, tasks=state.tasks,
        messages=state.messages, courier=state.courier, limiter=state.limiter,
        rates=state.rates, audit=state.audit, protector=state.protector, ender=state.ender,
    )
    return RecoveryService(identity.session, mfa_service(state, identity), deps,
                           reset_later=lambda canonical: send_reset(state, canonical))


async def send_reset(state: Components, canonical: str) -> None:
    """`RecoveryService.send_reset` in a unit of work of its own (the request has answered)."""
    async for session in transaction(state.sessions):
        await recovery_service(state, get_identity(state, session)).send_reset(canonical)


def admin_service(state: Components, identity: IdentityService, *, actor: str | None = None,
                  client_ip: str | None = None) -> AdminService:
    return AdminService(identity.session, identity, audit=state.audit, tokens=state.tokens,
                        clients=state.clients, protector=state.protector, actor=actor,
                        client_ip=client_ip)


def token_request(state: Components, form: dict[str, str], authorization: str | None,
                  caller: Caller, identity: IdentityService) -> TokenRequest:
    """One `POST /token` as a grant sees it, with the use cases on its unit of work."""
    login = password_login(state, identity)
    passkeys = optional_passkeys(state, login)
    return TokenRequest(form=form, authorization=authorization, caller=caller,
                        session=identity.session, identity=identity, login=login,
                        mfa=mfa_login(state, mfa_on(state, login, passkeys)), passkeys=passkeys)


async def _identity(state: State, session: DbSession) -> IdentityService:
    return get_identity(state, session)


Identity = Annotated[IdentityService, Depends(_identity)]


async def _login(state: State, identity: Identity) -> PasswordLogin:
    return password_login(state, identity)


Login = Annotated[PasswordLogin, Depends(_login)]


async def _mfa(state: State, identity: Identity) -> MfaService:
    return mfa_service(state, identity)


Mfa = Annotated[MfaService, Depends(_mfa)]


async def _enrolment(mfa: Mfa) -> Enrolment:
    return Enrolment(mfa)


Enrol = Annotated[Enrolment, Depends(_enrolment)]


async def _mfa_login(state: State, mfa: Mfa) -> MfaLogin:
    return mfa_login(state, mfa)


MfaLogins = Annotated[MfaLogin, Depends(_mfa_login)]


async def _passkeys(state: State, login: Login) -> PasskeyService:
    return passkey_service(state, login)


Passkeys = Annotated[PasskeyService, Depends(_passkeys)]


async def _recovery(state: State, identity: Identity) -> RecoveryService:
    return recovery_service(state, identity)


Recovery = Annotated[RecoveryService, Depends(_recovery)]



def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise MissingToken()
    return token.strip()


class TokenContext:
    """A verified access token: its claims, the token itself, and the user's current view."""

    def __init__(self, token: str, claims: dict[str, Any], view: UserView | None) -> None:
        self.token = token
        self.claims = claims
        self.view = view

    @property
    def user_id(self) -> str:
        return str(self.claims["sub"])


# Declares the `bearer` security scheme on every operation that needs a token (OpenAPI only:
# `bearer_token` below reads the header and answers RFC 6750's challenges itself).
bearer_scheme = HTTPBearer(auto_error=False, scheme_name="bearer")
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


async def require_token(request: Request, state: State, client: CallerInfo,
                        _scheme: Bearer = None) -> TokenContext:
    """`@token_required`: a valid, unrevoked access token of an active user, from its client."""
    token = bearer_token(request)
    try:
        claims, view = await state.introspector.verify_access(
            token, user_agent=client.user_agent, ip=client.ip
        )
    except BindingMismatch:
        await state.audit.record("binding_mismatch", client_ip=client.ip, where=request.url.path)
        raise
    if view is None:
        raise InvalidToken("This endpoint needs a user's access token.")
    request.state.user_id = view.id  # for the access log
    return TokenContext(token, claims, view)


CurrentToken = Annotated[TokenContext, Depends(require_token)]


async def require_user(token: CurrentToken, identity: Identity) -> User:
    user = await identity.get(token.user_id)
    if user is None or not user.is_active:
        raise InvalidToken("The access token's user is disabled or deleted.")
    return user


CurrentUser = Annotated[User, Depends(require_user)]


async def require_admin(token: CurrentToken) -> TokenContext:
    """`@admin_required`: the user's current roles (not the token's) include `admin`."""
    if token.view is None or "admin" not in token.view.roles:
        raise Forbidden("This operation needs the admin role.", code="insufficient_role")
    return token


Admin = Annotated[TokenContext, Depends(require_admin)]


async def _admin_service(admin: Admin, state: State, identity: Identity,
                         client: CallerInfo) -> AdminService:
    return admin_service(state, identity, actor=admin.user_id, client_ip=client.ip)


AdminOps = Annotated[AdminService, Depends(_admin_service)]


async def require_recent_mfa(token: CurrentToken, state: State) -> TokenContext:
    """`@mfa_required`: the token proves a second factor within the step-up window."""
    claims = token.claims
    recent = int(claims.get("auth_time") or 0) >= time.time() - state.settings.step_up_window
    if "mfa" not in claims.get("amr", []) or not recent:
        raise StepUpRequired()
    return token


RecentMfa = Annotated[TokenContext, Depends(require_recent_mfa)]


async def require_step_up_when_mfa(user: CurrentUser, token: CurrentToken, state: State) -> None:
    """Adding a factor to an account that has one already is as sensitive as removing one."""
    if user.mfa_enabled:
        await require_recent_mfa(token, state)


StepUpIfMfa = Depends(require_step_up_when_mfa)


async def require_recent_auth(request: Request, token: CurrentToken, state: State,
                              client: CallerInfo, identity: Identity) -> TokenContext:
    """Adding a factor (TOTP, e-mail codes, a passkey): the token's `auth_time` within
    `AUTHSVC_REAUTH_WINDOW`, a recent step-up, or `current_password` in the JSON body
    (checked as a login attempt: lockout, per-account limit); else 403
    `reauthentication_required` (ASVS 5.0 §7.5.1). One rule: identity/reauth.py."""
    if _recent_claims(state, token.claims):
        return token
    body = await _json_fields(request)
    password = body.get("current_password")
    if password is not None and (not isinstance(password, str) or len(password) > 4096):
        raise AuthError("current_password must be text of at most 4096 characters.", status=422)
    device = body.get("device_token")
    if isinstance(device, str) and device:
        client = Caller(client.user_agent, client.ip, client.client_id, device[:2048])
    user = await identity.get(token.user_id)
    if user is None or not user.is_active:
        raise InvalidToken("The access token's user is disabled or deleted.")
    await require_recent_authentication(
        state.settings, password_login(state, identity), user, auth_time=claims_time(token.claims),
        amr=list(token.claims.get("amr") or []), current_password=password, client=client,
        now=time.time())
    return token


def _recent_claims(state: Components, claims: dict[str, Any]) -> bool:
    return is_recent(state.settings, claims_time(claims), list(claims.get("amr") or []),
                     time.time())


async def _json_fields(request: Request) -> dict[str, Any]:
    """The JSON object of the body ({} when there is none); 422 for a body that is not one."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise AuthError("The request body is not valid JSON.", status=422) from None
    if not isinstance(parsed, dict):
        raise AuthError("The request body must be a JSON object.", status=422)
    return parsed


RecentAuth = Annotated[TokenContext, Depends(require_recent_auth)]

# Keyset paging's query parameters (the admin lists): `?cursor=...&limit=N`.
PageLimit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=200)]


def rate_limit(bucket: str, setting: str) -> Any:
    """`@rate_limit`: count this request against the client address's budget for `bucket`.

    `setting` names the `rate_limit_*` setting (e.g. "rate_limit_token": "30/60").
    """

    async def check(request: Request, state: State, client: CallerInfo) -> None:
        rate = state.rates[setting]
        await state.limiter.hit(bucket, client.ip or "-", rate)

    return Depends(check)
