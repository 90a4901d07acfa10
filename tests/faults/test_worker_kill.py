"""A real `authsvc serve` (2 workers) whose workers are SIGKILLed in the middle of a storm of
refreshes: afterwards no family has two unspent refresh tokens, every live family has exactly
one, and each client's last token is either that one or was spent by a committed rotation."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from jose import jwt as jose_jwt

from tests import infra
from tests.faults.servers import PostgresServer, free_port

pytestmark = pytest.mark.slow
SRC = str(Path(__file__).resolve().parents[2] / "src")
FAMILIES = 16
DUPLICATED = 3  # families whose token is also sent several times at once (reuse → revoked)


def sid_of(token: str) -> str:
    return str(jose_jwt.get_unverified_claims(token)["sid"])


def workers_of(pid: int) -> list[int]:
    children = subprocess.run(["ps", "-ww", "-o", "pid=,args=", "--ppid", str(pid)],
                              capture_output=True, text=True).stdout.splitlines()
    return [int(line.split()[0]) for line in children
            if "spawn_main" in line and "resource_tracker" not in line]


class Server:
    def __init__(self, database_url: str, redis_url: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHSVC_")}
        self.env.update({
            "PYTHONPATH": SRC, "AUTHSVC_ENV": "testing", "AUTHSVC_DATABASE_URL": database_url,
            "AUTHSVC_REDIS_URL": redis_url, "AUTHSVC_ISSUER": "http://authsvc.test",
            "AUTHSVC_JWT_SECRET": "worker-kill-jwt-secret-long-enough-0123456789",
            "AUTHSVC_ENCRYPTION_KEY": "worker-kill-encryption-key-long-enough-012345",
            "AUTHSVC_RATE_LIMIT_TOKEN": "100000/60", "AUTHSVC_RATE_LIMIT_REGISTER": "1000/60",
            "AUTHSVC_LOG_LEVEL": "INFO",  # the log is shown if the server does not come up
        })
        self.cwd = tempfile.mkdtemp(prefix="authsvc-serve-")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "authsvc", "serve", "--host", "127.0.0.1", "--port",
             str(self.port), "--workers", "2"],
            env=self.env, cwd=self.cwd, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.cwd, "log"), "wb"),  # noqa: SIM115
        )

    async def wait_workers(self, n: int = 2, timeout: float = 120) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.base, timeout=2) as http:
            while True:
                ok = 0
                try:
                    for _ in range(6):
                        ok += (await http.get("/health/ready")).status_code == 200
                except httpx.HTTPError:
                    pass
                if ok == 6 and len(workers_of(self.process.pid)) == n:
                    return
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(
                        f"authsvc serve did not come up (exit code {self.process.poll()}, "
                        f"{ok}/6 ready answers, workers {workers_of(self.process.pid)}):\n"
                        + Path(self.cwd, "log").read_text()[-3000:])  # noqa: ASYNC240
                await asyncio.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
async def served(own_postgres: PostgresServer, own_database: str, own_redis: infra.RedisServer):
    server = Server(own_database, own_redis.url)
    server.env["AUTHSVC_REFRESH_REUSE_GRACE"] = "0"  # the strict rule (grace: its own test)
    server.start()
    try:
        await server.wait_workers()
        yield server, own_database
    finally:
        server.stop()


async def test_killed_workers_leave_at_most_one_live_refresh_token_per_family(
    served: tuple[Server, str], own_postgres: PostgresServer
) -> None:
    server, database_url = served
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=server.base, timeout=10, limits=limits,
                                 headers={"User-Agent": "kill-test/1.0"}) as http:
        email = infra.unique_email("kill")
        created = await http.post("/users", json={"email": email,
                                                  "password": infra.STRONG_PASSWORD})
        assert created.status_code == 201, created.text

        async def login() -> str:
            response = await http.post("/token", data={
                "grant_type": "password", "username": email, "password": infra.STRONG_PASSWORD})
            assert response.status_code == 200, response.text
            return str(response.json()["refresh_token"])

        current = [await login() for _ in range(FAMILIES)]  # the last token each client got
        uncertain = [False] * FAMILIES  # its last request died with the worker
        reused: set[str] = set()
        statuses: list[int] = []
        # The storm runs until the killer is done (bounded): kills follow the storm's progress,
        # not the clock, so a slow machine cannot make them land before any rotation happened.
        stop = asyncio.Event()
        hard_stop = time.monotonic() + 60.0

        async def refresh(token: str) -> httpx.Response:
            return await http.post("/token", data={"grant_type": "refresh_token",
                                                   "refresh_token": token})

        async def chain(i: int) -> None:
            while not stop.is_set() and time.monotonic() < hard_stop:
                try:
                    if i < DUPLICATED:
                        results = await asyncio.gather(*(refresh(current[i]) for _ in range(4)),
                                                       return_exceptions=True)
                    else:
                        results = [await refresh(current[i])]
                except httpx.HTTPError:
                    uncertain[i] = True
                    return
                for result in results:
                    if isinstance(result, BaseException):
                        uncertain[i] = True
                        continue
                    statuses.append(result.status_code)
                    if result.status_code == 200:
                        current[i] = result.json()["refresh_token"]
                codes = sorted(r.status_code for r in results if isinstance(r, httpx.Response))
                if 200 in codes and 400 in codes:
                    reused.add(sid_of(current[i]))  # the race was seen whole: must be revoked
                if uncertain[i] or all(not isinstance(r, httpx.Response) or r.status_code != 200
                                       for r in results):
                    return

        async def wait_until(condition: Callable[[], Any], seconds: float) -> Any:
            deadline = time.monotonic() + seconds
            while not (found := condition()) and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            return found

        async def killer() -> int:
            kills = 0
            assert server.process is not None
            try:
                # First let the storm rotate every family at least once, then kill.
                await wait_until(lambda: statuses.count(200) > FAMILIES, 30)
                for delay in (0.1, 0.2, 0.3):
                    await asyncio.sleep(delay)
                    pids = await wait_until(lambda: workers_of(server.process.pid), 30)
                    if pids:
                        os.kill(random.choice(pids), signal.SIGKILL)
                        kills += 1
                await asyncio.sleep(0.3)
            finally:
                stop.set()
            return kills

        *_, kills = await asyncio.gather(*(chain(i) for i in range(FAMILIES)), killer())
        assert kills == 3
        assert not [s for s in statuses if s >= 500], statuses
        assert statuses.count(200) > FAMILIES  # the storm did rotate tokens

        await server.wait_workers()  # the supervisor replaced the killed workers
        conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
        try:
            rows = await conn.fetch("""
                SELECT f.id, f.revoked_at IS NOT NULL AS revoked,
                       count(*) FILTER (WHERE t.used_at IS NULL) AS unspent,
                       count(*) AS total
                FROM refresh_families f JOIN refresh_tokens t ON t.family_id = f.id
                GROUP BY f.id, f.revoked_at""")
            state = {r["jti"]: r["used_at"] for r in await conn.fetch(
                "SELECT jti, used_at FROM refresh_tokens")}
        finally:
            await conn.close()
        assert len(rows) == FAMILIES
        for row in rows:
            assert row["unspent"] <= 1, dict(row)
            if not row["revoked"]:
                assert row["unspent"] == 1, dict(row)  # a live family is never left tokenless
        revoked = {str(r["id"]) for r in rows if r["revoked"]}
        assert reused <= revoked  # every concurrent reuse seen by a client revoked its family

        for i, token in enumerate(current):
            jti = jose_jwt.get_unverified_claims(token)["jti"]
            if i >= DUPLICATED:
                assert sid_of(token) not in revoked  # a killed worker causes no false reuse
            assert jti in state  # every token a client received was committed
            response = await refresh(token)
            if state[jti] is None and sid_of(token) not in revoked:
                # Unspent in a live family; also a duplicated family whose chain ended (its
                # worker died) before its concurrent copies met.
                assert response.status_code == 200, (i, uncertain[i], response.text)
            else:
                # Spent already: either by the reuse race or by a rotation whose answer was
                # lost with the worker (the client then holds a spent token: reuse, revoked).
                assert response.status_code == 400, response.text
                assert state[jti] is not None or i < DUPLICATED
