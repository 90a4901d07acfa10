"""With Redis unreachable nothing fails open: 503 with Retry-After, and recovery by itself."""

from __future__ import annotations

import pytest

from authsvc.main import create_app
from tests import flows, infra


@pytest.fixture
def own_redis():
    server = infra.RedisServer()
    server.start()
    yield server
    server.stop()


async def test_redis_down_means_503_and_back_means_service(make_settings, own_redis) -> None:
    app = create_app(make_settings(redis_url=own_redis.url, redis_timeout=0.5))
    async with infra.running(app), infra.Api(app) as api:
        state = app.state.authsvc
        client = await flows.new_client(state)
        user = await flows.register(api)
        tokens = await flows.login(api, user)
        assert (await flows.introspect(api, client, tokens["access_token"]))["active"]

        own_redis.stop()
        login = await flows.password_grant(api, user["email"], user["password"])
        assert login.status_code == 503 and "retry-after" in login.headers
        assert login.json()["error"] == "temporarily_unavailable"
        refresh = await flows.refresh(api, tokens["refresh_token"])
        assert refresh.status_code == 503
        introspection = await api.post("/introspect", data={"token": tokens["access_token"]},
                                       headers=flows.basic(*client))
        assert introspection.status_code == 503
        assert "active" not in introspection.text
        assert (await api.get("/health/ready")).status_code == 503
        assert (await api.get("/health/live")).status_code == 200

        own_redis.start()  # comes back empty
        assert (await api.get("/health/ready")).status_code == 200
        assert (await flows.introspect(api, client, tokens["access_token"]))["active"]
        assert (await flows.password_grant(api, user["email"], user["password"])).status_code == 200
