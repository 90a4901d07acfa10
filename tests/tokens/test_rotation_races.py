"""RFC 9700 §4.14: of N concurrent refreshes of one token at most one succeeds, and a replay
revokes the family."""

from __future__ import annotations

import asyncio

from tests import flows
from tests.infra import Api


async def test_concurrent_refreshes_of_one_token_succeed_at_most_once(
    api: Api, service_client
) -> None:
    user = await flows.register(api)
    tokens = await flows.login(api, user)
    answers = await asyncio.gather(
        *(flows.refresh(api, tokens["refresh_token"]) for _ in range(10))
    )
    winners = [r for r in answers if r.status_code == 200]
    assert len(winners) <= 1
    assert all(r.json()["error"] == "invalid_grant" for r in answers if r.status_code != 200)
    # The losers were replays: the family, and so the winner's tokens, are revoked.
    for winner in winners:
        body = winner.json()
        assert (await flows.refresh(api, body["refresh_token"])).status_code == 400
        assert await flows.introspect(api, service_client, body["access_token"]) == {
            "active": False}


async def test_sequential_rotation_keeps_the_family_alive(api: Api, service_client) -> None:
    user = await flows.register(api)
    tokens = await flows.login(api, user)
    for _ in range(5):
        response = await flows.refresh(api, tokens["refresh_token"])
        assert response.status_code == 200
        tokens = response.json()
    assert (await flows.introspect(api, service_client, tokens["access_token"]))["active"]
