"""POST /logout belongs to both faces: one route decides by the credential, not route order.

Each test runs with the app's routes as included and reversed: the answer must not change.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.routing import Match
from tests import flows
from tests.infra import Api
from tests.web.pages import logout_page, register_page, session_cookie


@pytest.fixture(params=["as included", "reversed"])
def route_order(request: pytest.FixtureRequest, app: Any) -> Iterator[str]:
    """The session's app with its routing table as built, or turned around (then restored)."""
    routes = app.router.routes
    saved = list(routes)
    if request.param == "reversed":
        routes.reverse()
    try:
        yield request.param
    finally:
        routes[:] = saved


def test_one_route_answers_post_logout(app: Any) -> None:
    scope = {"type": "http", "method": "POST", "path": "/logout", "root_path": "",
             "headers": []}
    full = [r for r in app.router.routes if r.matches(scope)[0] == Match.FULL]
    assert len(full) == 1


async def test_a_bearer_logout_is_the_apis_whatever_the_route_order(app: Any,
                                                                    route_order: str) -> None:
    async with Api(app) as api:
        user = await flows.register(api)
        tokens = await flows.login(api, user)
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        await register_page(api)  # a browser session too: the bearer token still decides
        browser_session = session_cookie(api)
        response = await api.post("/logout", headers=bearer)
        assert response.status_code == 204 and "location" not in response.headers
        me = await api.get("/users/me", headers=bearer)
        assert me.status_code == 401 and me.json()["error"] == "token_revoked"
        assert session_cookie(api) == browser_session  # the page's logout did not run
        assert (await api.get("/account")).status_code == 200
        unusable = await api.post("/logout", headers={"Authorization": "Bearer not-a-token"})
        assert unusable.status_code == 401 and unusable.json()["error"] == "invalid_token"
        assert "Bearer" in unusable.headers["www-authenticate"]


async def test_a_browser_logout_is_the_pages_whatever_the_route_order(app: Any,
                                                                      route_order: str) -> None:
    async with Api(app) as api:
        await register_page(api)
        assert session_cookie(api)
        response = await logout_page(api)
        assert response.status_code == 303
        assert response.headers["location"] == "/login?notice=signed_out"
        assert session_cookie(api) is None
        assert (await api.get("/account")).status_code == 303
        forged = await api.post("/logout", data={"csrf_token": "forged"})  # no session now
        assert forged.status_code == 303 and forged.headers["location"] == "/login"
