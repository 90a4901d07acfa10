"""GET /auth/verify: the forward-auth check for nginx `auth_request` and Traefik `forwardAuth`."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from tests import infra
from tests.infra import Api
from tests.web.pages import register_page
from tests.web.test_account import disable

from authsvc.main import create_app


async def test_a_signed_in_browser_gets_the_identity_headers(api: Api) -> None:
    user = await register_page(api)
    response = await api.get("/auth/verify")
    assert response.status_code == 200
    assert response.headers["x-auth-user-email"] == user["email"]
    assert len(response.headers["x-auth-user-id"]) == 36
    assert response.headers["x-auth-roles"] == ""
    assert response.headers["cache-control"] == "no-store"


async def test_without_a_session_it_is_401(api: Api) -> None:
    response = await api.get("/auth/verify")
    assert response.status_code == 401
    assert "x-auth-user-id" not in response.headers
    assert "x-auth-redirect" not in response.headers


async def test_a_forged_cookie_is_401(api: Api) -> None:
    api.http.cookies.set("authsvc_session", "B" * 43)
    assert (await api.get("/auth/verify")).status_code == 401


async def test_a_disabled_user_is_refused_at_once(api: Api, state: Any) -> None:
    user = await register_page(api)
    assert (await api.get("/auth/verify")).status_code == 200
    await disable(state, user["email"])
    assert (await api.get("/auth/verify")).status_code == 401


async def test_a_browser_gets_the_login_hint_from_nginx_headers(api: Api) -> None:
    response = await api.get("/auth/verify", headers={
        "Accept": "text/html,application/xhtml+xml",
        "X-Original-URL": "https://app.example.com/reports?id=7",
    })
    assert response.status_code == 401
    # app.example.com is not allow-listed: only the path survives (same-host deployment).
    assert response.headers["x-auth-redirect"] == "/login?next=" + "/reports%3Fid%3D7"
    assert unquote(response.headers["x-auth-redirect"].split("=", 1)[1]) == "/reports?id=7"


async def test_an_api_client_gets_a_bare_401(api: Api) -> None:
    response = await api.get("/auth/verify", headers={
        "Accept": "application/json", "X-Forwarded-Uri": "/api/data"})
    assert response.status_code == 401
    assert "x-auth-redirect" not in response.headers


async def test_traefik_headers_and_an_allowed_host(make_settings: Any) -> None:
    app = create_app(make_settings(allowed_redirect_hosts=["app.example.com"]))
    async with infra.running(app), Api(app) as api:
        headers = {"Accept": "text/html", "X-Forwarded-Proto": "https",
                   "X-Forwarded-Host": "app.example.com", "X-Forwarded-Uri": "/x?y=1"}
        response = await api.get("/auth/verify", headers=headers)
        assert response.status_code == 401
        hint = response.headers["x-auth-redirect"]
        assert unquote(hint.split("=", 1)[1]) == "https://app.example.com/x?y=1"
        redirected = await api.get("/auth/verify?redirect=1", headers=headers)
        assert redirected.status_code == 302
        assert redirected.headers["location"] == hint


async def test_a_hostile_original_url_never_becomes_an_open_redirect(api: Api) -> None:
    for original in ("https://evil.example//\\x", "javascript:alert(1)", "//evil.example/"):
        response = await api.get("/auth/verify", headers={
            "Accept": "text/html", "X-Original-URL": original})
        hint = response.headers.get("x-auth-redirect", "/login")
        target = unquote(hint.split("=", 1)[1]) if "=" in hint else ""
        assert not target or (target.startswith("/") and not target.startswith("//"))


async def test_header_names_are_settings_for_authelia_style_proxies(make_settings: Any) -> None:
    app = create_app(make_settings(forward_auth_user_header="Remote-User",
                                   forward_auth_email_header="Remote-Email",
                                   forward_auth_roles_header="Remote-Groups"))
    async with infra.running(app), Api(app) as api:
        user = await register_page(api)
        response = await api.get("/auth/verify")
        assert response.status_code == 200
        assert response.headers["remote-email"] == user["email"]
        assert len(response.headers["remote-user"]) == 36
        assert response.headers["remote-groups"] == ""
        assert "x-auth-user-id" not in response.headers
        assert "x-auth-user-email" not in response.headers


def test_a_header_name_that_is_not_a_token_is_refused(make_settings: Any) -> None:
    import pytest

    from authsvc.config import ConfigError

    with pytest.raises(ConfigError, match="AUTHSVC_FORWARD_AUTH_USER_HEADER"):
        make_settings(forward_auth_user_header="Remote User\r\nX-Evil: 1")
