"""An admin to act as: registered through the API, given the role in the database."""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any

import pytest_asyncio

from authsvc.composition import Components
from authsvc.db import transaction
from authsvc.identity.models import User
from authsvc.identity.service import IdentityService
from authsvc.security import jwt as tokens
from tests import flows
from tests.infra import Api


async def grant_roles(state: Components, user_id: str, roles: list[str]) -> None:
    async for session in transaction(state.sessions):
        identity = IdentityService(session, hasher=state.hasher, validator=state.validator,
                                   cache=state.user_cache, max_password_length=1024)
        user = await session.get(User, uuid.UUID(user_id))
        assert user is not None
        user.roles = roles
        await identity.changed(user)


def stepped_up(state: Components, access_token: str) -> str:
    """Test shortcut (documented): MFA enrolment is built elsewhere, so an access token with a
    fresh second factor is minted with the service's own codec from a real one."""
    claims = state.codec.decode(access_token, typ=tokens.ACCESS)
    for name in ("iss", "aud", "iat", "nbf"):
        claims.pop(name)
    claims.update(amr=["pwd", "mfa", "otp"], auth_time=int(time.time()),
                  jti=secrets.token_urlsafe(16))
    return state.codec.encode(claims)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest_asyncio.fixture
async def admin(api: Api, state: Components) -> dict[str, Any]:
    """{"user", "tokens", "headers" (plain admin), "mfa_headers" (recent step-up)}."""
    user = await flows.register(api)
    await grant_roles(state, user["id"], ["admin"])
    issued = await flows.login(api, user)
    return {
        "user": user,
        "tokens": issued,
        "headers": bearer(issued["access_token"]),
        "mfa_headers": bearer(stepped_up(state, issued["access_token"])),
    }


@pytest_asyncio.fixture
async def no_cooldown(state: Components) -> Any:
    """Five wrong passwords in a row, as fast as a test sends them, make a real lockout (the
    progressive delay between failures would otherwise refuse some of them first)."""
    before = state.protector.cooldown_base
    state.protector.cooldown_base = 0.0
    yield
    state.protector.cooldown_base = before


async def lock_out(api: Api, email: str) -> None:
    for _ in range(5):
        wrong = await flows.password_grant(api, email, "Wrong-Password-123!")
        assert wrong.status_code == 400, wrong.text
