"""A password reset takes typed second factors only: a passkey is neither offered nor accepted
there (it has no reset challenge to answer), and the MFA login lists it."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from authsvc.db import transaction
from authsvc.passkeys.models import Passkey
from authsvc.passkeys.repository import PasskeyRepository
from tests import flows
from tests.mfa.helpers import World, enrol_totp, mfa_token_for, open_world
from tests.recovery.helpers import PUBLIC_URL, reset, reset_token_for
from tests.smtp_server import SmtpSink


@pytest_asyncio.fixture
async def world(make_settings: Any, smtp_sink: SmtpSink) -> AsyncIterator[World]:
    async with open_world(make_settings, smtp_sink, public_url=PUBLIC_URL) as opened:
        yield opened


async def store_passkey(world: World, user_id: str) -> None:
    async for session in transaction(world.state.sessions):
        assert await PasskeyRepository(session).add(Passkey(
            user_id=uuid.UUID(user_id), credential_id=secrets.token_bytes(32),
            public_key=secrets.token_bytes(77), sign_count=0, transports=["internal"],
            name="Laptop", device_type="single_device", backed_up=False))


async def test_a_reset_neither_lists_nor_takes_a_passkey(world: World) -> None:
    user = await flows.register(world.api)
    await enrol_totp(world, user)
    await store_passkey(world, user["id"])
    mfa = await flows.password_grant(world.api, user["email"], user["password"])
    assert mfa.json()["mfa_methods"] == ["totp", "webauthn", "recovery_code"]
    assert await mfa_token_for(world.api, user)

    token = await reset_token_for(world.api, world.sink, user["email"])
    missing = await reset(world.api, token)
    assert missing.status_code == 400
    assert missing.json()["mfa_methods"] == ["totp", "recovery_code"]
    refused = await reset(world.api, token, method="webauthn", code='{"id": "x"}')
    assert refused.status_code == 400 and refused.json()["error"] == "mfa_required"
