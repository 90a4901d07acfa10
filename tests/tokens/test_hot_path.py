"""The introspection hot path stays off the database: an active access token, once its user
and client are cached, is introspected with zero SQL statements (not timed)."""

from __future__ import annotations

from authsvc.composition import Components
from tests import flows
from tests.counting import counting_redis_writes, counting_sql
from tests.infra import Api


async def test_introspecting_an_active_token_runs_no_sql(
    api: Api, state: Components, service_client: tuple[str, str]
) -> None:
    user = await flows.register(api)
    tokens = await flows.login(api, user)
    warm = await flows.introspect(api, service_client, tokens["access_token"])  # fills caches
    assert warm["active"] is True
    with counting_sql(state) as statements:
        for _ in range(3):
            info = await flows.introspect(api, service_client, tokens["access_token"])
            assert info["active"] is True and info["sub"] == user["id"]
    assert statements == []


async def test_a_fresh_token_of_a_cached_user_runs_no_sql(
    api: Api, state: Components, service_client: tuple[str, str]
) -> None:
    """A token this process has not verified yet (signature checked anew) still needs no SQL."""
    user = await flows.register(api)
    first = await flows.login(api, user)
    assert (await flows.introspect(api, service_client, first["access_token"]))["active"]
    second = await flows.login(api, user)
    with counting_sql(state) as statements:
        info = await flows.introspect(api, service_client, second["access_token"])
    assert info["active"] is True
    assert statements == []


async def test_the_counter_sees_sql(api: Api, state: Components) -> None:
    """The listener itself works: a registration writes."""
    with counting_sql(state) as statements:
        await flows.register(api)
    assert statements


async def test_the_per_client_limit_counts_each_introspection_once(make_settings) -> None:
    """The limit is counted in the hot path's one Redis round trip for active tokens and on its
    own for anything else: either way exactly once per request, and 429 + Retry-After after."""
    from authsvc.db import transaction
    from authsvc.main import create_app
    from tests import infra

    app = create_app(make_settings(rate_limit_introspect="4/60"))
    async with infra.running(app):
        state = app.state.authsvc
        async for session in transaction(state.sessions):
            issued = await state.clients.create(session, "limited")
        client = (issued.client_id, issued.client_secret)
        async with infra.Api(app) as api:
            user = await flows.register(api)
            tokens = await flows.login(api, user)
            assert (await flows.introspect(api, client, tokens["access_token"]))["active"]
            assert (await flows.introspect(api, client, "malformed")) == {"active": False}
            assert (await flows.introspect(api, client, tokens["access_token"]))["active"]
            assert (await flows.introspect(api, client, tokens["refresh_token"]))["active"]
            refused = await api.post("/introspect", data={"token": tokens["access_token"]},
                                     headers=flows.basic(*client))
            assert refused.status_code == 429 and "retry-after" in refused.headers
            assert refused.json()["error"] == "rate_limited"


async def test_introspecting_an_active_token_is_one_redis_round_trip(make_settings) -> None:
    """Without the in-process cache: revocation list, family, user and the per-client rate limit
    in one pipeline, and no SCRIPT EXISTS before it (what a Script object inside a redis-py
    pipeline would add)."""
    from authsvc.main import create_app
    from tests import infra

    app = create_app(make_settings(introspection_cache_ttl=0, rate_limit_introspect="400/60"))
    async with infra.running(app), infra.Api(app) as api:
        client = await flows.new_client(app.state.authsvc)
        user = await flows.register(api)
        tokens = await flows.login(api, user)
        assert (await flows.introspect(api, client, tokens["access_token"]))["active"]
        with counting_redis_writes() as writes:
            info = await flows.introspect(api, client, tokens["access_token"])
        assert info["active"] is True
        assert len(writes) == 1


async def test_a_token_found_live_moments_ago_needs_no_redis_at_all(
    api: Api, state: Components, service_client: tuple[str, str]
) -> None:
    user = await flows.register(api)
    tokens = await flows.login(api, user)
    assert state.introspector.near.live
    assert (await flows.introspect(api, service_client, tokens["access_token"]))["active"]
    state.introspect_share.interval = 60.0  # no batch of the rate limit falls due meanwhile
    try:
        with counting_redis_writes() as writes:
            for _ in range(5):
                info = await flows.introspect(api, service_client, tokens["access_token"])
                assert info["active"] is True
    finally:
        state.introspect_share.interval = 0.1
    assert writes == []


async def test_the_limit_still_counts_after_redis_lost_its_scripts(make_settings) -> None:
    """NOSCRIPT (a restarted Redis, SCRIPT FLUSH) is answered by loading the script and counting
    the request then: the limit neither breaks nor leaks."""
    from authsvc.main import create_app
    from tests import infra

    app = create_app(make_settings(rate_limit_introspect="3/60"))
    async with infra.running(app), infra.Api(app) as api:
        state = app.state.authsvc
        client = await flows.new_client(state, "scripted")
        user = await flows.register(api)
        tokens = await flows.login(api, user)
        assert (await flows.introspect(api, client, tokens["access_token"]))["active"]
        await state.redis.script_flush()
        assert (await flows.introspect(api, client, tokens["access_token"]))["active"]
        assert (await flows.introspect(api, client, tokens["access_token"]))["active"]
        refused = await api.post("/introspect", data={"token": tokens["access_token"]},
                                 headers=flows.basic(*client))
        assert refused.status_code == 429
