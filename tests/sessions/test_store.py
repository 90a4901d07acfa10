"""The Redis session store: ids, encryption at rest, timeouts, rotation and per-user revocation."""

import asyncio
import hashlib
import re
from typing import Any

import pytest
from redis.asyncio import Redis

from authsvc.kv import Keys
from authsvc.security.crypto import Encryptor
from authsvc.sessions import Session, SessionStore

IDLE = 1800  # as the `store` fixture
ABSOLUTE = 43_200
Clock = Any  # the fixture's settable clock: `.now`, `.advance(seconds)`


def key_of(prefix: str, sid: str) -> str:
    return prefix + Keys.session(hashlib.sha256(sid.encode()).hexdigest())


async def test_create_then_load_returns_the_payload(store: SessionStore) -> None:
    sid, created = await store.create(
        {"user_id": "u1", "amr": ["pwd"], "user_agent": "UA", "ip": "192.0.2.1", "user_version": 3}
    )
    loaded = await store.load(sid)
    assert loaded is not None
    assert loaded.user_id == "u1" and loaded.amr == ["pwd"] and loaded.user_version == 3
    assert loaded.csrf_token == created.csrf_token and len(created.csrf_token) == 43
    assert loaded.user_agent == "UA" and loaded.ip == "192.0.2.1"


async def test_the_id_is_256_random_bits(store: SessionStore) -> None:
    sids = {(await store.create())[0] for _ in range(20)}
    assert len(sids) == 20
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43}", sid) for sid in sids)


async def test_unknown_and_malformed_ids_load_nothing(store: SessionStore) -> None:
    for sid in (None, "", "x", "a" * 43, "a" * 44, "../../etc", "é" * 43, "a" * 10_000):
        assert await store.load(sid) is None


async def test_redis_holds_neither_the_id_nor_readable_contents(
    store: SessionStore, redis: Redis, prefix: str
) -> None:
    sid, session = await store.create({"user_id": "user-7f3a", "ip": "198.51.100.9"})
    keys = [key.decode() async for key in redis.scan_iter(match=f"{prefix}*")]
    assert keys and not any(sid in key for key in keys)
    raw = await redis.get(key_of(prefix, sid))
    assert raw is not None
    for secret in (b"user-7f3a", session.csrf_token.encode(), b"198.51.100.9", sid.encode()):
        assert secret not in raw


async def test_a_payload_under_another_key_does_not_decrypt(
    store: SessionStore, redis: Redis, prefix: str, clock: Clock
) -> None:
    sid, _ = await store.create({"user_id": "u1"})
    other = SessionStore(
        redis, Encryptor(b"o" * 40, purpose="session"), IDLE, ABSOLUTE, clock, key_prefix=prefix
    )
    assert await other.load(sid) is None
    assert await redis.exists(key_of(prefix, sid)) == 0


async def test_a_tampered_payload_is_refused(
    store: SessionStore, redis: Redis, prefix: str
) -> None:
    sid, _ = await store.create({"user_id": "u1"})
    raw = bytearray(await redis.get(key_of(prefix, sid)))
    raw[30] = ord("A") if raw[30] != ord("A") else ord("B")
    await redis.set(key_of(prefix, sid), bytes(raw))
    assert await store.load(sid) is None


async def test_create_refuses_unknown_fields_and_timestamps(store: SessionStore) -> None:
    with pytest.raises(TypeError):
        await store.create({"is_admin": True})
    with pytest.raises(TypeError):
        await store.create({"created_at": 0})


async def test_idle_timeout(store: SessionStore, clock: Clock) -> None:
    sid, _ = await store.create({"user_id": "u1"})
    clock.advance(IDLE - 1)
    assert await store.load(sid) is not None  # activity restarts the idle clock
    clock.advance(IDLE - 1)
    assert await store.load(sid) is not None
    clock.advance(IDLE)
    assert await store.load(sid) is None
    clock.now -= IDLE  # the session is gone, not merely hidden
    assert await store.load(sid) is None


