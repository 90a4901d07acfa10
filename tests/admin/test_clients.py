"""Admin API, service clients: the secret is shown once, rotation and deletion take effect."""

from __future__ import annotations

from typing import Any

from tests import flows
from tests.infra import Api


async def _client_token(api: Api, client_id: str, secret: str) -> int:
    response = await api.post("/token", data={"grant_type": "client_credentials"},
                              headers=flows.basic(client_id, secret))
    return response.status_code


async def test_create_shows_the_secret_once(api: Api, admin: dict[str, Any]) -> None:
    created = await api.post("/admin/clients", json={"name": "billing"},
                             headers=admin["headers"])
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["client_id"] and len(body["client_secret"]) >= 32
    assert await _client_token(api, body["client_id"], body["client_secret"]) == 200
    listed = await api.get("/admin/clients", headers=admin["headers"])
    assert listed.status_code == 200
    assert body["client_secret"] not in listed.text
    mine = [c for c in listed.json()["items"] if c["client_id"] == body["client_id"]]
    assert mine and mine[0]["name"] == "billing" and set(mine[0]) == {
        "client_id", "name", "is_active", "created_at"}


async def test_create_needs_a_name(api: Api, admin: dict[str, Any]) -> None:
    for body in ({}, {"name": ""}, {"name": "x" * 201}, {"name": "a\u0000b"}):  # NUL: fuzzing
        response = await api.post("/admin/clients", json=body, headers=admin["headers"])
        assert response.status_code == 422


async def test_rotate_secret_replaces_the_old_one(api: Api, admin: dict[str, Any]) -> None:
    body = (await api.post("/admin/clients", json={"name": "a"}, headers=admin["headers"])).json()
    assert await _client_token(api, body["client_id"], body["client_secret"]) == 200
    rotated = await api.post(f"/admin/clients/{body['client_id']}/rotate-secret",
                             headers=admin["headers"])
    assert rotated.status_code == 200
    new = rotated.json()["client_secret"]
    assert new != body["client_secret"]
    assert await _client_token(api, body["client_id"], body["client_secret"]) == 401
    assert await _client_token(api, body["client_id"], new) == 200


async def test_delete_removes_the_client(api: Api, admin: dict[str, Any]) -> None:
    body = (await api.post("/admin/clients", json={"name": "a"}, headers=admin["headers"])).json()
    assert await _client_token(api, body["client_id"], body["client_secret"]) == 200
    deleted = await api.delete(f"/admin/clients/{body['client_id']}", headers=admin["headers"])
    assert deleted.status_code == 204
    assert await _client_token(api, body["client_id"], body["client_secret"]) == 401
    again = await api.delete(f"/admin/clients/{body['client_id']}", headers=admin["headers"])
    assert again.status_code == 404 and again.json()["error"] == "not_found"
    rotate = await api.post("/admin/clients/nope/rotate-secret", headers=admin["headers"])
    assert rotate.status_code == 404
