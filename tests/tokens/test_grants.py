"""POST /token: every grant's success and every error the contract lists."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from jose import jwt

from authsvc.db import utcnow
from tests import flows
from tests.infra import Api, unique_email

SECRET = "test-jwt-secret-that-is-long-enough-0123456789"


async def test_password_grant_issues_access_and_refresh_tokens(api: Api) -> None:
    user = await flows.register(api)
    response = await flows.password_grant(api, user["email"], user["password"])
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    claims = jwt.decode(body["access_token"], SECRET, algorithms=["HS256"],
                        audience="http://authsvc.test", issuer="http://authsvc.test")
    assert claims["sub"] == user["id"]
    assert claims["typ"] == "access"
    assert claims["amr"] == ["pwd"]
    assert claims["roles"] == []
    assert abs(claims["auth_time"] - time.time()) < 30
    assert claims["exp"] - claims["iat"] == 900
    for claim in ("jti", "sid", "nbf"):
        assert claim in claims
    assert body["refresh_token"]


async def test_login_is_case_insensitive_on_the_email(api: Api) -> None:
    user = await flows.register(api, email=unique_email("Mixed").replace("mixed", "MiXeD"))
    response = await flows.password_grant(api, user["email"].upper(), user["password"])
    assert response.status_code == 200


async def test_wrong_password_unknown_user_and_disabled_user_get_one_identical_answer(
    api: Api, state
) -> None:
    user = await flows.register(api)
    disabled = await flows.register(api)
    import uuid

    from authsvc.db import transaction
    from authsvc.identity.repository import UserRepository

    async for session in transaction(state.sessions):
        row = await UserRepository(session).get(uuid.UUID(disabled["id"]))
        row.is_active = False

    answers = [
        await flows.password_grant(api, user["email"], "Wrong-password-123"),
        await flows.password_grant(api, unique_email("ghost"), user["password"]),
        await flows.password_grant(api, disabled["email"], disabled["password"]),
    ]
    assert {r.status_code for r in answers} == {400}
    assert len({r.text for r in answers}) == 1
    assert answers[0].json()["error"] == "invalid_grant"


async def test_refresh_rotates_and_spends_the_old_token(api: Api) -> None:
    user = await flows.register(api)
    first = await flows.login(api, user)
    second = await flows.refresh(api, first["refresh_token"])
    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]
    assert second.json()["access_token"] != first["access_token"]
    third = await flows.refresh(api, second.json()["refresh_token"])
    assert third.status_code == 200


async def test_reused_refresh_token_revokes_the_whole_family(
    api: Api, service_client: tuple[str, str], state: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await flows.register(api)
    first = await flows.login(api, user)
    second = (await flows.refresh(api, first["refresh_token"])).json()

    # Past AUTHSVC_REFRESH_REUSE_GRACE (within it, the same client gets the same pair back).
    later = state.settings.refresh_reuse_grace + 1
    monkeypatch.setattr(state.tokens, "now", lambda: utcnow() + timedelta(seconds=later))
    replay = await flows.refresh(api, first["refresh_token"])
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    # The legitimate descendant is dead too, and so are the family's access tokens.
    assert (await flows.refresh(api, second["refresh_token"])).status_code == 400
    for token in (first["access_token"], second["access_token"]):
        assert (await flows.introspect(api, service_client, token)) == {"active": False}


async def test_client_credentials_grant_gives_the_client_an_access_token(
    api: Api, service_client: tuple[str, str]
) -> None:
    response = await api.post("/token", data={"grant_type": "client_credentials"},
                              headers=flows.basic(*service_client))
    assert response.status_code == 200
    body = response.json()
    assert "refresh_token" not in body
    info = await flows.introspect(api, service_client, body["access_token"])
    assert info["active"] is True
    assert info["sub"] == service_client[0]
    assert info["client_id"] == service_client[0]


async def test_client_secret_post_is_accepted(api: Api, service_client: tuple[str, str]) -> None:
    client_id, secret = service_client
    response = await api.post("/token", data={"grant_type": "client_credentials",
                                              "client_id": client_id, "client_secret": secret})
    assert response.status_code == 200


async def test_bad_client_credentials_are_401_invalid_client(
    api: Api, service_client: tuple[str, str]
) -> None:
    client_id, _ = service_client
    for headers in (flows.basic(client_id, "wrong"), flows.basic("nobody", "x"),
                    {"Authorization": "Basic !!!notbase64"}):
        response = await api.post("/token", data={"grant_type": "client_credentials"},
                                  headers=headers)
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        assert response.headers["www-authenticate"].startswith("Basic")


async def test_unknown_grant_and_missing_parameters(api: Api) -> None:
    response = await api.post("/token", data={"grant_type": "implicit"})
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
    response = await api.post("/token", data={"grant_type": "password", "username": "a@b.co"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    response = await api.post("/token", json={"grant_type": "password"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_duplicate_form_parameters_are_refused(api: Api) -> None:
    response = await api.post(
        "/token", content="grant_type=password&grant_type=client_credentials",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_garbage_refresh_token_is_invalid_grant(api: Api) -> None:
    for token in ("garbage", "a.b.c", "x" * 9000):
        response = await flows.refresh(api, token)
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"


async def test_access_token_cannot_be_used_as_refresh_token(api: Api) -> None:
    user = await flows.register(api)
    tokens = await flows.login(api, user)
    response = await flows.refresh(api, tokens["access_token"])
    assert response.status_code == 400
