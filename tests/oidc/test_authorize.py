"""GET /authorize: what may redirect and what never does; PKCE; prompt, max_age, login_hint;
the login round trip; consent for third-party apps."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest

from authsvc.composition import Components
from tests.infra import Api
from tests.oidc.helpers import (
    REDIRECT,
    app_target,
    authorize,
    authorize_params,
    code_for,
    exchange,
    new_app,
    pkce,
    query_of,
    signed_in_browser,
)
from tests.web.pages import csrf_of

ISSUER = "http://authsvc.test"


@pytest.mark.parametrize("uri", [
    REDIRECT + "/",                                   # trailing slash
    "https://APP.example.com/callback",               # case of the host
    "https://app.example.com/Callback",               # case of the path
    REDIRECT + "/extra",                              # extra path
    REDIRECT + "?x=1",                                # extra query
    "https://evil@app.example.com/callback",          # userinfo
    "https://app.example.com.evil.test/callback",     # suffix host
    "http://app.example.com/callback",                # scheme downgrade
    "https://evil.test/callback",                     # another site
    "",                                               # missing
])
async def test_an_unregistered_redirect_uri_gets_an_error_page_and_no_redirect(
    api: Api, state: Components, uri: str
) -> None:
    client_id, _ = await new_app(state)
    await signed_in_browser(api)
    _, challenge = pkce()
    response = await authorize(api, authorize_params(client_id, challenge, redirect_uri=uri))
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "text/html" in response.headers["content-type"]
    assert "code=" not in response.text


async def test_an_unknown_client_gets_an_error_page(api: Api, state: Components) -> None:
    _, challenge = pkce()
    for client_id in ("c_nope", ""):
        response = await authorize(api, authorize_params(client_id, challenge))
        assert response.status_code == 400 and "location" not in response.headers


async def test_a_repeated_client_id_or_redirect_uri_never_redirects(
    api: Api, state: Components
) -> None:
    client_id, _ = await new_app(state)
    _, challenge = pkce()
    query = "&".join(f"{k}={quote(v)}" for k, v in authorize_params(client_id, challenge).items())
    response = await api.get(f"/authorize?{query}&redirect_uri={quote('https://evil.test/')}")
    assert response.status_code == 400 and "location" not in response.headers


def _error_of(response: Any) -> dict[str, str]:
    location = app_target(response)
    assert location.startswith(REDIRECT + "?")
    return query_of(location)


@pytest.mark.parametrize("change, error", [
    ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
    ({"code_challenge_method": None}, "invalid_request"),        # means plain (RFC 7636)
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"code_challenge": "too-short"}, "invalid_request"),
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"response_type": "code id_token"}, "unsupported_response_type"),
    ({"scope": "openid admin"}, "invalid_scope"),
    ({"scope": None}, "invalid_scope"),
    ({"prompt": "none login"}, "invalid_request"),
    ({"prompt": "select_everything"}, "invalid_request"),
    ({"max_age": "-1"}, "invalid_request"),
    ({"response_mode": "fragment"}, "invalid_request"),
    ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
])
async def test_other_errors_redirect_with_state_and_iss(
    api: Api, state: Components, change: dict[str, str | None], error: str
) -> None:
    client_id, _ = await new_app(state)
    await signed_in_browser(api)
    _, challenge = pkce()
    params = authorize_params(client_id, challenge)
    params.update(change)  # type: ignore[arg-type]
    answer = _error_of(await authorize(api, {k: v for k, v in params.items() if v is not None}))
    assert answer["error"] == error and answer["error_description"]
    assert answer["state"] == params["state"] and answer["iss"] == ISSUER
    assert "code" not in answer


async def test_a_client_without_the_code_grant_is_refused(api: Api, state: Components) -> None:
    await signed_in_browser(api)
    _, challenge = pkce()
    service_id, _ = await new_app(state, grant_types=("client_credentials",),
                                  redirect_uris=(REDIRECT,))
    answer = _error_of(await authorize(api, authorize_params(service_id, challenge)))
    assert answer["error"] == "unauthorized_client" and "code" not in answer


async def test_prompt_none_without_a_session_redirects_login_required(
    api: Api, state: Components
) -> None:
    client_id, _ = await new_app(state)
    _, challenge = pkce()
    params = authorize_params(client_id, challenge, prompt="none")
    answer = _error_of(await authorize(api, params))
    assert answer["error"] == "login_required"
    assert answer["state"] == params["state"] and answer["iss"] == ISSUER


async def test_prompt_none_with_a_session_gives_a_code(api: Api, state: Components) -> None:
    client_id, _ = await new_app(state)
    await signed_in_browser(api)
    code, _, _ = await code_for(api, client_id, prompt="none")
    assert code


async def test_without_a_session_the_login_page_takes_the_browser_back(
    api: Api, state: Components
) -> None:
    client = await new_app(state)
    from tests import flows

    user = await flows.register(api)
    verifier, challenge = pkce()
    params = authorize_params(client[0], challenge, login_hint=user["email"])
    to_login = await authorize(api, params)
    assert to_login.status_code == 303
    login_url = to_login.headers["location"]
    assert login_url.startswith("/login?")
    form = await api.get(login_url)
    assert f'value="{user["email"]}"' in form.text  # login_hint
    next_path = query_of(login_url)["next"]
    signed = await api.post("/login", data={"username": user["email"],
                                            "password": user["password"],
                                            "csrf_token": csrf_of(form), "next": next_path})
    assert signed.status_code == 303 and signed.headers["location"] == next_path
    back = await api.get(next_path)
    assert back.status_code == 200  # the end of the login form's chain: a page, then the app
    answer = _error_of(back)
    assert answer["state"] == params["state"] and answer["iss"] == ISSUER
    token = await exchange(api, client, answer["code"], verifier)
    assert token.status_code == 200, token.text
    # The waiting request worked once.
    again = await api.get(next_path)
    assert again.status_code == 400 and "location" not in again.headers


async def test_prompt_login_asks_for_the_password_again(api: Api, state: Components) -> None:
    client_id, _ = await new_app(state)
    user = await signed_in_browser(api)
    _, challenge = pkce()
    to_login = await authorize(api, authorize_params(client_id, challenge, prompt="login"))
    assert to_login.status_code == 303 and "reauth=1" in to_login.headers["location"]
    next_path = query_of(to_login.headers["location"])["next"]
    # Skipping the login page (the old session) does not satisfy prompt=login.
    skipped = await api.get(next_path)
    assert skipped.status_code == 303 and skipped.headers["location"].startswith("/login?")
    next_path = query_of(skipped.headers["location"])["next"]
    form = await api.get(skipped.headers["location"])
    assert form.status_code == 200 and 'name="password"' in form.text
    signed = await api.post("/login", data={"username": user["email"],
                                            "password": user["password"],
                                            "csrf_token": csrf_of(form), "next": next_path})
    assert signed.status_code == 303
    assert "code" in _error_of(await api.get(next_path))


async def test_max_age_older_than_the_session_asks_for_a_login(
    api: Api, state: Components, session_clock: Any
) -> None:
    client_id, _ = await new_app(state)
    await signed_in_browser(api)
    session_clock.advance(120)
    _, challenge = pkce()
    fresh = await authorize(api, authorize_params(client_id, challenge, max_age="600"))
    assert "code" in _error_of(fresh)
    stale = await authorize(api, authorize_params(client_id, challenge, max_age="60"))
    assert stale.status_code == 303 and stale.headers["location"].startswith("/login?")


# ----------------------------------------------------------------------- consent
async def _consent_page(api: Api, client_id: str, **extra: str) -> tuple[Any, dict[str, str]]:
    verifier, challenge = pkce()
    params = authorize_params(client_id, challenge, **extra)
    response = await authorize(api, params)
    return response, {**params, "verifier": verifier}


def _request_id(page: Any) -> str:
    found = re.search(r'name="request" value="([^"]+)"', page.text)
    assert found, page.text[:300]
    return found.group(1)


async def test_a_third_party_app_needs_consent_once(api: Api, state: Components) -> None:
    client = await new_app(state, first_party=False, name="Photo Printer")
    await signed_in_browser(api)
    page, params = await _consent_page(api, client[0])
    assert page.status_code == 200 and "Photo Printer" in page.text
    assert "See your e-mail address" in page.text
    allowed = await api.post("/authorize/consent", data={
        "csrf_token": csrf_of(page), "request": _request_id(page), "decision": "allow"})
    answer = _error_of(allowed)
    assert answer["state"] == params["state"]
    assert (await exchange(api, client, answer["code"], params["verifier"])).status_code == 200
    # Remembered: the same scopes go straight through; prompt=consent asks again.
    code, _, _ = await code_for(api, client[0])
    assert code
    again, _ = await _consent_page(api, client[0], prompt="consent")
    assert again.status_code == 200 and "Allow" in again.text
    # More scopes than consented: asked again.
    more, _ = await _consent_page(api, client[0], scope="openid email profile offline_access")
    assert more.status_code == 200 and "Stay signed in" in more.text


async def test_denying_consent_redirects_access_denied(api: Api, state: Components) -> None:
    client_id, _ = await new_app(state, first_party=False)
    await signed_in_browser(api)
    page, params = await _consent_page(api, client_id)
    denied = await api.post("/authorize/consent", data={
        "csrf_token": csrf_of(page), "request": _request_id(page), "decision": "deny"})
    answer = _error_of(denied)
    assert answer["error"] == "access_denied" and answer["state"] == params["state"]
    # Nothing was remembered.
    page, _ = await _consent_page(api, client_id)
    assert page.status_code == 200


async def test_consent_cannot_be_bypassed(app: Any, api: Api, state: Components) -> None:
    client_id, _ = await new_app(state, first_party=False)
    await signed_in_browser(api)
    page, _ = await _consent_page(api, client_id)
    request_id = _request_id(page)
    # prompt=none never skips consent.
    _, challenge = pkce()
    quiet = _error_of(await authorize(api, authorize_params(client_id, challenge, prompt="none")))
    assert quiet["error"] == "consent_required" and "code" not in quiet
    # No CSRF token, or a wrong one: refused, nothing remembered.
    for token in ("", "forged"):
        refused = await api.post("/authorize/consent", data={
            "csrf_token": token, "request": request_id, "decision": "allow"})
        assert refused.status_code == 403 and "location" not in refused.headers
    # Another user's browser, with its own valid CSRF token, cannot use this request.
    async with Api(app) as mallory:
        await signed_in_browser(mallory)
        own = await mallory.get("/account")
        stolen = await mallory.post("/authorize/consent", data={
            "csrf_token": csrf_of(own), "request": request_id, "decision": "allow"})
        assert stolen.status_code == 400 and "location" not in stolen.headers
    # A forged request id.
    forged = await api.post("/authorize/consent", data={
        "csrf_token": csrf_of(page), "request": "x" * 32, "decision": "allow"})
    assert forged.status_code == 400
    # Still no consent: the page shows again.
    page, _ = await _consent_page(api, client_id)
    assert page.status_code == 200 and "Allow" in page.text


async def test_consent_is_listed_and_revocable_on_the_account_page(
    api: Api, state: Components
) -> None:
    client = await new_app(state, first_party=False, name="Calendar Sync")
    await signed_in_browser(api)
    page, params = await _consent_page(api, client[0],
                                       scope="openid email offline_access")
    answer = _error_of(await api.post("/authorize/consent", data={
        "csrf_token": csrf_of(page), "request": _request_id(page), "decision": "allow"}))
    tokens = (await exchange(api, client, answer["code"], params["verifier"])).json()
    account = await api.get("/account")
    assert "Apps with access" in account.text and "Calendar Sync" in account.text
    revoked = await api.post("/account/apps/revoke", data={
        "csrf_token": csrf_of(account), "client_id": client[0]})
    assert revoked.status_code == 303
    assert "Calendar Sync" not in (await api.get("/account")).text
    # Its tokens end with the consent, and the next /authorize asks again.
    refresh = await api.post("/token", data={"grant_type": "refresh_token",
                                             "refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 400
    page, _ = await _consent_page(api, client[0])
    assert page.status_code == 200 and "Allow" in page.text


async def test_first_party_apps_get_no_consent_page(api: Api, state: Components) -> None:
    client_id, _ = await new_app(state, first_party=True)
    await signed_in_browser(api)
    assert (await code_for(api, client_id))[0]
