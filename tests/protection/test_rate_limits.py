"""Per-address rate limits, and the client address behind (un)trusted proxies."""

from __future__ import annotations

from authsvc.main import create_app
from tests import flows, infra


async def test_token_endpoint_is_limited_per_address(api: infra.Api, app, clock) -> None:
    limit = app.state.authsvc.rates["rate_limit_token"].limit
    for _ in range(limit):
        response = await api.post("/token", data={"grant_type": "nope"})
        assert response.status_code == 400
    refused = await api.post("/token", data={"grant_type": "nope"})
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    assert int(refused.headers["retry-after"]) >= 1
    async with infra.Api(app) as neighbour:  # another address is not affected
        assert (await neighbour.post("/token", data={"grant_type": "nope"})).status_code == 400
    clock.advance(120)
    assert (await api.post("/token", data={"grant_type": "nope"})).status_code == 400


async def test_spoofed_forwarded_for_changes_nothing_from_an_untrusted_peer(
    api: infra.Api, app
) -> None:
    limit = app.state.authsvc.rates["rate_limit_token"].limit
    answers = []
    for i in range(limit + 1):
        answers.append(await api.post("/token", data={"grant_type": "nope"},
                                      headers={"X-Forwarded-For": f"203.0.113.{i}"}))
    assert answers[-1].status_code == 429


async def test_forwarded_for_is_believed_from_a_trusted_proxy(make_settings) -> None:
    app = create_app(make_settings(trusted_proxies="10.250.0.0/16", rate_limit_token="3/60"))
    async with infra.running(app), infra.Api(app, ip="10.250.0.5") as proxy:
        for _ in range(3):
            response = await proxy.post("/token", data={"grant_type": "nope"},
                                        headers={"X-Forwarded-For": "198.51.100.7"})
            assert response.status_code == 400
        limited = await proxy.post("/token", data={"grant_type": "nope"},
                                   headers={"X-Forwarded-For": "198.51.100.7"})
        assert limited.status_code == 429
        # The client cannot escape by prepending a fake hop: the right-most untrusted hop counts.
        spoofed = await proxy.post("/token", data={"grant_type": "nope"},
                                   headers={"X-Forwarded-For": "1.2.3.4, 198.51.100.7"})
        assert spoofed.status_code == 429
        other = await proxy.post("/token", data={"grant_type": "nope"},
                                 headers={"X-Forwarded-For": "198.51.100.8"})
        assert other.status_code == 400


async def test_registration_is_limited_per_address(make_settings) -> None:
    app = create_app(make_settings(rate_limit_register="2/60"))
    async with infra.running(app), infra.Api(app) as api:
        await flows.register(api)
        await flows.register(api)
        refused = await api.post("/users", json={"email": infra.unique_email(),
                                                 "password": infra.STRONG_PASSWORD})
        assert refused.status_code == 429 and "retry-after" in refused.headers


async def test_introspection_is_limited_per_client_not_per_address(make_settings) -> None:
    app = create_app(make_settings(rate_limit_introspect="3/60"))
    async with infra.running(app):
        state = app.state.authsvc
        one = await flows.new_client(state, "one")
        two = await flows.new_client(state, "two")
        async with infra.Api(app) as api:
            for _ in range(3):
                await flows.introspect(api, one, "x")
            async with infra.Api(app) as elsewhere:  # another address, same client: limited
                refused = await elsewhere.post("/introspect", data={"token": "x"},
                                               headers=flows.basic(*one))
                assert refused.status_code == 429
            # The neighbouring client is not throttled.
            assert (await flows.introspect(api, two, "x")) == {"active": False}
