"""RFC 9700 §4.14: of N concurrent refreshes of one token at most one rotates it, and a replay
revokes the family — except that the same client within AUTHSVC_REFRESH_REUSE_GRACE gets the
same successor pair (CONTRACT.md, /token)."""

from __future__ import annotations

import asyncio

from authsvc.main import create_app
from tests import flows, infra
from tests.infra import Api


async def test_concurrent_refreshes_by_one_client_all_get_the_same_successor(
    api: Api, service_client
) -> None:
    user = await flows.register(api)
    tokens = await flows.login(api, user)
    answers = await asyncio.gather(
        *(flows.refresh(api, tokens["refresh_token"]) for _ in range(10))
    )
    assert [r.status_code for r in answers] == [200] * 10, [r.text for r in answers]
    assert len({r.text for r in answers}) == 1  # the very same pair, ten times
    pair = answers[0].json()
    assert await flows.introspect(api, service_client, pair["access_token"]) != {"active": False}
    assert (await flows.refresh(api, pair["refresh_token"])).status_code == 200


async def test_concurrent_refreshes_of_one_token_succeed_at_most_once(make_settings) -> None:
    """With the grace off (AUTHSVC_REFRESH_REUSE_GRACE=0), the strict RFC 9700 rule."""
    app = create_app(make_settings(refresh_reuse_grace=0))
    async with infra.running(app), infra.Api(app) as api:
        await _at_most_once(api, await flows.new_client(app.state.authsvc))


async def _at_most_once(api: Api, service_client: tuple[str, str]) -> None:
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
