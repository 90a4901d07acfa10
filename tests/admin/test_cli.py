"""`authsvc users ...` and `authsvc clients ...`: the admin API's command-line counterparts."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests import flows
from tests.infra import Api
from tests.processes import cli, environment

pytestmark = pytest.mark.slow


async def test_users_list_and_disable(api: Api, database_url: str, redis_url: str,
                                      service_client) -> None:
    env = environment(database_url, redis_url)
    user = await flows.register(api)
    issued = await flows.login(api, user)
    listed = await asyncio.to_thread(cli, env, "users", "list")
    assert listed.returncode == 0, listed.stderr
    ids = [json.loads(line)["id"] for line in listed.stdout.splitlines()]
    assert user["id"] in ids
    disabled = await asyncio.to_thread(cli, env, "users", "disable", user["email"])
    assert disabled.returncode == 0, disabled.stderr
    assert await flows.introspect(api, service_client, issued["access_token"]) == {
        "active": False}
    assert (await flows.refresh(api, issued["refresh_token"])).status_code == 400
    missing = await asyncio.to_thread(cli, env, "users", "disable", "nobody@example.com")
    assert missing.returncode == 1


async def test_clients_list_and_delete(api: Api, database_url: str, redis_url: str,
                                       service_client) -> None:
    env = environment(database_url, redis_url)
    client_id, secret = service_client
    listed = await asyncio.to_thread(cli, env, "clients", "list")
    assert listed.returncode == 0 and client_id in listed.stdout
    assert secret not in listed.stdout
    deleted = await asyncio.to_thread(cli, env, "clients", "delete", client_id)
    assert deleted.returncode == 0, deleted.stderr
    response = await api.post("/introspect", data={"token": "x"},
                              headers=flows.basic(client_id, secret))
    assert response.status_code == 401
