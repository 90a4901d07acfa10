"""E-mail verification: the mail at registration, POST /users/verify-email, the resend and its
limits, and AUTHSVC_REQUIRE_VERIFIED_EMAIL end to end."""

from __future__ import annotations

import time

from tests import flows
from tests.mfa.helpers import World, bearer, open_world
from tests.recovery.helpers import PUBLIC_URL, VERIFY_SUBJECT, code_in, link_in, mail, token_in


async def verify(world: World, token: str, **extra: str):  # type: ignore[no-untyped-def]
    return await world.api.post("/users/verify-email", json={"token": token, **extra})


async def test_require_verified_email_end_to_end(make_settings, smtp_sink) -> None:
    async with open_world(make_settings, smtp_sink, public_url=PUBLIC_URL,
                          require_verified_email=True) as world:
        user = await flows.register(world.api)
        refused = await flows.password_grant(world.api, user["email"], user["password"])
        assert refused.status_code == 403
        assert refused.json()["error"] == "email_not_verified"

        message = await mail(world.sink, user["email"], VERIFY_SUBJECT)
        assert link_in(message).startswith(f"{PUBLIC_URL}/verify?token=")
        token = token_in(message, "/verify")
        assert (await verify(world, token)).status_code == 204
        reused = await verify(world, token)
        assert reused.status_code == 400
        assert reused.json()["error"] == "invalid_token"

        tokens = await flows.login(world.api, user)
        me = await world.api.get("/users/me", headers=bearer(tokens["access_token"]))
        assert me.json()["email_verified"] is True


async def test_unverified_users_sign_in_when_the_switch_is_off(world: World) -> None:
    user = await flows.register(world.api)
    tokens = await flows.login(world.api, user)
    me = await world.api.get("/users/me", headers=bearer(tokens["access_token"]))
    assert me.json()["email_verified"] is False


async def test_the_code_verifies_with_the_address(world: World) -> None:
    user = await flows.register(world.api)
    code = code_in(await mail(world.sink, user["email"], VERIFY_SUBJECT))
    wrong = await verify(world, code, email="someone-else@example.com")
    assert wrong.status_code == 400
    assert (await verify(world, code, email=user["email"])).status_code == 204


async def test_unknown_and_expired_links_are_refused_alike(world: World) -> None:
    import uuid
    from datetime import timedelta

    from sqlalchemy import update

    from authsvc.db import utcnow
    from authsvc.recovery.models import ActionToken

    user = await flows.register(world.api)
    token = token_in(await mail(world.sink, user["email"], VERIFY_SUBJECT), "/verify")
    async with world.state.sessions() as session:
        await session.execute(update(ActionToken).where(
            ActionToken.user_id == uuid.UUID(user["id"]))
            .values(expires_at=utcnow() - timedelta(seconds=1)))
        await session.commit()
    expired, unknown = await verify(world, token), await verify(world, "B" * 43)
    assert expired.status_code == unknown.status_code == 400
    assert expired.json() == unknown.json()
    assert expired.json()["error"] == "invalid_token"


async def test_resend_voids_the_old_link_and_is_limited_per_user(world: World) -> None:
    user = await flows.register(world.api)
    first = token_in(await mail(world.sink, user["email"], VERIFY_SUBJECT), "/verify")
    access = (await flows.login(world.api, user))["access_token"]
    sent = await world.api.post("/users/me/verify-email/resend", headers=bearer(access))
    assert sent.status_code == 202
    second = token_in(await mail(world.sink, user["email"], VERIFY_SUBJECT, 2), "/verify")
    again = await world.api.post("/users/me/verify-email/resend", headers=bearer(access))
    assert again.status_code == 429
    assert again.json()["error"] == "rate_limited"
    assert int(again.headers["retry-after"]) >= 1

    assert (await verify(world, first)).status_code == 400
    assert (await verify(world, second)).status_code == 204
    world.state.limiter.clock = lambda: time.time() + 120  # past the minute's limit
    done = await world.api.post("/users/me/verify-email/resend", headers=bearer(access))
    assert done.status_code == 409
    assert done.json()["error"] == "email_already_verified"
    assert (await world.api.post("/users/me/verify-email/resend")).status_code == 401


async def test_registration_does_not_wait_for_the_mail_server(world: World) -> None:
    world.sink.stop()
    started = time.perf_counter()
    await flows.register(world.api)
    assert time.perf_counter() - started < 2  # the SMTP retries happen in the background


async def test_the_openapi_document_lists_the_errors(world: World) -> None:
    paths = (await world.api.get("/openapi.json")).json()["paths"]
    assert {"202", "429"} <= set(paths["/password/forgot"]["post"]["responses"])
    assert {"204", "400", "422", "429"} <= set(paths["/password/reset"]["post"]["responses"])
    assert "400" in paths["/users/verify-email"]["post"]["responses"]
    assert {"202", "409", "429"} <= set(paths["/users/me/verify-email/resend"]["post"]["responses"])
