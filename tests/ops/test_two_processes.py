"""Scale-out: two real `authsvc serve` processes on one PostgreSQL and one Redis share every
rule (tokens, revocations, lockouts), metrics add up across workers, and SIGTERM stops a
server cleanly."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests import flows
from tests.infra import STRONG_PASSWORD, unique_email
from tests.processes import Server, environment

pytestmark = pytest.mark.slow


@pytest.fixture
def servers(database_url: str, redis_url: str, app) -> Iterator[tuple[Server, Server]]:
    # No progressive delay, so five quick wrong passwords make a real lockout.
    env = environment(database_url, redis_url, AUTHSVC_LOCKOUT_COOLDOWN_BASE="0")
    pair = (Server(env), Server(env))
    try:
        for server in pair:
            server.wait_ready()
        yield pair
    finally:
        for server in pair:
            if server.process.poll() is None:
                server.process.kill()
                server.process.wait()


async def _register(http: httpx.AsyncClient, base: str) -> dict[str, str]:
    email = unique_email("scale")
    response = await http.post(f"{base}/users", json={"email": email,
                                                      "password": STRONG_PASSWORD})
    assert response.status_code == 201, response.text
    return {"email": email, "password": STRONG_PASSWORD}


async def _grant(http: httpx.AsyncClient, base: str, user: dict[str, str],
                 password: str | None = None) -> httpx.Response:
    return await http.post(f"{base}/token", data={
        "grant_type": "password", "username": user["email"],
        "password": password or user["password"]})


async def _introspect(http: httpx.AsyncClient, base: str, client: tuple[str, str],
                      token: str) -> dict:
    response = await http.post(f"{base}/introspect", data={"token": token},
                               headers=flows.basic(*client))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_two_servers_share_tokens_revocations_and_lockouts(
    servers: tuple[Server, Server], service_client: tuple[str, str]
) -> None:
    a, b = servers[0].url, servers[1].url
    async with httpx.AsyncClient(timeout=10.0) as http:
        user = await _register(http, a)
        issued = (await _grant(http, a, user)).json()
        assert (await _introspect(http, b, service_client, issued["access_token"]))["active"]

        revoked = await http.post(f"{a}/revoke", data={"token": issued["access_token"]},
                                  headers=flows.basic(*service_client))
        assert revoked.status_code == 200
        assert await _introspect(http, b, service_client, issued["access_token"]) == {
            "active": False}
        await http.post(f"{b}/revoke", data={"token": issued["refresh_token"],
                                             "token_type_hint": "refresh_token"},
                        headers=flows.basic(*service_client))
        refused = await http.post(f"{a}/token", data={"grant_type": "refresh_token",
                                                      "refresh_token": issued["refresh_token"]})
        assert refused.status_code == 400

        victim = await _register(http, b)
        for _ in range(5):
            wrong = await _grant(http, a, victim, "Wrong-Password-123!")
            assert wrong.status_code == 400, wrong.text
        locked = await _grant(http, b, victim)
        assert locked.status_code == 429 and locked.json()["error"] == "temporarily_locked"
        assert "retry-after" in locked.headers

    for server in servers:
        started = time.monotonic()
        assert server.stop(timeout=10.0) == 0
        assert time.monotonic() - started < 10.0


async def test_metrics_add_up_across_workers(database_url: str, redis_url: str) -> None:
    server = Server(environment(database_url, redis_url), workers=2)
    try:
        server.wait_ready()
        async with httpx.AsyncClient(timeout=10.0) as http:
            for _ in range(20):
                # New connections, so both workers answer some of them.
                assert (await http.get(f"{server.url}/health/live",
                                       headers={"Connection": "close"})).status_code == 200
            text = (await http.get(f"{server.url}/metrics")).text
        count = next(
            float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
            if line.startswith("authsvc_http_request_duration_seconds_count")
            and 'route="/health/live"' in line and 'status="200"' in line
        )
        # wait_ready's probes hit /health/ready, so exactly our 20 are counted, whichever
        # worker answered each.
        assert count == 20
        assert server.stop(timeout=15.0) == 0
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()
