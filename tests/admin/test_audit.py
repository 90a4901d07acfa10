"""GET /admin/audit: a row for each security event, filters, newest first, cursor paging."""

from __future__ import annotations

from typing import Any

from tests import flows
from tests.admin.conftest import lock_out
from tests.infra import STRONG_PASSWORD, Api


async def _events(api: Api, admin: dict[str, Any], **params: Any) -> list[dict[str, Any]]:
    response = await api.get("/admin/audit", params=params, headers=admin["headers"])
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


async def test_each_security_event_leaves_a_row(api: Api, admin: dict[str, Any],
                                                no_cooldown, state: Any,
                                                monkeypatch: Any) -> None:
    user = await flows.register(api)
    uid = user["id"]
    issued = await flows.login(api, user)                                   # login_success
    rotated = await flows.refresh(api, issued["refresh_token"])
    assert rotated.status_code == 200
    flows.past_reuse_grace(state, monkeypatch)  # (within the grace: the same pair again)
    assert (await flows.refresh(api, issued["refresh_token"])).status_code == 400  # token_reuse
    changed = await api.post("/users/me/password", headers={
        "Authorization": f"Bearer {(await flows.login(api, user))['access_token']}"},
        json={"current_password": STRONG_PASSWORD, "new_password": "Another-Good-Pass-42"})
    assert changed.status_code == 204                                       # password_changed
    await api.patch(f"/admin/users/{uid}", json={"roles": ["auditor"]},
                    headers=admin["mfa_headers"])                           # role_changed
    await api.patch(f"/admin/users/{uid}", json={"is_active": False},
                    headers=admin["headers"])                               # user_disabled
    await api.patch(f"/admin/users/{uid}", json={"is_active": True},
                    headers=admin["headers"])                               # user_enabled
    created = await api.post("/admin/clients", json={"name": "audited"},
                             headers=admin["headers"])                      # client_created
    victim = await flows.register(api)
    await lock_out(api, victim["email"])                                    # failures, lockout

    types = [e["type"] for e in await _events(api, admin, user_id=uid, limit=100)]
    for expected in ("login_success", "token_reuse", "password_changed", "role_changed",
                     "user_disabled", "user_enabled"):
        assert expected in types, expected
    role = (await _events(api, admin, user_id=uid, type="role_changed"))[0]
    assert role["details"]["new"] == ["auditor"]
    assert role["details"]["actor"] == admin["user"]["id"]
    clients = await _events(api, admin, type="client_created")
    assert clients[0]["subject"] == created.json()["client_id"]
    assert created.json()["client_secret"] not in str(clients)
    failures = await _events(api, admin, type="login_failure")
    assert any(e["subject"] == victim["email"] for e in failures)
    lockouts = await _events(api, admin, type="lockout")
    assert lockouts and lockouts[0]["subject"] == victim["email"]


async def test_newest_first_with_cursor_paging(api: Api, admin: dict[str, Any]) -> None:
    user = await flows.register(api)
    for _ in range(3):
        await flows.login(api, user)
    seen: list[int] = []
    cursor = None
    while True:
        params = {"user_id": user["id"], "limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await api.get("/admin/audit", params=params, headers=admin["headers"])
        body = response.json()
        seen += [e["id"] for e in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen, reverse=True) and len(seen) >= 4  # registered + 3 logins


async def test_bad_filters_are_422(api: Api, admin: dict[str, Any]) -> None:
    for params in ({"user_id": "nope"}, {"cursor": "zzz"}, {"limit": 500}):
        response = await api.get("/admin/audit", params=params, headers=admin["headers"])
        assert response.status_code == 422, params
