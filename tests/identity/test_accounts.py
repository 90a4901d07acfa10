"""Registration, the profile, the password policy endpoint and password changes."""

from __future__ import annotations

from tests import flows
from tests.infra import STRONG_PASSWORD, Api, unique_email


async def test_register_returns_the_user_and_ignores_roles(api: Api) -> None:
    email = unique_email()
    response = await api.post("/users", json={"email": email, "password": STRONG_PASSWORD,
                                              "display_name": "Ada", "roles": ["admin"]})
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == email
    assert body["roles"] == []
    assert "password" not in response.text and "hash" not in response.text


async def test_email_taken_is_409_also_in_another_case(api: Api) -> None:
    user = await flows.register(api)
    response = await api.post("/users", json={"email": user["email"].upper(),
                                              "password": STRONG_PASSWORD})
    assert response.status_code == 409
    assert response.json()["error"] == "email_taken"


async def test_weak_password_lists_every_unmet_rule(api: Api) -> None:
    response = await api.post("/users", json={"email": unique_email(), "password": "short"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "weak_password"
    assert {"min_length", "upper", "digits", "special"} <= set(body["unmet"])


async def test_invalid_bodies_are_422_with_the_error_shape(api: Api) -> None:
    for body in ({}, {"email": "x"}, {"email": "not-an-email", "password": STRONG_PASSWORD},
                 {"email": 5, "password": []}):
        response = await api.post("/users", json=body)
        assert response.status_code == 422, body
        assert set(response.json()) >= {"error", "error_description"}


async def test_profile_shows_mfa_state(api: Api) -> None:
    user = await flows.register(api)
    tokens = await flows.login(api, user)
    response = await api.get("/users/me",
                             headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == user["id"]
    assert body["mfa"] == {"totp": False, "email": False, "recovery_codes_left": 0,
                          "passkeys": 0}


async def test_password_policy_is_public(api: Api) -> None:
    response = await api.get("/password-policy")
    assert response.status_code == 200
    body = response.json()
    assert body["min_length"] >= 12 and body["requirements"]


async def test_password_change_revokes_other_sessions_and_keeps_this_one(
    api: Api, service_client, clock
) -> None:
    user = await flows.register(api)
    other = await flows.login(api, user)
    mine = await flows.login(api, user)
    bearer = {"Authorization": f"Bearer {mine['access_token']}"}
    wrong = await api.post("/users/me/password", headers=bearer,
                           json={"current_password": "nope", "new_password": "Another-Pass-99"})
    assert wrong.status_code == 400
    weak = await api.post("/users/me/password", headers=bearer,
                          json={"current_password": user["password"], "new_password": "weak"})
    assert weak.status_code == 422
    response = await api.post("/users/me/password", headers=bearer, json={
        "current_password": user["password"], "new_password": "Another-Pass-99"})
    assert response.status_code == 204
    assert await flows.introspect(api, service_client, other["access_token"]) == {
        "active": False}
    assert (await flows.refresh(api, other["refresh_token"])).status_code == 400
    assert (await flows.introspect(api, service_client, mine["access_token"]))["active"]
    assert (await flows.password_grant(api, user["email"], user["password"])).status_code == 400
    clock.advance(2)  # past the progressive cooldown after that failure
    assert (await flows.password_grant(api, user["email"], "Another-Pass-99")).status_code == 200
