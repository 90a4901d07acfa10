"""Admin API, service clients: the secret is shown once, rotation and deletion take effect."""

from __future__ import annotations

from typing import Any

import pytest

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
    # The contract's client fields (issue 16 added all but the first four); never a secret.
    assert mine and mine[0]["name"] == "billing" and set(mine[0]) == {
        "client_id", "name", "is_active", "created_at", "type", "redirect_uris",
        "post_logout_redirect_uris", "grant_types", "scopes", "first_party", "id_token_alg"}
    assert "secret_hash" not in listed.text


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


# ------------------------------------------------------------ app clients (issue 16)
APP = {"name": "shop", "redirect_uris": ["https://shop.example/cb"],
       "post_logout_redirect_uris": ["https://shop.example/bye"]}


async def test_create_an_app_client_with_its_settings(api: Api, admin: dict[str, Any]) -> None:
    created = await api.post("/admin/clients", json={**APP, "scopes": ["openid", "email"]},
                             headers=admin["headers"])
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["type"] == "confidential" and body["client_secret"]
    assert body["redirect_uris"] == APP["redirect_uris"]
    assert body["grant_types"] == ["authorization_code", "refresh_token", "client_credentials"]
    assert body["scopes"] == ["openid", "email"] and body["first_party"] is False
    public = await api.post("/admin/clients", json={**APP, "type": "public"},
                            headers=admin["headers"])
    assert public.status_code == 201
    assert public.json()["client_secret"] is None
    assert public.json()["scopes"] == ["openid", "profile", "email", "offline_access"]
    assert "client_credentials" not in public.json()["grant_types"]


async def test_a_service_client_keeps_the_grants_clients_always_had(
    api: Api, admin: dict[str, Any]
) -> None:
    body = (await api.post("/admin/clients", json={"name": "svc"},
                           headers=admin["headers"])).json()
    assert body["grant_types"] == ["password", "refresh_token", "client_credentials",
                                   "urn:authsvc:params:oauth:grant-type:mfa"]
    assert body["redirect_uris"] == []


@pytest.mark.parametrize("change", [
    {"redirect_uris": ["http://shop.example/cb"]},          # http off loopback
    {"redirect_uris": ["https://shop.example/cb#frag"]},    # fragment (RFC 6749 §3.1.2)
    {"redirect_uris": ["https://user@shop.example/cb"]},    # userinfo
    {"redirect_uris": ["javascript:alert(1)"]},
    {"redirect_uris": ["/relative"]},
    {"post_logout_redirect_uris": ["data:text/html,hi"]},
    {"scopes": ["openid", "admin"]},                         # outside AUTHSVC_SCOPES
    {"grant_types": ["implicit"]},
    {"type": "public", "grant_types": ["client_credentials"]},
    {"redirect_uris": [], "grant_types": ["authorization_code"]},
    {"unknown": 1},
])
async def test_bad_client_settings_are_refused_and_nothing_is_created(
    api: Api, admin: dict[str, Any], change: dict[str, Any]
) -> None:
    before = len((await api.get("/admin/clients", headers=admin["headers"])).json()["items"])
    response = await api.post("/admin/clients", json={**APP, **change}, headers=admin["headers"])
    assert response.status_code == 422, response.text
    assert response.json()["error"] in ("invalid_client_metadata", "invalid_request")
    after = len((await api.get("/admin/clients", headers=admin["headers"])).json()["items"])
    assert after == before


async def test_get_patch_and_delete_one_client(api: Api, admin: dict[str, Any]) -> None:
    body = (await api.post("/admin/clients", json=APP, headers=admin["headers"])).json()
    url = f"/admin/clients/{body['client_id']}"
    got = await api.get(url, headers=admin["headers"])
    assert got.status_code == 200 and got.json()["name"] == "shop"
    patched = await api.patch(url, json={"redirect_uris": ["https://shop.example/cb2"],
                                         "first_party": True, "name": "Shop"},
                              headers=admin["headers"])
    assert patched.status_code == 200, patched.text
    assert patched.json()["redirect_uris"] == ["https://shop.example/cb2"]
    assert patched.json()["first_party"] is True and patched.json()["name"] == "Shop"
    bad = await api.patch(url, json={"redirect_uris": ["http://evil.test/"]},
                          headers=admin["headers"])
    assert bad.status_code == 422
    assert (await api.get(url, headers=admin["headers"])).json()["redirect_uris"] == [
        "https://shop.example/cb2"]
    assert (await api.get("/admin/clients/c_nope", headers=admin["headers"])).status_code == 404
    assert (await api.delete(url, headers=admin["headers"])).status_code == 204
    assert (await api.get(url, headers=admin["headers"])).status_code == 404


async def test_client_admin_needs_the_admin_role(api: Api, admin: dict[str, Any]) -> None:
    user = await flows.register(api)
    tokens = await flows.login(api, user)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    for method, url in (("GET", "/admin/clients/x"), ("PATCH", "/admin/clients/x"),
                        ("DELETE", "/admin/clients/x")):
        response = await api.request(method, url, headers=headers, json={})
        assert response.status_code == 403


async def test_a_public_client_has_no_secret_to_rotate(api: Api, admin: dict[str, Any]) -> None:
    body = (await api.post("/admin/clients", json={**APP, "type": "public"},
                           headers=admin["headers"])).json()
    rotated = await api.post(f"/admin/clients/{body['client_id']}/rotate-secret",
                             headers=admin["headers"])
    assert rotated.status_code == 409
