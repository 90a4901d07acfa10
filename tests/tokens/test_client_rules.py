"""The client's rules on every grant: scope allow-lists (invalid_scope), a client with a secret
must authenticate (invalid_client), granted grant types (unauthorized_client); a rotated or
deleted client's tokens end at once; RFC 7009 revocation only by the token's own client."""

from __future__ import annotations

from typing import Any

import pytest

from authsvc.composition import Components
from tests import flows
from tests.infra import Api
from tests.oidc.helpers import new_app


async def test_password_grant_without_a_client_uses_the_default_scopes(api: Api) -> None:
    user = await flows.register(api)
    ok = await flows.password_grant(api, user["email"], user["password"],
                                    scope="openid email offline_access")
    assert ok.status_code == 200 and ok.json()["scope"] == "openid email offline_access"
    for scope in ("admin", "openid admin", "openid email:write"):
        refused = await flows.password_grant(api, user["email"], user["password"], scope=scope)
        assert refused.status_code == 400, scope
        assert refused.json()["error"] == "invalid_scope"


async def test_password_grant_scopes_follow_the_clients_allow_list(
    api: Api, state: Components
) -> None:
    client_id, secret = await new_app(state, scopes=("openid",), redirect_uris=(),
                                      grant_types=("password",))
    user = await flows.register(api)
    headers = flows.basic(client_id, secret or "")
    ok = await api.post("/token", headers=headers, data={
        "grant_type": "password", "username": user["email"], "password": user["password"],
        "scope": "openid"})
    assert ok.status_code == 200, ok.text
    escalated = await api.post("/token", headers=headers, data={
        "grant_type": "password", "username": user["email"], "password": user["password"],
        "scope": "openid email"})
    assert escalated.status_code == 400 and escalated.json()["error"] == "invalid_scope"


async def test_a_confidential_client_named_without_its_secret_is_refused(
    api: Api, state: Components, service_client: tuple[str, str]
) -> None:
    user = await flows.register(api)
    for extra in ({"client_id": service_client[0]},
                  {"client_id": service_client[0], "client_secret": "wrong"}):
        refused = await flows.password_grant(api, user["email"], user["password"], **extra)
        assert refused.status_code == 401, extra
        assert refused.json()["error"] == "invalid_client"
    # With its secret it works, and so does a public client by client_id alone.
    ok = await flows.password_grant(api, user["email"], user["password"],
                                    client_id=service_client[0],
                                    client_secret=service_client[1])
    assert ok.status_code == 200
    public_id, _ = await new_app(state, type="public", redirect_uris=())
    ok = await flows.password_grant(api, user["email"], user["password"], client_id=public_id)
    assert ok.status_code == 200, ok.text


async def test_a_client_without_the_password_grant_cannot_use_it(
    api: Api, state: Components
) -> None:
    client_id, secret = await new_app(state)  # an app: authorization_code + refresh + cc
    user = await flows.register(api)
    refused = await api.post("/token", headers=flows.basic(client_id, secret or ""), data={
        "grant_type": "password", "username": user["email"], "password": user["password"]})
    assert refused.status_code == 400 and refused.json()["error"] == "unauthorized_client"


async def test_client_credentials_scopes_follow_the_allow_list(
    api: Api, service_client: tuple[str, str]
) -> None:
    headers = flows.basic(*service_client)
    ok = await api.post("/token", headers=headers,
                        data={"grant_type": "client_credentials", "scope": "openid"})
    assert ok.status_code == 200
    refused = await api.post("/token", headers=headers,
                             data={"grant_type": "client_credentials", "scope": "root"})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"


async def _client_token(api: Api, client: tuple[str, str]) -> str:
    answer = await api.post("/token", data={"grant_type": "client_credentials"},
                            headers=flows.basic(*client))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


@pytest.mark.parametrize("how", ["rotate", "delete", "disable"])
async def test_rotating_or_deleting_a_client_ends_its_tokens_at_once(
    api: Api, state: Components, admin: dict[str, Any], how: str
) -> None:
    client = await flows.new_client(state, "billing")
    resource = await flows.new_client(state, "resource")
    token = await _client_token(api, client)
    assert (await flows.introspect(api, resource, token))["active"] is True  # cached now
    url = f"/admin/clients/{client[0]}"
    if how == "rotate":
        answer = await api.post(f"{url}/rotate-secret", headers=admin["headers"])
        new = (client[0], answer.json()["client_secret"])
    elif how == "delete":
        answer = await api.delete(url, headers=admin["headers"])
    else:
        answer = await api.patch(url, json={"is_active": False}, headers=admin["headers"])
    assert answer.status_code in (200, 204), answer.text
    assert await flows.introspect(api, resource, token) == {"active": False}
    if how == "rotate":  # the new secret's tokens are live
        fresh = await _client_token(api, new)
        assert (await flows.introspect(api, resource, fresh))["active"] is True


async def test_revoke_only_by_the_tokens_own_client(api: Api, state: Components) -> None:
    owner = await flows.new_client(state, "a")
    other = await flows.new_client(state, "b")
    user = await flows.register(api)
    issued = (await flows.password_grant(api, user["email"], user["password"],
                                         client_id=owner[0], client_secret=owner[1])).json()
    for token in (issued["refresh_token"], issued["access_token"]):
        answer = await api.post("/revoke", data={"token": token}, headers=flows.basic(*other))
        assert answer.status_code == 200  # no hint that the token exists
    assert (await flows.introspect(api, owner, issued["access_token"]))["active"] is True
    assert (await flows.refresh(api, issued["refresh_token"])).status_code == 200
    # A token issued to no client: any authenticated client may revoke it (as before).
    plain = await flows.login(api, user)
    await api.post("/revoke", data={"token": plain["refresh_token"]},
                   headers=flows.basic(*other))
    assert (await flows.refresh(api, plain["refresh_token"])).status_code == 400


async def test_the_owner_revokes_its_refresh_token(api: Api, state: Components) -> None:
    owner = await flows.new_client(state, "a")
    user = await flows.register(api)
    issued = (await flows.password_grant(api, user["email"], user["password"],
                                         client_id=owner[0], client_secret=owner[1])).json()
    await api.post("/revoke", data={"token": issued["refresh_token"]},
                   headers=flows.basic(*owner))
    assert (await flows.refresh(api, issued["refresh_token"])).status_code == 400
    assert (await flows.introspect(api, owner, issued["access_token"]))["active"] is False
