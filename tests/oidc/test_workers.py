"""A client's rotation or deletion reaches every worker at once: two real `authsvc serve`
processes, each holding the client (and the token found live) in its memory, then the secret is
rotated and the client deleted from a third process (the CLI)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest

from tests import flows
from tests.processes import Server, cli, environment

pytestmark = pytest.mark.slow


@pytest.fixture
def workers(database_url: str, redis_url: str, app) -> Iterator[tuple[Server, Server]]:
    env = environment(database_url, redis_url)
    pair = (Server(env), Server(env))
    try:
        for server in pair:
            server.wait_ready()
        yield pair
    finally:
        for server in pair:
            server.stop()


async def _introspect(http: httpx.AsyncClient, base: str, client: tuple[str, str],
                      token: str) -> httpx.Response:
    return await http.post(f"{base}/introspect", data={"token": token},
                           headers=flows.basic(*client))


async def _client_token(http: httpx.AsyncClient, base: str, client: tuple[str, str]) -> str:
    answer = await http.post(f"{base}/token", data={"grant_type": "client_credentials"},
                             headers=flows.basic(*client))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


async def test_rotation_and_deletion_end_a_clients_tokens_on_every_worker(
    workers: tuple[Server, Server], database_url: str, redis_url: str, state
) -> None:
    env = environment(database_url, redis_url)
    billing = await flows.new_client(state, "billing")
    resource = await flows.new_client(state, "resource")
    bases = [w.url for w in workers]
    async with httpx.AsyncClient(timeout=10.0) as http:
        token = await _client_token(http, bases[0], billing)
        for _ in range(3):  # every worker now holds both clients and the live token in memory
            for base in bases:
                assert (await _introspect(http, base, resource, token)).json()["active"]
                assert (await _introspect(http, base, billing, token)).status_code == 200

        rotated = await asyncio.to_thread(cli, env, "clients", "rotate-secret", billing[0])
        assert rotated.returncode == 0, rotated.stderr
        new = (billing[0], json.loads(rotated.stdout)["client_secret"])
        for base in bases:
            assert (await _introspect(http, base, resource, token)).json() == {"active": False}
            assert (await _introspect(http, base, billing, token)).status_code == 401  # old
            assert (await _introspect(http, base, new, token)).status_code == 200

        fresh = await _client_token(http, bases[1], new)
        for base in bases:
            assert (await _introspect(http, base, resource, fresh)).json()["active"]
        deleted = await asyncio.to_thread(cli, env, "clients", "delete", billing[0])
        assert deleted.returncode == 0, deleted.stderr
        for base in bases:
            assert (await _introspect(http, base, resource, fresh)).json() == {"active": False}
            assert (await _introspect(http, base, new, fresh)).status_code == 401
