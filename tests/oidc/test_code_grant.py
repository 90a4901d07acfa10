"""grant_type=authorization_code: single use, replay revokes, bound to client, redirect URI and
PKCE verifier, short-lived; refresh tokens only with offline_access."""

from __future__ import annotations

import asyncio
from typing import Any

from authsvc.composition import Components
from tests import flows
from tests.infra import Api
from tests.oidc.helpers import REDIRECT, code_for, exchange, new_app, pkce, signed_in_browser

OTHER_REDIRECT = "https://other.example.com/callback"


async def _introspect(api: Api, state: Components, token: str) -> dict[str, Any]:
    resource = await flows.new_client(state)
    return await flows.introspect(api, resource, token)


async def test_a_replayed_code_is_refused_and_revokes_what_it_issued(
    api: Api, state: Components
) -> None:
    client = await new_app(state)
    await signed_in_browser(api)
    code, verifier, _ = await code_for(api, client[0], scope="openid offline_access")
    first = await exchange(api, client, code, verifier)
    assert first.status_code == 200, first.text
    tokens = first.json()
    assert (await _introspect(api, state, tokens["access_token"]))["active"] is True
    replay = await exchange(api, client, code, verifier)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert (await _introspect(api, state, tokens["access_token"])) == {"active": False}
    refreshed = await flows.refresh(api, tokens["refresh_token"])
    assert refreshed.status_code == 400


async def test_concurrent_exchanges_of_one_code_issue_once(api: Api, state: Components) -> None:
    client = await new_app(state)
    await signed_in_browser(api)
    code, verifier, _ = await code_for(api, client[0])
    answers = await asyncio.gather(*(exchange(api, client, code, verifier) for _ in range(5)))
    assert sorted(a.status_code for a in answers).count(200) <= 1
    for answer in answers:
        if answer.status_code == 200:  # the winner's tokens die with the replays
            body = answer.json()
            assert (await _introspect(api, state, body["access_token"])) == {"active": False}


async def test_a_wrong_or_missing_verifier_is_refused_and_leaves_the_code_usable(
    api: Api, state: Components
) -> None:
    client = await new_app(state)
    await signed_in_browser(api)
    code, verifier, _ = await code_for(api, client[0])
    other_verifier, _ = pkce()
    for wrong in (other_verifier, verifier[:-1] + ("A" if verifier[-1] != "A" else "B"),
                  "short", verifier + "x" * 100):
        refused = await exchange(api, client, code, wrong)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    missing = await api.post("/token", data={"grant_type": "authorization_code", "code": code,
                                             "redirect_uri": REDIRECT},
                             headers=flows.basic(client[0], client[1] or ""))
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    # The challenge itself is not a verifier (a downgrade to `plain` fails too).
    ok = await exchange(api, client, code, verifier)
    assert ok.status_code == 200


async def test_a_code_works_only_with_its_redirect_uri(api: Api, state: Components) -> None:
    client = await new_app(state, redirect_uris=(REDIRECT, OTHER_REDIRECT))
    await signed_in_browser(api)
    code, verifier, _ = await code_for(api, client[0])
    for uri in (OTHER_REDIRECT, REDIRECT + "/", REDIRECT.upper()):
        refused = await exchange(api, client, code, verifier, redirect_uri=uri)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert (await exchange(api, client, code, verifier)).status_code == 200


async def test_another_client_cannot_use_the_code(api: Api, state: Components) -> None:
    victim = await new_app(state)
    thief = await new_app(state, name="thief")
    public_thief = await new_app(state, name="public thief", type="public")
    await signed_in_browser(api)
    code, verifier, _ = await code_for(api, victim[0])
    for client in (thief, public_thief):
        refused = await exchange(api, client, code, verifier)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    # Naming the victim without its secret is not authentication.
    unauthenticated = await exchange(api, (victim[0], None), code, verifier)
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["error"] == "invalid_client"
    wrong_secret = await exchange(api, (victim[0], "not-the-secret"), code, verifier)
    assert wrong_secret.status_code == 401
    assert (await exchange(api, victim, code, verifier)).status_code == 200


async def test_an_expired_code_is_refused(api: Api, state: Components) -> None:
    client = await new_app(state)
    await signed_in_browser(api)
    code, verifier, _ = await code_for(api, client[0])
    from authsvc.kv import Keys
    from authsvc.oidc.codes import digest

    ttl = await state.redis.ttl(Keys.authorization_code(digest(code)))
    assert 0 < ttl <= 60
    await state.redis.delete(Keys.authorization_code(digest(code)))  # what expiry does
    refused = await exchange(api, client, code, verifier)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


async def test_refresh_tokens_only_with_offline_access(api: Api, state: Components) -> None:
    client = await new_app(state)
    await signed_in_browser(api)
    code, verifier, _ = await code_for(api, client[0], scope="openid email")
    body = (await exchange(api, client, code, verifier)).json()
    assert "refresh_token" not in body and body["id_token"] and body["scope"] == "openid email"
    code, verifier, _ = await code_for(api, client[0], scope="openid offline_access")
    body = (await exchange(api, client, code, verifier)).json()
    assert body["refresh_token"]
    # Without openid: plain OAuth, no ID token.
    code, verifier, _ = await code_for(api, client[0], scope="email")
    body = (await exchange(api, client, code, verifier)).json()
    assert "id_token" not in body and body["access_token"]


async def test_a_public_client_exchanges_with_its_client_id_alone(
    api: Api, state: Components
) -> None:
    client = await new_app(state, type="public")
    await signed_in_browser(api)
    code, verifier, _ = await code_for(api, client[0], scope="openid offline_access")
    answer = await exchange(api, client, code, verifier)
    assert answer.status_code == 200, answer.text
    assert answer.json()["refresh_token"]


async def test_a_disabled_user_gets_no_tokens_for_a_pending_code(
    api: Api, state: Components
) -> None:
    client = await new_app(state)
    user = await signed_in_browser(api)
    code, verifier, _ = await code_for(api, client[0])
    from tests.admin.conftest import grant_roles

    del grant_roles
    import uuid

    from authsvc.db import transaction
    from authsvc.deps import get_identity
    from authsvc.identity.models import User

    async for session in transaction(state.sessions):
        row = await session.get(User, uuid.UUID(user["id"]))
        assert row is not None
        row.is_active = False
        await get_identity(state, session).changed(row)
    refused = await exchange(api, client, code, verifier)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
