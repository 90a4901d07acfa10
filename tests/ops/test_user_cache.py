"""The user cache never serves a stale `active` or `roles` at /introspect."""

from __future__ import annotations

from typing import Any

from authsvc.kv import Keys
from tests import flows
from tests.infra import Api


async def test_role_change_and_disable_are_seen_at_once(api: Api, admin: dict[str, Any],
                                                        state, service_client) -> None:
    user = await flows.register(api)
    issued = await flows.login(api, user)
    token = issued["access_token"]
    assert (await flows.introspect(api, service_client, token))["roles"] == []
    assert await state.redis.exists(Keys.user(user["id"]))  # the view is cached now
    hits = state.user_cache.hits
    assert (await flows.introspect(api, service_client, token))["active"] is True
    assert state.user_cache.hits == hits + 1

    await api.patch(f"/admin/users/{user['id']}", json={"roles": ["editor"]},
                    headers=admin["mfa_headers"])
    assert (await flows.introspect(api, service_client, token))["roles"] == ["editor"]

    await api.patch(f"/admin/users/{user['id']}", json={"is_active": False},
                    headers=admin["headers"])
    assert await flows.introspect(api, service_client, token) == {"active": False}
    me = await api.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401
