"""POST /introspect (RFC 7662): active tokens described, everything else `{"active": false}`."""

from __future__ import annotations

import base64
import json
import time
import uuid

from jose import jwt

from tests import flows
from tests.infra import Api

SECRET = "test-jwt-secret-that-is-long-enough-0123456789"
ISSUER = "http://authsvc.test"


def forge(claims: dict, key: str = SECRET, **header) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": ISSUER, "iat": now, "nbf": now, "exp": now + 600,
               "jti": uuid.uuid4().hex, "typ": "access", **claims}
    return jwt.encode(payload, key, algorithm="HS256", headers=header or None)


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_active_access_token_is_described(api: Api, service_client) -> None:
    user = await flows.register(api)
    tokens = await flows.login(api, user)
    info = await flows.introspect(api, service_client, tokens["access_token"])
    assert info["active"] is True
    assert info["sub"] == user["id"]
    assert info["username"] == user["email"]
    assert info["token_type"] == "access_token"
    assert info["iss"] == ISSUER and info["aud"] == ISSUER
    for field in ("exp", "iat", "nbf", "jti", "roles", "amr", "auth_time"):
        assert field in info
    # issue 19: `scope` and `client_id` only when the token has them, never null
    assert None not in info.values()


async def test_refresh_token_is_reported_as_refresh_token(api: Api, service_client) -> None:
    user = await flows.register(api)
    tokens = await flows.login(api, user)
    info = await flows.introspect(api, service_client, tokens["refresh_token"],
                                  token_type_hint="refresh_token")
    assert info["active"] is True and info["token_type"] == "refresh_token"
    await flows.refresh(api, tokens["refresh_token"])
    spent = await flows.introspect(api, service_client, tokens["refresh_token"])
    assert spent == {"active": False}


async def test_introspection_needs_client_authentication(api: Api) -> None:
    response = await api.post("/introspect", data={"token": "x"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")


async def test_forged_and_broken_tokens_are_inactive(api: Api, service_client) -> None:
    user = await flows.register(api)
    tokens = await flows.login(api, user)
    good = tokens["access_token"]
    header, payload, signature = good.split(".")
    claims = jwt.get_unverified_claims(good)
    cases = {
        "tampered payload": f"{header}.{b64({**claims, 'roles': ['admin']})}.{signature}",
        "tampered signature": f"{header}.{payload}.{signature[:-2]}AA",
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "other key": forge({"sub": user["id"]}, key="another-secret-another-secret-123456"),
        "wrong audience": forge({"sub": user["id"], "aud": "http://elsewhere"}),
        "wrong issuer": forge({"sub": user["id"], "iss": "http://elsewhere"}),
        "no audience": jwt.encode({k: v for k, v in jwt.get_unverified_claims(
            forge({"sub": user["id"]})).items() if k != "aud"}, SECRET, algorithm="HS256"),
        "no expiry": jwt.encode({k: v for k, v in jwt.get_unverified_claims(
            forge({"sub": user["id"]})).items() if k != "exp"}, SECRET, algorithm="HS256"),
        "expired": forge({"sub": user["id"], "exp": int(time.time()) - 5}),
        "wrong type": forge({"sub": user["id"], "typ": "mfa"}),
        "no type": forge({"sub": user["id"], "typ": None}),
        "unknown user": forge({"sub": str(uuid.uuid4())}),
        "garbage": "not-a-token",
        "empty": "",
    }
    for name, token in cases.items():
        info = await flows.introspect(api, service_client, token)
        assert info == {"active": False}, name


async def test_a_forged_token_for_a_real_user_with_a_good_key_is_active(
    api: Api, service_client
) -> None:
    """Control for the test above: the forge helper makes tokens the service accepts."""
    user = await flows.register(api)
    info = await flows.introspect(api, service_client, forge({"sub": user["id"]}))
    assert info["active"] is True


async def test_revoked_access_token_is_inactive(api: Api, service_client) -> None:
    user = await flows.register(api)
    tokens = await flows.login(api, user)
    response = await api.post("/revoke", data={"token": tokens["access_token"]},
                              headers=flows.basic(*service_client))
    assert response.status_code == 200
    assert await flows.introspect(api, service_client, tokens["access_token"]) == {
        "active": False}
    # The refresh token of the same login still works (only the access token was revoked).
    assert (await flows.refresh(api, tokens["refresh_token"])).status_code == 200


async def test_revoking_a_refresh_token_revokes_its_family(api: Api, service_client) -> None:
    user = await flows.register(api)
    tokens = await flows.login(api, user)
    response = await api.post("/revoke", data={"token": tokens["refresh_token"],
                                               "token_type_hint": "refresh_token"},
                              headers=flows.basic(*service_client))
    assert response.status_code == 200
    assert await flows.introspect(api, service_client, tokens["access_token"]) == {
        "active": False}
    assert (await flows.refresh(api, tokens["refresh_token"])).status_code == 400


async def test_revoke_accepts_unknown_tokens_and_needs_a_client(api: Api, service_client) -> None:
    response = await api.post("/revoke", data={"token": "whatever"},
                              headers=flows.basic(*service_client))
    assert response.status_code == 200
    response = await api.post("/revoke", data={"token": "whatever"})
    assert response.status_code == 401


async def test_revocation_survives_redis_flushall(api: Api, service_client, state) -> None:
    user = await flows.register(api)
    revoked = await flows.login(api, user)
    family_revoked = await flows.login(api, user)
    alive = await flows.login(api, user)
    await api.post("/revoke", data={"token": revoked["access_token"]},
                   headers=flows.basic(*service_client))
    await api.post("/revoke", data={"token": family_revoked["refresh_token"]},
                   headers=flows.basic(*service_client))

    await state.redis.flushdb()  # Redis comes back empty

    assert await flows.introspect(api, service_client, revoked["access_token"]) == {
        "active": False}
    assert await flows.introspect(api, service_client, family_revoked["access_token"]) == {
        "active": False}
    assert (await flows.introspect(api, service_client, alive["access_token"]))["active"]


async def test_disabled_user_tokens_are_inactive_at_once(api: Api, service_client, state) -> None:
    user = await flows.register(api)
    tokens = await flows.login(api, user)
    assert (await flows.introspect(api, service_client, tokens["access_token"]))["active"]

    from authsvc.db import transaction
    from authsvc.deps import get_identity

    async for session in transaction(state.sessions):
        identity = get_identity(state, session)
        row = await identity.get(user["id"])
        row.is_active = False
        await identity.changed(row)

    assert await flows.introspect(api, service_client, tokens["access_token"]) == {
        "active": False}
    assert (await flows.refresh(api, tokens["refresh_token"])).status_code == 400
    response = await api.get("/users/me",
                             headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert response.status_code == 401


async def test_logout_revokes_the_token_and_its_family(api: Api, service_client) -> None:
    user = await flows.register(api)
    tokens = await flows.login(api, user)
    response = await api.post("/logout",
                              headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert response.status_code == 204
    assert await flows.introspect(api, service_client, tokens["access_token"]) == {
        "active": False}
    assert (await flows.refresh(api, tokens["refresh_token"])).status_code == 400
