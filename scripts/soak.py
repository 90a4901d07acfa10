#!/usr/bin/env python3
"""Soak test (not a unit test): a real `authsvc serve` with 2 workers, on a PostgreSQL database
and a Redis logical database of its own, under a mixed load from 127.0.0.1 for a set time and a
bounded number of requests. Then it checks and reports:

- zero 5xx answers;
- the RSS of each worker, flat after the warm-up (figures printed);
- Redis: every key has a TTL, or is one of the known persistent keys;
- PostgreSQL: connections of the database (pg_stat_activity) within the pools' bounds.

    python scripts/soak.py --duration 120 --max-requests 60000
    (AUTHSVC_TEST_PG / AUTHSVC_TEST_REDIS name the admin DSN and the Redis server, as the tests)

Loopback only; the load stops by itself at --duration or --max-requests, whichever first.
"""

# A one-shot driver, not service code: blocking set-up calls before the load starts, a fixed
# test password and random.choice for the load mix are fine here.
# ruff: noqa: S105, S311, ASYNC220, ASYNC221, ASYNC230

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import asyncpg
import httpx
import redis.asyncio as aioredis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from authsvc.kv import Keys  # noqa: E402 - this checkout's key names

PASSWORD = "Soak-Test-Passw0rd-9"
# Keys without a TTL by design: the revocation list's "complete" sentinel.
PERSISTENT_KEYS = {Keys.revocations_loaded.encode()}
CLAIM_KEY = "authsvc-test-claim"  # the same claim as the test runs (tests/infra.py): never share
POOL, OVERFLOW, WORKERS = 10, 5, 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def workers_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-ww", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True,
                         text=True).stdout.splitlines()
    return [int(line.split()[0]) for line in out
            if "spawn_main" in line and "resource_tracker" not in line]


async def claim_redis(base: str) -> int:
    """A logical database no test run or other soak is using, claimed as tests/infra.py does."""
    token = f"soak-{os.getpid()}-{secrets.token_hex(4)}"
    for index in range(1, 16):
        client = aioredis.Redis.from_url(f"{base}/{index}")
        try:
            if await client.set(CLAIM_KEY, token, nx=True, ex=7200):
                await client.flushdb()
                await client.set(CLAIM_KEY, token, ex=7200)
                return index
        finally:
            await client.aclose()
    raise SystemExit("soak: no free Redis logical database")


