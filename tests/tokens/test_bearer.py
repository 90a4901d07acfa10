"""Bearer-protected endpoints answer RFC 6750 §3 errors that tell expired, revoked and
malformed apart."""

from __future__ import annotations

import time

from jose import jwt

from tests import flows
from tests.infra import Api
from tests.tokens.test_introspection import forge


async def _me(api: Api, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await api.get("/users/me", headers=headers)


async def test_missing_and_malformed_tokens(api: Api) -> None:
    for token in (None, "garbage", "a.b.c"):
        response = await _me(api, token)
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_token"
        challenge = response.headers["www-authenticate"]
        if token is None:  # RFC 6750 §3.1: no error code when no token was sent (CONTRACT.md)
            assert challenge == 'Bearer realm="authsvc"'
        else:
            assert challenge.startswith('Bearer error="invalid_token"')


async def test_expired_token_says_expired(api: Api) -> None:
    user = await flows.register(api)
    token = forge({"sub": user["id"], "exp": int(time.time()) - 60})
    response = await _me(api, token)
    assert response.status_code == 401
    assert response.json()["error"] == "token_expired"
    assert "expired" in response.headers["www-authenticate"]


async def test_revoked_token_says_revoked(api: Api) -> None:
    user = await flows.register(api)
    tokens = await flows.login(api, user)
    await api.post("/logout", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    response = await _me(api, tokens["access_token"])
    assert response.status_code == 401
    assert response.json()["error"] == "token_revoked"
    assert "revoked" in response.headers["www-authenticate"]


async def test_refresh_token_is_not_a_bearer_token(api: Api) -> None:
    user = await flows.register(api)
    tokens = await flows.login(api, user)
    assert (await _me(api, tokens["refresh_token"])).status_code == 401


async def test_client_credentials_token_is_not_a_user_token(api: Api, service_client) -> None:
    response = await api.post("/token", data={"grant_type": "client_credentials"},
                              headers=flows.basic(*service_client))
    token = response.json()["access_token"]
    assert (await _me(api, token)).status_code == 401


async def test_within_leeway_is_still_refused_once_expired(api: Api) -> None:
    """Expiry is exact: the 30 s leeway is for other servers' clocks, not ours."""
    user = await flows.register(api)
    token = forge({"sub": user["id"], "exp": int(time.time()) - 1})
    assert (await _me(api, token)).status_code == 401
    assert jwt.get_unverified_claims(token)["exp"] < time.time()
