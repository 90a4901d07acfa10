"""Nothing revoked comes back (issue 13, items 1 and 2).

- A Redis restored from an older snapshot (SAVE, copy the dump, revoke, restart from the old
  dump) brings back its "list complete" marker with the old data: the high-water mark in that
  marker is behind PostgreSQL's, so the list is reloaded, and until it is complete the
  database answers, in a process that saw the revocations and in one started after the restore.
- While that reload runs (here: held up by a revoking transaction in flight), the database
  answers at once: the revoked token is inactive, and nobody waits for the reload.
- A revocation racing a Redis data loss is never lost: a reload between the revocation's
  statements and its commit waits for the commit (deterministic, with a commit slowed by a
  trigger of the test's own), and a storm of revocations against repeated FLUSHALLs leaves
  every acknowledged revocation in force.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from authsvc.kv import Keys
from authsvc.main import create_app
from tests import flows, infra
from tests.faults.conftest import new_client

pytestmark = pytest.mark.slow


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def revoke(api: infra.Api, client: tuple[str, str], token: str, hint: str = "") -> int:
    data = {"token": token, **({"token_type_hint": hint} if hint else {})}
    return (await api.post("/revoke", data=data, headers=flows.basic(*client))).status_code


def restore(redis: infra.RedisServer, snapshot: str) -> None:
    """Restart `redis` from `snapshot` (its dump as it was when the snapshot was taken)."""
    redis.stop()  # no save on shutdown (--save "")
    shutil.copy(snapshot, os.path.join(redis.dir, "dump.rdb"))
    redis.start()


async def test_a_redis_restored_from_an_older_snapshot_resurrects_nothing(
    make_settings, own_redis, tmp_path
) -> None:
    settings = make_settings(redis_url=own_redis.url)
    app = create_app(settings)
    async with infra.running(app), infra.Api(app) as api:
        state = app.state.authsvc
        client = await new_client(state)
        user = await flows.register(api)
        one, two = await flows.login(api, user), await flows.login(api, user)
        assert (await flows.introspect(api, client, one["access_token"]))["active"]
        await state.revocations.ensure_loaded()  # the first answers came from the database
        await state.redis.execute_command("SAVE")
        snapshot = str(tmp_path / "dump.rdb")
        shutil.copy(os.path.join(own_redis.dir, "dump.rdb"), snapshot)

        assert await revoke(api, client, one["access_token"]) == 200
        assert await revoke(api, client, two["refresh_token"], "refresh_token") == 200
        revoked = [one["access_token"], two["access_token"], two["refresh_token"]]
        for token in revoked:
            assert (await flows.introspect(api, client, token))["active"] is False

        restore(own_redis, snapshot)
        raw = aioredis.Redis.from_url(own_redis.url)
        try:  # the old marker came back with the old data
            assert await raw.get(Keys.revocations_loaded) is not None
            assert not await raw.exists(Keys.revoked_jti(flows_jti(one["access_token"])))
        finally:
            await raw.aclose()
        for _ in range(10):
            for token in revoked:
                assert (await flows.introspect(api, client, token))["active"] is False, token
        me = await api.get("/users/me", headers=bearer(one["access_token"]))
        assert me.status_code == 401
        assert (await flows.refresh(api, two["refresh_token"])).status_code == 400

    # A worker started after the restore knows the mark from PostgreSQL before its first answer.
    restore(own_redis, snapshot)
    fresh = create_app(settings)
    async with infra.running(fresh), infra.Api(fresh) as api:
        for token in revoked:
            assert (await flows.introspect(api, client, token))["active"] is False, token


def flows_jti(token: str) -> str:
    from jose import jwt

    return str(jwt.get_unverified_claims(token)["jti"])


async def test_the_database_answers_while_the_reload_waits(
    make_settings, own_redis, own_postgres, own_database, tmp_path
) -> None:
    """The reload waits for a revoking transaction in flight (it holds the revocation lock
    shared); meanwhile introspection asks the database, so the revoked token is inactive at
    once and a live one active, with nobody waiting for the reload."""
    from authsvc.tokens import repository

    lock_key = getattr(repository, "REVOCATION_LOCK", 1)  # (code before the mark had none)
    app = create_app(make_settings(database_url=own_database, redis_url=own_redis.url,
                                   introspection_cache_ttl=0))
    async with infra.running(app), infra.Api(app) as api:
        state = app.state.authsvc
        client = await new_client(state)
        tokens = await flows.login(api, await flows.register(api))
        live = await flows.login(api, await flows.register(api))
        assert (await flows.introspect(api, client, tokens["access_token"]))["active"]
        await state.revocations.ensure_loaded()
        await state.redis.execute_command("SAVE")
        snapshot = str(tmp_path / "dump.rdb")
        shutil.copy(os.path.join(own_redis.dir, "dump.rdb"), snapshot)
        assert await revoke(api, client, tokens["access_token"]) == 200
        restore(own_redis, snapshot)

        in_flight = await asyncpg.connect(own_postgres.dsn(own_database.rsplit("/", 1)[1]))
        try:
            await in_flight.execute("BEGIN")
            await in_flight.execute("SELECT pg_advisory_xact_lock_shared($1)", lock_key)
            revoked = [asyncio.ensure_future(flows.introspect(api, client, tokens["access_token"]))
                       for _ in range(20)]
            active = [asyncio.ensure_future(flows.introspect(api, client, live["access_token"]))
                      for _ in range(5)]
            done, _ = await asyncio.wait([*revoked, *active], timeout=10)
            assert len(done) == 25  # answered while the reload still waits for the lock
            assert [a.result()["active"] for a in revoked] == [False] * 20
            assert [a.result()["active"] for a in active] == [True] * 5
            marker = await state.redis.get(Keys.revocations_loaded)
            assert state.revocations.is_behind(marker)  # the reload has not run yet
            await in_flight.execute("COMMIT")
        finally:
            await in_flight.close()
        for _ in range(100):  # the reload now runs, then Redis answers again
            if not state.revocations.is_behind(await state.redis.get(Keys.revocations_loaded)):
                break
            await asyncio.sleep(0.05)
        assert not state.revocations.is_behind(await state.redis.get(Keys.revocations_loaded))
        assert (await flows.introspect(api, client, tokens["access_token"]))["active"] is False
        assert (await flows.introspect(api, client, live["access_token"]))["active"] is True


SLOW_COMMIT = """
CREATE FUNCTION test_slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_sleep({seconds}); RETURN NULL; END $$;
CREATE CONSTRAINT TRIGGER test_slow_revocation AFTER INSERT ON revocations
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_slow_commit();
CREATE CONSTRAINT TRIGGER test_slow_family AFTER UPDATE ON refresh_families
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_slow_commit();
"""


async def slow_commits(own_postgres: Any, database_url: str, seconds: str) -> None:
    """Revoking transactions of this database take `seconds` to commit (a trigger that runs at
    COMMIT): the window between a revocation's statements and its commit, made wide."""
    conn = await asyncpg.connect(own_postgres.dsn(database_url.rsplit("/", 1)[1]))
    try:
        await conn.execute(SLOW_COMMIT.format(seconds=seconds))
    finally:
        await conn.close()


