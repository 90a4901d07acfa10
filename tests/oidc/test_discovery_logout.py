"""The two metadata documents list exactly what exists; RP-initiated logout (GET /logout)."""

from __future__ import annotations

from typing import Any

from authsvc.composition import Components
from tests.infra import Api
from tests.oidc.helpers import (
    app_target,
    code_for,
    exchange,
    new_app,
    query_of,
    signed_in_browser,
)
from tests.web.pages import csrf_of

ISSUER = "http://authsvc.test"
BYE = "https://app.example.com/signed-out"


async def test_both_documents_list_only_what_exists(api: Api, app: Any) -> None:
    oidc = (await api.get("/.well-known/openid-configuration")).json()
    oauth = (await api.get("/.well-known/oauth-authorization-server")).json()
    assert oidc == oauth
    assert oidc["issuer"] == ISSUER
    assert oidc["response_types_supported"] == ["code"]
    assert oidc["code_challenge_methods_supported"] == ["S256"]
    assert oidc["subject_types_supported"] == ["public"]
    assert oidc["scopes_supported"] == ["openid", "profile", "email", "offline_access"]
    assert "RS256" in oidc["id_token_signing_alg_values_supported"]
    assert "none" in oidc["token_endpoint_auth_methods_supported"]
    assert oidc["authorization_response_iss_parameter_supported"] is True
    assert "authorization_code" in oidc["grant_types_supported"]
    assert "registration_endpoint" not in oidc  # there is no dynamic registration
    # Every endpoint named answers (none is a 404 or 405).
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint",
                 "end_session_endpoint", "introspection_endpoint", "revocation_endpoint"):
        path = oidc[name].removeprefix(ISSUER)
        method = "POST" if name in ("token_endpoint", "introspection_endpoint",
                                    "revocation_endpoint") else "GET"
        answer = await api.request(method, path)
        assert answer.status_code not in (404, 405), (name, answer.status_code)


async def test_userinfo_needs_the_openid_scope(api: Api, state: Components) -> None:
    from tests import flows

    user = await flows.register(api)
    plain = await flows.login(api, user)  # no scope
    answer = await api.get("/userinfo",
                           headers={"Authorization": f"Bearer {plain['access_token']}"})
    assert answer.status_code == 403 and answer.json()["error"] == "insufficient_scope"
    scoped = (await flows.password_grant(api, user["email"], user["password"],
                                         scope="openid profile")).json()
    posted = await api.post("/userinfo",
                            headers={"Authorization": f"Bearer {scoped['access_token']}"})
    assert posted.status_code == 200 and posted.json() == {"sub": user["id"]}
    assert (await api.get("/userinfo")).status_code == 401


async def _signed_in_with_id_token(api: Api, state: Components) -> tuple[tuple[str, Any], str,
                                                                     dict[str, Any]]:
    client = await new_app(state, post_logout_redirect_uris=(BYE,))
    await signed_in_browser(api)
    code, verifier, _ = await code_for(api, client[0], scope="openid offline_access")
    body = (await exchange(api, client, code, verifier)).json()
    return client, body["id_token"], body


async def test_logout_with_an_id_token_hint_ends_the_session_and_redirects(
    api: Api, state: Components
) -> None:
    client, id_token, body = await _signed_in_with_id_token(api, state)
    answer = await api.get("/logout", params={"id_token_hint": id_token,
                                              "post_logout_redirect_uri": BYE, "state": "s1"})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{BYE}?state=s1"
    assert (await api.get("/account")).status_code == 303  # signed out: to /login
    from tests import flows

    assert (await flows.refresh(api, body["refresh_token"])).status_code == 400


async def test_logout_never_redirects_to_an_unregistered_address(
    api: Api, state: Components
) -> None:
    client, id_token, _ = await _signed_in_with_id_token(api, state)
    for uri in ("https://evil.test/", BYE + "/", BYE + "?next=https://evil.test",
                "https://app.example.com/callback"):  # a redirect URI, not a logout one
        answer = await api.get("/logout", params={"id_token_hint": id_token,
                                                  "post_logout_redirect_uri": uri})
        assert answer.status_code == 400 and "location" not in answer.headers, uri
    # Without a hint or client_id nothing names the client: no redirect either.
    alone = await api.get("/logout", params={"post_logout_redirect_uri": BYE})
    assert alone.status_code == 400 and "location" not in alone.headers
    # Still signed in: a refused request changed nothing.
    assert (await api.get("/account")).status_code == 200


async def test_logout_without_a_valid_hint_asks_first(api: Api, state: Components) -> None:
    client, _, _ = await _signed_in_with_id_token(api, state)
    asked = await api.get("/logout", params={"client_id": client[0],
                                             "post_logout_redirect_uri": BYE})
    assert asked.status_code == 200 and "Sign out?" in asked.text
    assert (await api.get("/account")).status_code == 200  # a link alone signs no one out
    forged = await api.post("/logout/end", data={"csrf_token": "nope"})
    assert forged.status_code == 403
    done = await api.post("/logout/end", data={
        "csrf_token": csrf_of(asked), "client_id": client[0], "post_logout_redirect_uri": BYE,
        "state": "xyz"})
    assert query_of(app_target(done)) == {"state": "xyz"}
    assert app_target(done).startswith(BYE + "?")
    assert (await api.get("/account")).status_code == 303


async def test_a_forged_id_token_hint_is_refused(api: Api, state: Components) -> None:
    _, id_token, _ = await _signed_in_with_id_token(api, state)
    head, body, sig = id_token.split(".")
    answer = await api.get("/logout", params={"id_token_hint": f"{head}.{body}x.{sig}"})
    assert answer.status_code == 400
    assert (await api.get("/account")).status_code == 200


async def test_logout_without_a_session_says_signed_out(api: Api) -> None:
    answer = await api.get("/logout")
    assert answer.status_code == 200 and "signed out" in answer.text
