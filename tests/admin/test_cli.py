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


async def test_create_client_flags(api: Api, database_url: str, redis_url: str) -> None:
    env = environment(database_url, redis_url)
    made = await asyncio.to_thread(
        cli, env, "create-client", "spa", "--public", "--first-party",
        "--redirect-uri", "http://localhost:5173/cb", "--redirect-uri", "https://spa.example/cb",
        "--post-logout-redirect-uri", "https://spa.example/", "--scope", "openid",
        "--scope", "email")
    assert made.returncode == 0, made.stderr
    body = json.loads(made.stdout)
    assert body["client_secret"] is None and body["client_id"].startswith("c_")
    listed = await asyncio.to_thread(cli, env, "clients", "list")
    mine = [json.loads(line) for line in listed.stdout.splitlines()
            if json.loads(line)["client_id"] == body["client_id"]][0]
    assert mine["type"] == "public" and mine["first_party"] is True
    assert mine["redirect_uris"] == ["http://localhost:5173/cb", "https://spa.example/cb"]
    assert mine["scopes"] == ["openid", "email"]
    bad = await asyncio.to_thread(cli, env, "create-client", "x", "--redirect-uri",
                                  "http://evil.example/cb")
    assert bad.returncode == 2 and "redirect_uris" in bad.stderr
    secret = await asyncio.to_thread(cli, env, "create-client", "svc")
    assert json.loads(secret.stdout)["client_secret"]


async def test_clients_rotate_secret(api: Api, database_url: str, redis_url: str,
                                     service_client) -> None:
    env = environment(database_url, redis_url)
    client_id, secret = service_client
    rotated = await asyncio.to_thread(cli, env, "clients", "rotate-secret", client_id)
    assert rotated.returncode == 0, rotated.stderr
    new = json.loads(rotated.stdout)["client_secret"]
    old = await api.post("/introspect", data={"token": "x"}, headers=flows.basic(client_id,
                                                                                  secret))
    assert old.status_code == 401
    ok = await api.post("/introspect", data={"token": "x"}, headers=flows.basic(client_id, new))
    assert ok.status_code == 200


async def test_keys_rotate_and_list(api: Api, database_url: str, redis_url: str) -> None:
    env = environment(database_url, redis_url, AUTHSVC_KEY_PREPUBLISH="3600")
    before = {k["kid"] for k in (await api.get("/jwks")).json()["keys"]}
    rotated = await asyncio.to_thread(cli, env, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    added = [json.loads(line) for line in rotated.stdout.splitlines()]
    assert {k["alg"] for k in added} == {"RS256", "ES256"}
    listed = await asyncio.to_thread(cli, env, "keys", "list")
    rows = {json.loads(line)["kid"]: json.loads(line) for line in listed.stdout.splitlines()}
    for key in added:  # published at once, not signing yet (pre-publication)
        assert rows[key["kid"]]["current"] is False
    assert before <= set(rows)
    # The running server heard of it (pub/sub) and publishes the new keys at once.
    for _ in range(50):
        served = {k["kid"] for k in (await api.get("/jwks")).json()["keys"]}
        if {k["kid"] for k in added} <= served:
            break
        await asyncio.sleep(0.1)
    assert {k["kid"] for k in added} <= served and before <= served