@pytest.mark.parametrize("what", ["access_token", "refresh_token"])
async def test_a_reload_during_a_revocations_commit_does_not_lose_it(
    what, make_settings, own_redis, own_postgres, own_database
) -> None:
    await slow_commits(own_postgres, own_database, "1.5")
    app = create_app(make_settings(database_url=own_database, redis_url=own_redis.url))
    async with infra.running(app), infra.Api(app) as api:
        state = app.state.authsvc
        client = await new_client(state)
        user = await flows.register(api)
        victim, probe = await flows.login(api, user), await flows.login(api, user)
        assert (await flows.introspect(api, client, victim["access_token"]))["active"]

        revoking = asyncio.ensure_future(revoke(api, client, victim[what], what))
        await asyncio.sleep(0.6)  # the revocation's statements ran; its COMMIT is under way
        assert not revoking.done()
        await state.redis.flushdb()  # Redis loses its data...
        # ... and a reader reloads the list in the middle of that commit.
        assert (await flows.introspect(api, client, probe["access_token"]))["active"]
        assert await revoking == 200
        for _ in range(3):
            assert (await flows.introspect(api, client, victim["access_token"]))["active"] \
                is False


async def test_a_storm_of_revocations_against_repeated_data_loss_loses_none(
    make_settings, own_redis, own_postgres, own_database
) -> None:
    await slow_commits(own_postgres, own_database, "random() * 0.05")
    app = create_app(make_settings(database_url=own_database, redis_url=own_redis.url,
                                   rate_limit_token="100000/60", rate_limit_revoke="100000/60"))
    async with infra.running(app), infra.Api(app) as api:
        state = app.state.authsvc
        client = await new_client(state)
        user = await flows.register(api)
        victims = [await flows.login(api, user) for _ in range(40)]
        acknowledged: list[str] = []
        done = False

        async def lose_data() -> None:
            while not done:
                await state.redis.flushdb()
                await asyncio.sleep(random.uniform(0.005, 0.03))

        async def probe() -> None:
            fresh = await flows.login(api, user)
            while not done:  # reloads under way; a list lost twice in a row is a 503
                answer = await api.post("/introspect", data={"token": fresh["access_token"]},
                                        headers=flows.basic(*client))
                assert answer.status_code in (200, 503), answer.text
                await asyncio.sleep(0.005)

        async def revoke_one(tokens: dict[str, Any]) -> None:
            await asyncio.sleep(random.uniform(0, 1.0))
            if await revoke(api, client, tokens["access_token"]) == 200:
                acknowledged.append(tokens["access_token"])

        chaos = [asyncio.ensure_future(lose_data()), asyncio.ensure_future(probe()),
                 asyncio.ensure_future(probe())]
        await asyncio.gather(*(revoke_one(t) for t in victims))
        done = True
        await asyncio.gather(*chaos)
        assert len(acknowledged) >= len(victims) // 2
        active = [t for t in acknowledged
                  if (await flows.introspect(api, client, t))["active"]]
        assert active == []
