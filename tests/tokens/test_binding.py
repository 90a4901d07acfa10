"""Client binding (the design's defence against token sidejacking), in each mode."""

from __future__ import annotations

from authsvc.main import create_app
from tests import flows, infra


async def test_ua_binding_refuses_another_user_agent_at_bearer_endpoints_and_refresh(
    api: infra.Api, app, service_client
) -> None:
    user = await flows.register(api)
    tokens = await flows.login(api, user)
    thief = infra.Api(app, ip=api.ip, user_agent="evil-browser/6.6")
    async with thief:
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        response = await thief.get("/users/me", headers=bearer)
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_token"
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
        assert (await flows.refresh(thief, tokens["refresh_token"])).status_code == 400
    assert (await api.get("/users/me", headers=bearer)).status_code == 200
    assert (await flows.refresh(api, tokens["refresh_token"])).status_code == 200


async def test_introspection_checks_the_reported_user_agent(api: infra.Api, service_client) -> None:
    user = await flows.register(api)
    tokens = await flows.login(api, user)
    token = tokens["access_token"]
    ok = await flows.introspect(api, service_client, token, client_user_agent=api.user_agent)
    assert ok["active"] is True
    bad = await flows.introspect(api, service_client, token, client_user_agent="curl/8")
    assert bad == {"active": False}
    # Not reported: nothing to compare, the token stays active.
    assert (await flows.introspect(api, service_client, token))["active"] is True


async def test_mismatch_is_recorded_as_a_security_event(api: infra.Api, app, state) -> None:
    user = await flows.register(api)
    tokens = await flows.login(api, user)
    before = state.audit.counts["binding_mismatch"]
    async with infra.Api(app, user_agent="other/1") as thief:
        await thief.get("/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert state.audit.counts["binding_mismatch"] == before + 1


async def test_ua_ip_binding_also_checks_the_address(make_settings) -> None:
    app = create_app(make_settings(token_binding="ua+ip"))
    async with infra.running(app):
        async with infra.Api(app, ip="10.1.1.1") as home, \
                infra.Api(app, ip="10.9.9.9") as elsewhere:
            user = await flows.register(home)
            tokens = await flows.login(home, user)
            bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
            assert (await home.get("/users/me", headers=bearer)).status_code == 200
            assert (await elsewhere.get("/users/me", headers=bearer)).status_code == 401
            creds = await flows.new_client(app.state.authsvc)
            wrong_ip = await flows.introspect(home, creds, tokens["access_token"],
                                              client_ip="10.9.9.9")
            assert wrong_ip == {"active": False}
            right = await flows.introspect(home, creds, tokens["access_token"],
                                           client_ip="10.1.1.1",
                                           client_user_agent=home.user_agent)
            assert right["active"] is True


async def test_binding_off_accepts_any_client(make_settings) -> None:
    app = create_app(make_settings(token_binding="off"))
    async with infra.running(app):
        async with infra.Api(app) as one, infra.Api(app, user_agent="x/2") as two:
            user = await flows.register(one)
            tokens = await flows.login(one, user)
            bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
            assert (await two.get("/users/me", headers=bearer)).status_code == 200
            assert (await flows.refresh(two, tokens["refresh_token"])).status_code == 200