async def main() -> int:  # noqa: C901 - one linear script
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--max-requests", type=int, default=30_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--users", type=int, default=40)
    args = parser.parse_args()

    pg_admin = os.environ.get("AUTHSVC_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_base = os.environ.get("AUTHSVC_TEST_REDIS", "redis://127.0.0.1:6379")
    database = f"authsvc_soak_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(pg_admin)
    await admin.execute(f'CREATE DATABASE "{database}"')
    host_part = pg_admin.split("://", 1)[1].rsplit("/", 1)[0]
    db_url = f"postgresql+asyncpg://{host_part}/{database}"
    redis_index = await claim_redis(redis_base)
    redis_url = f"{redis_base}/{redis_index}"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHSVC_")}
    env.update({
        "PYTHONPATH": str(ROOT / "src"), "AUTHSVC_ENV": "testing",
        "AUTHSVC_DATABASE_URL": db_url, "AUTHSVC_REDIS_URL": redis_url,
        "AUTHSVC_ISSUER": "http://authsvc.soak",
        "AUTHSVC_JWT_SECRET": "soak-jwt-secret-long-enough-0123456789abcdef",
        "AUTHSVC_ENCRYPTION_KEY": "soak-encryption-key-long-enough-0123456789",
        # Every request comes from 127.0.0.1: the per-address limits would stop the load itself.
        # Per-username lockout stays on (the failing logins exercise it).
        "AUTHSVC_RATE_LIMIT_TOKEN": "1000000/60", "AUTHSVC_RATE_LIMIT_REGISTER": "100000/60",
        "AUTHSVC_DB_POOL_SIZE": str(POOL), "AUTHSVC_DB_MAX_OVERFLOW": str(OVERFLOW),
        "AUTHSVC_LOG_LEVEL": "WARNING",
    })
    cwd = tempfile.mkdtemp(prefix="authsvc-soak-")
    migrate = subprocess.run([sys.executable, "-m", "authsvc", "migrate"], env=env, cwd=cwd,
                             capture_output=True, text=True)
    if migrate.returncode:
        raise SystemExit(f"soak: migrate failed:\n{migrate.stderr}")
    created = subprocess.run([sys.executable, "-m", "authsvc", "create-client", "soak"],
                             env=env, cwd=cwd, capture_output=True, text=True, check=True)
    client = json.loads(created.stdout)
    basic = "Basic " + base64.b64encode(
        f"{client['client_id']}:{client['client_secret']}".encode()).decode()
    log = open(Path(cwd) / "serve.log", "wb")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-m", "authsvc", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(WORKERS)], env=env, cwd=cwd, stdout=log, stderr=log)
    statuses: Counter[str] = Counter()
    server_errors: list[str] = []
    rss: dict[int, list[tuple[float, int]]] = {}
    report: dict[str, object] = {}
    try:
        base = f"http://127.0.0.1:{port}"
        limits = httpx.Limits(max_connections=args.concurrency * 2)
        async with httpx.AsyncClient(base_url=base, timeout=15, limits=limits,
                                     headers={"User-Agent": "soak/1.0"}) as http:
            for _ in range(300):
                try:
                    if (await http.get("/health/ready")).status_code == 200 and len(
                            workers_of(server.pid)) == WORKERS:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
            else:
                raise SystemExit("soak: the server did not start; see " + str(log.name))

            users = [f"soak-{i}-{secrets.token_hex(3)}@example.com" for i in range(args.users)]
            for email in users:
                r = await http.post("/users", json={"email": email, "password": PASSWORD})
                assert r.status_code == 201, r.text
            sessions: dict[str, dict[str, str]] = {}
            budget = args.max_requests
            started = time.monotonic()
            deadline = started + args.duration

            async def call(kind: str, method: str, url: str, **kw: object) -> httpx.Response:
                nonlocal budget
                budget -= 1
                response = await http.request(method, url, **kw)  # type: ignore[arg-type]
                statuses[f"{kind} {response.status_code}"] += 1
                if response.status_code >= 500:
                    server_errors.append(f"{kind}: {response.status_code} {response.text[:200]}")
                return response

            busy: set[str] = set()

            async def worker() -> None:
                while budget > 0 and time.monotonic() < deadline:
                    email = random.choice(users)
                    if email in busy:  # one client per session at a time, as a real client
                        continue
                    busy.add(email)
                    roll = random.random()
                    try:
                        if roll < 0.15 or email not in sessions:
                            r = await call("login", "POST", "/token", data={
                                "grant_type": "password", "username": email, "password": PASSWORD})
                            if r.status_code == 200:
                                sessions[email] = r.json()
                        elif roll < 0.40:
                            r = await call("refresh", "POST", "/token", data={
                                "grant_type": "refresh_token",
                                "refresh_token": sessions[email]["refresh_token"]})
                            if r.status_code == 200:
                                sessions[email] = r.json()
                            else:
                                sessions.pop(email, None)
                        elif roll < 0.85:
                            await call("introspect", "POST", "/introspect", headers={
                                "Authorization": basic},
                                data={"token": sessions[email]["access_token"]})
                        elif roll < 0.92:  # failures: a wrong password for a throw-away name
                            await call("bad-login", "POST", "/token", data={
                                "grant_type": "password", "password": "wrong",
                                "username": f"nobody-{random.randrange(200)}@example.com"})
                        elif roll < 0.96:
                            await call("bad-token", "POST", "/introspect", headers={
                                "Authorization": basic}, data={"token": "x.y.z"})
                        else:
                            await call("bad-request", "POST", "/token",
                                       data={"grant_type": "nope"})
                    except httpx.HTTPError as exc:
                        statuses[f"transport-error {type(exc).__name__}"] += 1
                    except KeyError:
                        continue
                    finally:
                        busy.discard(email)

            async def sampler() -> None:
                while budget > 0 and time.monotonic() < deadline:
                    now = time.monotonic() - started
                    for pid in workers_of(server.pid):
                        rss.setdefault(pid, []).append((now, rss_kib(pid)))
                    await asyncio.sleep(1.0)

            await asyncio.gather(sampler(), *(worker() for _ in range(args.concurrency)))
            elapsed = time.monotonic() - started
            await asyncio.sleep(2)  # let the pools settle

        redis = aioredis.Redis.from_url(redis_url)
        keys, no_ttl, prefixes = 0, [], Counter()
        async for key in redis.scan_iter(count=1000):
            if key == CLAIM_KEY.encode():
                continue
            keys += 1
            prefixes[b":".join(key.split(b":")[:2]).decode(errors="replace")] += 1
            if await redis.ttl(key) == -1 and key not in PERSISTENT_KEYS:
                no_ttl.append(key.decode(errors="replace"))
        await redis.aclose()
        connections = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", database)

        total = sum(statuses.values())
        flat: dict[str, object] = {}
        rss_ok = True
        for pid, samples in rss.items():
            warm = [kib for t, kib in samples if t >= elapsed * 0.25]
            if len(warm) < 2:
                continue
            first, last, peak = warm[0], warm[-1], max(warm)
            growth = (last - first) / first
            ok = growth < 0.10 or (last - first) < 20 * 1024
            rss_ok &= ok
            flat[str(pid)] = {"after_warmup_mib": round(first / 1024, 1),
                              "end_mib": round(last / 1024, 1), "peak_mib": round(peak / 1024, 1),
                              "growth_pct": round(growth * 100, 1), "flat": ok}
        report = {
            "duration_s": round(elapsed, 1), "requests": total,
            "rate_per_s": round(total / elapsed, 1), "statuses": dict(sorted(statuses.items())),
            "server_errors": len(server_errors), "worker_rss": flat,
            "redis_keys": keys, "redis_keys_by_prefix": dict(prefixes.most_common()),
            "redis_keys_without_ttl": no_ttl[:20],
            "pg_connections_after": connections,
            "pg_connection_bound": WORKERS * (POOL + OVERFLOW),
        }
        checks = {
            "zero 5xx": not server_errors,
            "worker RSS flat after warm-up": rss_ok and bool(flat),
            "every Redis key TTL-bounded or known": not no_ttl,
            "PostgreSQL connections within the pools": connections <= WORKERS * (POOL + OVERFLOW),
        }
        report["checks"] = checks
        print(json.dumps(report, indent=2))
        for line in server_errors[:10]:
            print("5xx:", line, file=sys.stderr)
        return 0 if all(checks.values()) else 1
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
        cleanup = aioredis.Redis.from_url(redis_url)
        await cleanup.flushdb()  # our claimed database only; the claim goes with it
        await cleanup.aclose()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
