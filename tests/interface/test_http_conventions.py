"""HTTP conventions a client expects: 405 with Allow (RFC 9110 §15.5.6), HEAD wherever GET
works (§9.3.2), the bare Bearer challenge for a request without a token (RFC 6750 §3.1), and
introspection answers without null members (RFC 7662 §2.2)."""

from __future__ import annotations

from typing import Any

import pytest

from tests import flows
from tests.infra import Api


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("GET", "/token", {"POST"}),
    ("GET", "/introspect", {"POST"}),
    ("DELETE", "/users/me", {"GET", "HEAD"}),
    ("PUT", "/health/live", {"GET", "HEAD"}),
    ("PUT", "/login", {"GET", "HEAD", "POST"}),  # a page: GET and POST are two routes
])
async def test_405_carries_allow(api: Api, method: str, path: str, allowed: set[str]) -> None:
    response = await api.request(method, path)
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} >= allowed
    assert method not in response.headers["allow"]
    assert response.json()["error"] == "method_not_allowed"


@pytest.mark.parametrize("path", ["/health/live", "/health/ready", "/password-policy",
                                  "/.well-known/oauth-authorization-server", "/openapi.json",
                                  "/login", "/docs"])
async def test_head_works_wherever_get_does(api: Api, path: str) -> None:
    got = await api.get(path)
    head = await api.head(path)
    assert got.status_code == 200
    assert head.status_code == 200, head.text
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]


async def test_head_of_a_bearer_endpoint_is_refused_like_get(api: Api) -> None:
    head = await api.head("/users/me")
    assert head.status_code == 401 and head.content == b""


async def test_no_token_gets_the_bare_bearer_challenge(api: Api) -> None:
    response = await api.get("/users/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="authsvc"'
    assert response.json()["error"] == "invalid_token"


async def test_a_bad_token_keeps_the_error_code(api: Api) -> None:
    response = await api.get("/users/me", headers={"Authorization": "Bearer not-a-jwt"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def _nulls(body: dict[str, Any]) -> list[str]:
    return [name for name, value in body.items() if value is None]


async def test_introspection_omits_members_without_value(api: Api, service_client) -> None:
    user = await flows.register(api)
    issued = await flows.login(api, user)  # a password grant without a client: no client_id
    access = await flows.introspect(api, service_client, issued["access_token"])
    assert access["active"] is True and "client_id" not in access
    assert not _nulls(access)
    refresh = await flows.introspect(api, service_client, issued["refresh_token"],
                                     token_type_hint="refresh_token")
    assert refresh["active"] is True and not _nulls(refresh)


async def test_client_credentials_introspection_has_no_nulls(api: Api, service_client) -> None:
    client_id, secret = service_client
    issued = await api.post("/token", data={"grant_type": "client_credentials"},
                            headers=flows.basic(client_id, secret))
    assert issued.status_code == 200, issued.text
    body = await flows.introspect(api, service_client, issued.json()["access_token"])
    assert body["active"] is True and not _nulls(body)
