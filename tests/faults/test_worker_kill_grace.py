"""Workers SIGKILLed in a storm of refreshes cost no client its session (issue 13, item 5).

A real `authsvc serve` (2 workers). Each client rotates its family's refresh token over and
over; when a worker dies under a request, the client does what a client does after a lost
answer: it sends the same token again. Whether the dead worker's rotation had committed or
not, that retry (within AUTHSVC_REFRESH_REUSE_GRACE) is answered 200 — the committed pair
again, or a fresh rotation — so no family is revoked, each keeps exactly one live refresh
token, and every client's last token still works. (Before the grace, a rotation committed just
before the kill made the retry a "reuse" and revoked the family.)
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time

import asyncpg
import httpx
import pytest

from tests import infra
from tests.faults.servers import PostgresServer
from tests.faults.test_worker_kill import Server, workers_of

pytestmark = pytest.mark.slow
FAMILIES = 24
GRACE = "10"  # seconds: the retries here come within one or two


@pytest.fixture
async def served_with_grace(own_postgres: PostgresServer, own_database: str,
                            own_redis: infra.RedisServer):
    server = Server(own_database, own_redis.url)
    server.env["AUTHSVC_REFRESH_REUSE_GRACE"] = GRACE
    server.start()
    try:
        await server.wait_workers()
        yield server, own_database
    finally:
        server.stop()


async def test_a_client_retrying_after_a_killed_worker_keeps_its_session(
    served_with_grace: tuple[Server, str],
) -> None:
    server, database_url = served_with_grace
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=server.base, timeout=10, limits=limits,
                                 headers={"User-Agent": "kill-grace/1.0"}) as http:
        email = infra.unique_email("grace")
        created = await http.post("/users", json={"email": email,
                                                  "password": infra.STRONG_PASSWORD})
        assert created.status_code == 201, created.text

        async def login() -> str:
            response = await http.post("/token", data={
                "grant_type": "password", "username": email, "password": infra.STRONG_PASSWORD})
            assert response.status_code == 200, response.text
            return str(response.json()["refresh_token"])

        current = [await login() for _ in range(FAMILIES)]
        lost_answers = 0
        refused: list[str] = []
        stop_at = time.monotonic() + 4.0

        async def refresh_until_answered(token: str) -> httpx.Response:
            nonlocal lost_answers
            for _ in range(40):
                try:
                    return await http.post("/token", data={"grant_type": "refresh_token",
                                                           "refresh_token": token})
                except httpx.HTTPError:
                    lost_answers += 1  # the worker died under it: send the same token again
                    await asyncio.sleep(0.05)
            raise AssertionError("no worker answered for two seconds")

        async def chain(i: int) -> None:
            while time.monotonic() < stop_at:
                response = await refresh_until_answered(current[i])
                if response.status_code != 200:
                    refused.append(f"{i}: {response.status_code} {response.text}")
                    return
                current[i] = response.json()["refresh_token"]

        async def killer() -> int:
            kills = 0
            assert server.process is not None
            for delay in (0.4, 0.5, 0.6, 0.7, 0.5):
                await asyncio.sleep(delay)
                pids = workers_of(server.process.pid)
                if pids:
                    os.kill(random.choice(pids), signal.SIGKILL)
                    kills += 1
            return kills

        *_, kills = await asyncio.gather(*(chain(i) for i in range(FAMILIES)), killer())
        assert kills >= 2  # (a kill may find both workers still being replaced)
        assert lost_answers > 0  # the kills did hit requests in flight
        assert refused == []  # no retry was taken for a reuse (nor answered 5xx)

        await server.wait_workers()
        conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
        try:
            rows = await conn.fetch("""
                SELECT f.id, f.revoked_at IS NOT NULL AS revoked,
                       count(*) FILTER (WHERE t.used_at IS NULL) AS unspent
                FROM refresh_families f JOIN refresh_tokens t ON t.family_id = f.id
                GROUP BY f.id, f.revoked_at""")
        finally:
            await conn.close()
        assert len(rows) == FAMILIES
        assert [dict(r) for r in rows if r["revoked"] or r["unspent"] != 1] == []
        for token in current:
            response = await http.post("/token", data={"grant_type": "refresh_token",
                                                       "refresh_token": token})
            assert response.status_code == 200, response.text
