"""Rebuilding the revocation list in Redis from PostgreSQL after Redis lost it (issue 20).

The rebuild reads the database in chunks from a cursor and writes each chunk as one script
call: every live entry comes back (across chunk boundaries, with a TTL until its token's expiry),
nothing expired does, and the list is marked complete only at the end. When several processes
find the list gone at once, the ones that waited for the revocation lock do not read it again.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from authsvc.composition import Components
from authsvc.kv import Keys
from authsvc.tokens import repository, revocations
from authsvc.tokens.repository import TokenRepository
from authsvc.tokens.revocations import RevocationList
from tests import flows, infra


async def add_revocations(state: Components, expiries: list[datetime]) -> list[str]:
    jtis = [f"rebuild-{uuid.uuid4().hex}" for _ in expiries]
    async with state.sessions() as session:
        repo = TokenRepository(session)
        for jti, expires_at in zip(jtis, expiries, strict=True):
            await repo.add_revocation(jti, expires_at, "test")
        await session.commit()
    return jtis


async def test_every_live_entry_comes_back_across_chunks(
    api: infra.Api, state: Components, service_client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(revocations, "RELOAD_CHUNK", 3)  # several chunks and a partial one
    now = datetime.now(UTC)
    live = await add_revocations(state, [now + timedelta(minutes=m) for m in range(1, 9)])
    expired = await add_revocations(state, [now - timedelta(minutes=1)] * 2)
    user = await flows.register(api)
    families = []
    for _ in range(4):
        tokens = await flows.login(api, user)
        families.append(flows_claims(tokens["refresh_token"])["sid"])
        response = await api.post("/revoke", data={"token": tokens["refresh_token"],
                                                   "token_type_hint": "refresh_token"},
                                  headers=flows.basic(*service_client))
        assert response.status_code == 200
    await infra.flush_keeping_claim(state.redis)

    await state.revocations.ensure_loaded()

    for minutes, jti in enumerate(live, start=1):
        ttl = await state.redis.ttl(Keys.revoked_jti(jti))
        assert minutes * 60 < ttl <= minutes * 60 + 61, (jti, ttl)  # until expiry (+60 s)
        assert await state.redis.get(Keys.revoked_jti(jti)) == b"reloaded"
    for jti in expired:
        assert not await state.redis.exists(Keys.revoked_jti(jti))
    for family in families:
        assert await state.redis.ttl(Keys.revoked_family(family)) > 0
    marker = await state.redis.get(Keys.revocations_loaded)
    assert not state.revocations.is_behind(marker)
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert (await flows.introspect(api, service_client, token))["active"] is False


async def test_the_list_is_marked_complete_only_after_its_last_chunk(
    state: Components, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(revocations, "RELOAD_CHUNK", 2)
    now = datetime.now(UTC)
    await add_revocations(state, [now + timedelta(minutes=5)] * 5)
    await infra.flush_keeping_claim(state.redis)
    seen: list[bytes | None] = []
    load = state.revocations._load

    async def spy(**kwargs):  # type: ignore[no-untyped-def]
        seen.append(await state.redis.get(Keys.revocations_loaded))
        return await load(**kwargs)

    monkeypatch.setattr(state.revocations, "_load", spy)
    await state.revocations.ensure_loaded()
    assert len(seen) >= 3 and seen == [None] * len(seen)  # no marker while chunks were written
    assert await state.redis.get(Keys.revocations_loaded) is not None


async def test_a_reload_whose_writes_redis_lost_is_not_marked_complete(
    api: infra.Api, state: Components, service_client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis flushed between two chunks (a FLUSHDB, a restart without persistence): the chunks
    written before it are gone, so the reload must not mark the list complete (that marker made
    every revoked token active again). No marker: the database keeps answering, and the next
    reload completes."""
    monkeypatch.setattr(revocations, "RELOAD_CHUNK", 2)
    user = await flows.register(api)
    tokens = await flows.login(api, user)
    revoked = await api.post("/revoke", data={"token": tokens["access_token"]},
                             headers=flows.basic(*service_client))
    assert revoked.status_code == 200
    await add_revocations(state, [datetime.now(UTC) + timedelta(minutes=5)] * 5)
    await infra.flush_keeping_claim(state.redis)
    load = state.revocations._load
    calls = 0

    async def flush_after_the_first_chunk(**kwargs):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        answer = await load(**kwargs)
        if calls == 1:
            await infra.flush_keeping_claim(state.redis)
        return answer

    monkeypatch.setattr(state.revocations, "_load", flush_after_the_first_chunk)
    await state.revocations.ensure_loaded()
    assert calls >= 2
    assert await state.redis.get(Keys.revocations_loaded) is None  # not complete
    assert (await flows.introspect(api, service_client, tokens["access_token"]))["active"] is False
    monkeypatch.setattr(state.revocations, "_load", load)
    await state.revocations.ensure_loaded()  # the next reload completes
    assert not state.revocations.is_behind(await state.redis.get(Keys.revocations_loaded))
    assert await state.redis.exists(Keys.revoked_jti(flows_claims(tokens["access_token"])["jti"]))
    assert (await flows.introspect(api, service_client, tokens["access_token"]))["active"] is False


async def test_processes_that_waited_for_the_lock_do_not_read_the_list_again(
    state: Components, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every worker finds the marker gone at once. One reloads; the others, once they get the
    revocation lock, find the list complete and answer from it."""
    await add_revocations(state, [datetime.now(UTC) + timedelta(minutes=5)] * 3)
    reads = []
    stream = TokenRepository.live_revocations

    def counted(self: TokenRepository, *chunk: int):  # type: ignore[no-untyped-def]
        reads.append(chunk)
        return stream(self, *chunk)

    monkeypatch.setattr(TokenRepository, "live_revocations", counted)
    workers = [state.revocations,
               *(RevocationList(state.redis, state.sessions) for _ in range(2))]
    await infra.flush_keeping_claim(state.redis)
    async with state.sessions() as in_flight:  # a revoking transaction holds the lock shared
        await in_flight.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"),
                                {"key": repository.REVOCATION_LOCK})
        reloads = [asyncio.ensure_future(w.ensure_loaded()) for w in workers]
        await asyncio.sleep(0.5)
        assert not any(r.done() for r in reloads)  # all of them wait for the lock
        await in_flight.rollback()
    await asyncio.wait_for(asyncio.gather(*reloads), timeout=30)
    assert len(reads) == 1
    assert not state.revocations.is_behind(await state.redis.get(Keys.revocations_loaded))


def flows_claims(token: str) -> dict:  # type: ignore[type-arg]
    from jose import jwt

    return dict(jwt.get_unverified_claims(token))
