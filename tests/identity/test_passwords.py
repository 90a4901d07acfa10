"""The hashing service: off the event loop, no silent truncation, rehash on login."""

from __future__ import annotations

import asyncio
import threading
import time

import bcrypt

from authsvc.security.passwords import HashingService
from tests import flows
from tests.infra import Api, unique_email


async def test_hashing_runs_off_the_event_loop() -> None:
    hasher = HashingService(10)
    loop_thread = threading.get_ident()
    seen: list[int] = []
    original = hasher._context.hash

    def spy(secret: str) -> str:
        seen.append(threading.get_ident())
        return original(secret)

    hasher._context.hash = spy  # type: ignore[method-assign]
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    task = asyncio.create_task(ticker())
    started = time.perf_counter()
    await asyncio.gather(*(hasher.hash_password("x" * 20) for _ in range(4)))
    elapsed = time.perf_counter() - started
    task.cancel()
    assert seen and all(ident != loop_thread for ident in seen)
    # The loop kept ticking while bcrypt ran.
    assert ticks >= elapsed / 0.005 * 0.3
    hasher.close()


async def test_passwords_longer_than_72_bytes_are_not_truncated() -> None:
    hasher = HashingService(4)
    base = "A" * 72
    stored = await hasher.hash_password(base + "-one")
    assert await hasher.verify_password(base + "-one", stored)
    assert not await hasher.verify_password(base + "-two", stored)
    assert not await hasher.verify_password(base, stored)
    # Multi-byte characters straddling byte 72 count too.
    emoji = "é" * 36
    stored = await hasher.hash_password(emoji + "Z")
    assert not await hasher.verify_password(emoji + "Y", stored)
    hasher.close()


async def test_legacy_bcrypt_hashes_verify_and_are_upgraded(api: Api, state) -> None:
    user = await flows.register(api)
    legacy = bcrypt.hashpw(user["password"].encode(), bcrypt.gensalt(4)).decode()
    from authsvc.db import transaction
    from authsvc.deps import get_identity

    async for session in transaction(state.sessions):
        identity = get_identity(state, session)
        row = await identity.get(user["id"])
        row.password_hash = legacy
    await flows.login(api, user)
    async for session in transaction(state.sessions):
        row = await get_identity(state, session).get(user["id"])
        assert row.password_hash.startswith("$bcrypt-sha256$")
        assert not state.hasher.needs_rehash(row.password_hash)


async def test_outdated_cost_is_rehashed_on_login(api: Api, state) -> None:
    user = await flows.register(api)
    stronger = HashingService(state.settings.bcrypt_rounds + 1)
    old_rounds_hasher = state.hasher
    state.hasher = stronger
    try:
        await flows.login(api, user)
    finally:
        state.hasher = old_rounds_hasher
        stronger.close()
    from authsvc.db import transaction
    from authsvc.deps import get_identity

    async for session in transaction(state.sessions):
        row = await get_identity(state, session).get(user["id"])
        assert f",r={state.settings.bcrypt_rounds + 1}$" in row.password_hash


async def test_a_megabyte_password_is_refused_fast(api: Api) -> None:
    started = time.perf_counter()
    huge = "A1!a" * 250_000
    response = await api.post("/users", json={"email": unique_email(), "password": huge})
    assert response.status_code in (413, 422)
    response = await flows.password_grant(api, unique_email(), "A1!a" * 2000)
    assert response.status_code in (400, 422)
    assert time.perf_counter() - started < 1.0


async def test_unknown_user_costs_a_real_verification(api: Api, state) -> None:
    before = state.hasher.verifications
    await flows.password_grant(api, unique_email("ghost"), "Whatever-123-x")
    assert state.hasher.verifications == before + 1
