"""The account page: password change, sessions, sign-out everywhere, registration rules."""

from __future__ import annotations

from typing import Any

from tests import flows, infra
from tests.infra import Api
from tests.web.pages import (
    account_csrf,
    csrf_of,
    login_page,
    register_page,
    session_cookie,
)

NEW_PASSWORD = "Brand-New-Secret-93"


async def second_browser(app: Any, user: dict[str, Any]) -> Api:
    other = Api(app, user_agent="Mozilla/5.0 (Windows NT 10.0) Firefox/128.0")
    response = await login_page(other, user["email"], user["password"])
    assert response.status_code == 303
    return other


async def test_register_with_a_weak_password_shows_the_unmet_rules(api: Api) -> None:
    form = await api.get("/register")
    assert "At least 12 characters" in form.text  # the requirements, before typing
    response = await api.post("/register", data={
        "email": infra.unique_email(), "password": "short", "csrf_token": csrf_of(form)})
    assert response.status_code == 422
    assert 'class="alert alert-error unmet"' in response.text
    assert "12" in response.text and "upper" in response.text.lower()
    assert session_cookie(api) is None


async def test_register_with_a_taken_address_says_so(api: Api) -> None:
    user = await register_page(api)
    async with Api(api.http._transport.app) as other:  # type: ignore[attr-defined]
        form = await other.get("/register")
        response = await other.post("/register", data={
            "email": user["email"], "password": user["password"], "csrf_token": csrf_of(form)})
        assert response.status_code == 409
        assert "already exists" in response.text


async def test_password_change_ends_every_other_session_and_family(
    app: Any, api: Api, service_client: tuple[str, str]
) -> None:
    user = await register_page(api)
    other = await second_browser(app, user)
    tokens = await flows.login(api, user)
    before = session_cookie(api)
    token = await account_csrf(api)
    response = await api.post("/account/password", data={
        "current_password": user["password"], "new_password": NEW_PASSWORD, "csrf_token": token})
    assert response.status_code == 303
    assert session_cookie(api) != before  # a credential change rotates this session's id
    page = await api.get("/account")
    assert page.status_code == 200 and "Your password was changed" in page.text
    assert (await other.get("/account")).status_code == 303
    await other.http.aclose()
    assert (await flows.refresh(api, tokens["refresh_token"])).status_code == 400
    assert (await flows.introspect(api, service_client, tokens["access_token"]))["active"] is False
    assert (await flows.password_grant(api, user["email"], NEW_PASSWORD)).status_code == 200


async def test_password_change_needs_the_current_password(api: Api, clock: Any) -> None:
    user = await register_page(api)
    response = await api.post("/account/password", data={
        "current_password": "not-it-at-all", "new_password": NEW_PASSWORD,
        "csrf_token": await account_csrf(api)})
    assert response.status_code == 400
    assert "current password is not right" in response.text
    clock.advance(120)  # issue 12: a wrong current password counts (its cooldown included)
    assert (await flows.password_grant(api, user["email"], user["password"])).status_code == 200


async def test_password_change_to_a_weak_password_lists_the_rules(api: Api) -> None:
    user = await register_page(api)
    response = await api.post("/account/password", data={
        "current_password": user["password"], "new_password": "weak",
        "csrf_token": await account_csrf(api)})
    assert response.status_code == 422
    assert "does not meet the requirements" in response.text


async def test_the_sessions_list_revokes_another_session(app: Any, api: Api) -> None:
    user = await register_page(api)
    other = await second_browser(app, user)
    page = await api.get("/account")
    assert "Firefox on Windows" in page.text and "this browser" in page.text
    handle = page.text.split('name="handle" value="', 1)[1].split('"', 1)[0]
    response = await api.post("/account/sessions/revoke", data={
        "handle": handle, "csrf_token": csrf_of(page)})
    assert response.status_code == 303
    assert (await other.get("/account")).status_code == 303
    assert "That session was signed out." in (await api.get("/account")).text
    await other.http.aclose()


async def test_logout_everywhere_ends_sessions_and_refresh_families(
    app: Any, api: Api, service_client: tuple[str, str]
) -> None:
    user = await register_page(api)
    other = await second_browser(app, user)
    tokens = await flows.login(api, user)
    response = await api.post("/logout/everywhere", data={"csrf_token": await account_csrf(api)})
    assert response.status_code == 303
    assert response.headers["location"] == "/login?notice=everywhere"
    assert (await api.get("/account")).status_code == 303
    assert (await other.get("/account")).status_code == 303
    await other.http.aclose()
    assert (await flows.refresh(api, tokens["refresh_token"])).status_code == 400
    assert (await flows.introspect(api, service_client, tokens["access_token"]))["active"] is False


async def test_an_api_password_change_ends_the_browser_sessions(app: Any, api: Api) -> None:
    user = await register_page(api)
    tokens = await flows.login(api, user)
    response = await api.post("/users/me/password", json={
        "current_password": user["password"], "new_password": NEW_PASSWORD},
        headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert response.status_code == 204
    assert (await api.get("/account")).status_code == 303


async def test_the_bearer_logout_still_answers_the_api(api: Api) -> None:
    user = await flows.register(api)
    tokens = await flows.login(api, user)
    response = await api.post("/logout",
                              headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert response.status_code == 204
    bad = await api.post("/logout", headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_token"


async def test_a_disabled_user_loses_the_session_at_once(api: Api, state: Any) -> None:
    user = await register_page(api)
    await disable(state, user["email"])
    assert (await api.get("/account")).status_code == 303
    assert (await api.get("/auth/verify")).status_code == 401


async def test_a_role_change_rotates_the_session_id(api: Api, state: Any) -> None:
    await register_page(api)
    before = session_cookie(api)
    await change(state, lambda u: setattr(u, "roles", ["admin"]))
    response = await api.get("/account")
    assert response.status_code == 200
    assert session_cookie(api) != before
    verify = await api.get("/auth/verify")
    assert verify.headers["x-auth-roles"] == "admin"


async def change(state: Any, edit: Any, email: str | None = None) -> None:
    from sqlalchemy import select

    from authsvc.db import transaction
    from authsvc.identity.models import User
    from authsvc.identity.service import IdentityService

    async for session in transaction(state.sessions):
        query = select(User).order_by(User.created_at.desc()).limit(1)
        if email:
            query = select(User).where(User.email == email)
        user = (await session.execute(query)).scalar_one()
        edit(user)
        service = IdentityService(session, hasher=state.hasher, validator=state.validator,
                                  cache=state.user_cache, max_password_length=1024)
        await service.changed(user)


async def disable(state: Any, email: str) -> None:
    await change(state, lambda u: setattr(u, "is_active", False), email)