async def test_absolute_timeout_holds_despite_activity(store: SessionStore, clock: Clock) -> None:
    sid, _ = await store.create({"user_id": "u1"})
    for _ in range(ABSOLUTE // (IDLE - 60)):
        clock.advance(IDLE - 60)
        assert await store.load(sid) is not None
    clock.advance(ABSOLUTE)
    assert await store.load(sid) is None


async def test_load_touches_last_seen_and_the_redis_ttl(
    store: SessionStore, clock: Clock, redis: Redis, prefix: str
) -> None:
    sid, created = await store.create({"user_id": "u1"})
    assert 0 < await redis.ttl(key_of(prefix, sid)) <= IDLE
    clock.advance(100)
    loaded = await store.load(sid)
    assert loaded is not None and loaded.last_seen == created.last_seen + 100
    clock.advance(ABSOLUTE - 150)  # less absolute lifetime left than idle time
    store.idle_timeout = ABSOLUTE
    await store.load(sid)
    assert 0 < await redis.ttl(key_of(prefix, sid)) <= 50


async def test_save_persists_changes(store: SessionStore) -> None:
    sid, session = await store.create()
    session.flash("Saved.")
    session.mfa_pending = {"mfa_token": "t", "methods": ["totp"]}
    assert await store.save(sid, session)
    loaded = await store.load(sid)
    assert loaded is not None and loaded.mfa_pending == {"mfa_token": "t", "methods": ["totp"]}
    assert loaded.pop_flashes() == [{"level": "info", "text": "Saved."}]
    assert loaded.flashes == []


async def test_save_does_not_revive_a_destroyed_session(store: SessionStore) -> None:
    sid, session = await store.create({"user_id": "u1"})
    await store.destroy(sid)
    assert not await store.save(sid, session)
    assert await store.load(sid) is None


async def test_rotate_gives_a_new_id_and_kills_the_old_one(store: SessionStore) -> None:
    sid, session = await store.create({"user_agent": "UA"})
    new_sid = await store.rotate(sid)
    assert new_sid is not None and new_sid != sid
    assert await store.load(sid) is None
    moved = await store.load(new_sid)
    assert moved is not None and moved.csrf_token == session.csrf_token
    assert moved.user_agent == "UA" and moved.created_at == session.created_at


async def test_rotate_with_a_new_payload_signs_in(store: SessionStore) -> None:
    sid, session = await store.create()
    session.user_id, session.amr = "u1", ["pwd"]
    new_sid = await store.rotate(sid, session)
    assert new_sid is not None
    assert await store.load(sid) is None
    assert [s.user_id for _, s in await store.list_for_user("u1")] == ["u1"]
    assert (await store.load(new_sid)).amr == ["pwd"]  # type: ignore[union-attr]


async def test_rotate_of_a_dead_session_gives_nothing(store: SessionStore, clock: Clock) -> None:
    assert await store.rotate("a" * 43) is None
    sid, _ = await store.create()
    clock.advance(IDLE)
    assert await store.rotate(sid) is None


async def test_an_old_id_stays_dead_after_repeated_rotation(store: SessionStore) -> None:
    sid, _ = await store.create({"user_id": "u1"})
    seen = [sid]
    for _ in range(3):
        seen.append(await store.rotate(seen[-1]))  # type: ignore[arg-type]
    for old in seen[:-1]:
        assert await store.load(old) is None
    assert await store.load(seen[-1]) is not None
    assert len(await store.list_for_user("u1")) == 1


async def test_destroy_ends_the_session(store: SessionStore, redis: Redis, prefix: str) -> None:
    sid, _ = await store.create({"user_id": "u1"})
    await store.destroy(sid)
    assert await store.load(sid) is None
    assert await store.list_for_user("u1") == []
    assert await redis.scard(prefix + Keys.user_sessions("u1")) == 0
    await store.destroy(sid)  # idempotent
    await store.destroy(None)


async def test_list_for_user_shows_handles_not_ids(store: SessionStore, clock: Clock) -> None:
    first, _ = await store.create({"user_id": "u1", "user_agent": "phone"})
    clock.advance(10)
    second, _ = await store.create({"user_id": "u1", "user_agent": "laptop"})
    await store.create({"user_id": "u2"})
    listed = await store.list_for_user("u1")
    assert [s.user_agent for _, s in listed] == ["laptop", "phone"]  # most recent first
    handles = [handle for handle, _ in listed]
    assert handles == [store.handle(second), store.handle(first)]
    for handle in handles:
        assert len(handle) == 16 and handle not in (first, second)
        assert handle not in hashlib.sha256(first.encode()).hexdigest()
        assert handle not in hashlib.sha256(second.encode()).hexdigest()


async def test_list_for_user_drops_timed_out_sessions(store: SessionStore, clock: Clock) -> None:
    await store.create({"user_id": "u1"})
    clock.advance(IDLE - 10)
    recent, _ = await store.create({"user_id": "u1"})
    clock.advance(20)
    assert [h for h, _ in await store.list_for_user("u1")] == [store.handle(recent)]


async def test_destroy_for_user_keeps_only_the_exception(store: SessionStore) -> None:
    keep, _ = await store.create({"user_id": "u1"})
    others = [(await store.create({"user_id": "u1"}))[0] for _ in range(3)]
    bystander, _ = await store.create({"user_id": "u2"})
    assert await store.destroy_for_user("u1", except_sid=keep) == 3
    for sid in others:
        assert await store.load(sid) is None
    assert await store.load(keep) is not None
    assert await store.load(bystander) is not None
    assert await store.destroy_for_user("u1") == 1
    assert await store.load(keep) is None
    assert await store.destroy_for_user("nobody") == 0


async def test_destroy_by_handle_only_for_the_owner(store: SessionStore) -> None:
    mine, _ = await store.create({"user_id": "u1"})
    theirs, _ = await store.create({"user_id": "u2"})
    assert not await store.destroy_by_handle("u1", store.handle(theirs))
    assert await store.load(theirs) is not None
    assert not await store.destroy_by_handle("u1", "é")
    assert await store.destroy_by_handle("u1", store.handle(mine))
    assert await store.load(mine) is None


async def test_sessions_are_json_round_trippable() -> None:
    session = Session(csrf_token="t", created_at=1.0, last_seen=2.0, user_id="u", amr=["pwd"])
    assert Session.from_json(session.to_json()) == session
    newer = b'{"csrf_token":"t","created_at":1,"last_seen":1,"new":1}'
    assert Session.from_json(newer).user_id is None
    with pytest.raises(ValueError):
        Session.from_json(b"[]")


async def test_store_needs_positive_timeouts(redis: Redis, encryptor: Encryptor) -> None:
    with pytest.raises(ValueError):
        SessionStore(redis, encryptor, 0, 10)


async def test_concurrent_rotations_leave_exactly_one_live_id(store: SessionStore) -> None:
    sid, _ = await store.create({"user_id": "u1"})
    results = await asyncio.gather(*(store.rotate(sid) for _ in range(5)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert await store.load(sid) is None
    assert [h for h, _ in await store.list_for_user("u1")] == [store.handle(winners[0])]


async def test_concurrent_loads_and_saves_do_not_fail(store: SessionStore) -> None:
    sid, session = await store.create({"user_id": "u1"})
    session.flash("hello")
    await asyncio.gather(*(store.load(sid) for _ in range(10)), store.save(sid, session))
    loaded = await store.load(sid)
    assert loaded is not None and loaded.user_id == "u1"
