"""Bad input on the provider's endpoints: a clear 4xx, never a 500, nothing changes."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from authsvc.composition import Components
from tests.infra import Api
from tests.oidc.helpers import REDIRECT, authorize_params, new_app, pkce

NASTY = ["\x00", "c_\x00x", "x" * 5000, "%00", "é" * 70, "c_ space", "<script>"]


@pytest.mark.parametrize("value", NASTY)
async def test_authorize_with_a_hostile_client_id_is_an_error_page(
    api: Api, value: str
) -> None:
    response = await api.get("/authorize", params={"client_id": value, "redirect_uri": REDIRECT,
                                                   "response_type": "code"})
    assert response.status_code == 400 and "location" not in response.headers


@pytest.mark.parametrize("name", ["state", "nonce", "login_hint", "scope", "code_challenge",
                                  "prompt", "max_age"])
async def test_authorize_with_hostile_parameters_never_fails(
    api: Api, state: Components, name: str
) -> None:
    client_id, _ = await new_app(state)
    _, challenge = pkce()
    for value in NASTY:
        params = authorize_params(client_id, challenge, **{name: value})
        response = await api.get("/authorize", params=params)
        assert response.status_code in (303, 400), (name, value[:10], response.status_code)


@pytest.mark.parametrize("value", NASTY)
async def test_logout_and_admin_with_hostile_ids(
    api: Api, admin: dict[str, Any], value: str
) -> None:
    logout = await api.get("/logout", params={"client_id": value,
                                              "post_logout_redirect_uri": REDIRECT})
    assert logout.status_code == 400
    hint = await api.get("/logout", params={"id_token_hint": value})
    assert hint.status_code in (200, 400)
    for method in ("GET", "DELETE"):
        answer = await api.request(method, f"/admin/clients/{quote(value, safe='')}",
                                   headers=admin["headers"])
        assert answer.status_code in (404, 422), (method, answer.status_code)


async def test_token_with_a_hostile_code(api: Api, state: Components) -> None:
    client_id, secret = await new_app(state)
    from tests import flows

    for code in ("x" * 300, "é", "a b"):
        answer = await api.post("/token", data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "code_verifier": "v" * 50}, headers=flows.basic(client_id, secret or ""))
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("client_id", ["%00", "c_%00", "%C3%A9" * 10])
async def test_basic_auth_with_a_hostile_client_id_is_invalid_client(
    api: Api, client_id: str
) -> None:
    import base64

    raw = base64.b64encode(f"{client_id}:secret".encode()).decode()
    for path in ("/introspect", "/revoke", "/token"):
        answer = await api.post(path, data={"token": "x", "grant_type": "client_credentials"},
                                headers={"Authorization": f"Basic {raw}"})
        assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
