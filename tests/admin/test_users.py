"""Admin API, users: permissions, paging, roles with step-up, disable, unlock."""

from __future__ import annotations

from typing import Any

from tests import flows
from tests.admin.conftest import bearer, lock_out
from tests.infra import Api


async def test_non_admin_gets_403(api: Api) -> None:
    user = await flows.register(api)
    issued = await flows.login(api, user)
    for method, path in (("GET", "/admin/users"), ("GET", "/admin/clients"),
                         ("GET", "/admin/audit"), ("POST", "/admin/clients")):
        response = await api.request(method, path, headers=bearer(issued["access_token"]),
                                     json={"name": "x"} if method == "POST" else None)
        assert response.status_code == 403, (path, response.text)
        assert response.json()["error"] == "insufficient_role"


async def test_no_token_gets_401(api: Api) -> None:
    response = await api.get("/admin/users")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_users_are_paged_with_an_opaque_cursor(api: Api, admin: dict[str, Any]) -> None:
    for _ in range(3):
        await flows.register(api)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await api.get("/admin/users", params=params, headers=admin["headers"])
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= 2
        seen += [item["id"] for item in body["items"]]
        assert all("password_hash" not in item for item in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) >= 4
    assert admin["user"]["id"] in seen


async def test_bad_paging_values_are_422(api: Api, admin: dict[str, Any]) -> None:
    for params in ({"limit": 0}, {"limit": 101}, {"limit": "x"}, {"cursor": "!!not-ours"},
                   {"cursor": "YTox"}):
        response = await api.get("/admin/users", params=params, headers=admin["headers"])
        assert response.status_code == 422, params
        assert response.json()["error"] == "invalid_request"


async def test_unknown_or_malformed_ids_are_404(api: Api, admin: dict[str, Any]) -> None:
    for user_id in ("00000000-0000-4000-8000-000000000000", "not-a-uuid", "1"):
        response = await api.patch(f"/admin/users/{user_id}", json={"is_active": False},
                                   headers=admin["headers"])
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "not_found"
        response = await api.post(f"/admin/users/{user_id}/unlock", headers=admin["headers"])
        assert response.status_code == 404


async def test_changing_roles_needs_a_step_up(api: Api, admin: dict[str, Any],
                                              service_client) -> None:
    user = await flows.register(api)
    issued = await flows.login(api, user)
    refused = await api.patch(f"/admin/users/{user['id']}", json={"roles": ["auditor"]},
                              headers=admin["headers"])
    assert refused.status_code == 403
    assert refused.json()["error"] == "mfa_step_up_required"
    allowed = await api.patch(f"/admin/users/{user['id']}", json={"roles": ["auditor"]},
                              headers=admin["mfa_headers"])
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["roles"] == ["auditor"]
    # Seen at /introspect at once, on a token issued before the change.
    info = await flows.introspect(api, service_client, issued["access_token"])
    assert info["active"] is True and info["roles"] == ["auditor"]


async def test_unknown_fields_and_bad_roles_are_422(api: Api, admin: dict[str, Any]) -> None:
    user = await flows.register(api)
    for body in ({"email": "x@example.com"}, {"roles": ["Not A Role"]}, {"is_active": "maybe"}):
        response = await api.patch(f"/admin/users/{user['id']}", json=body,
                                   headers=admin["mfa_headers"])
        assert response.status_code == 422, body


async def test_disabling_ends_every_session_at_once(api: Api, admin: dict[str, Any],
                                                    service_client) -> None:
    user = await flows.register(api)
    first = await flows.login(api, user)
    second = await flows.login(api, user)
    response = await api.patch(f"/admin/users/{user['id']}", json={"is_active": False},
                               headers=admin["headers"])
    assert response.status_code == 200 and response.json()["is_active"] is False
    for issued in (first, second):
        assert await flows.introspect(api, service_client, issued["access_token"]) == {
            "active": False}
        assert await flows.introspect(api, service_client, issued["refresh_token"]) == {
            "active": False}
        refused = await flows.refresh(api, issued["refresh_token"])
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    login = await flows.password_grant(api, user["email"], user["password"])
    assert login.status_code == 400

    enabled = await api.patch(f"/admin/users/{user['id']}", json={"is_active": True},
                              headers=admin["headers"])
    assert enabled.status_code == 200 and enabled.json()["is_active"] is True
    # The refused login above started a cooldown; clear it and sign in again.
    await api.post(f"/admin/users/{user['id']}/unlock", headers=admin["headers"])
    await flows.login(api, user)


async def test_admin_cannot_disable_or_demote_themselves(api: Api, admin: dict[str, Any]) -> None:
    me = admin["user"]["id"]
    for body in ({"is_active": False}, {"roles": []}):
        response = await api.patch(f"/admin/users/{me}", json=body,
                                   headers=admin["mfa_headers"])
        assert response.status_code == 409, body


async def test_unlock_clears_a_real_lockout(api: Api, admin: dict[str, Any], no_cooldown,
                                            state) -> None:
    user = await flows.register(api)
    await lock_out(api, user["email"])
    assert await state.protector.get_remaining_attempts(user["email"]) == 0
    locked = await flows.password_grant(api, user["email"], user["password"])
    assert locked.status_code == 429 and locked.json()["error"] == "temporarily_locked"
    response = await api.post(f"/admin/users/{user['id']}/unlock", headers=admin["headers"])
    assert response.status_code == 204
    await flows.login(api, user)
