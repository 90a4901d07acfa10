"""POST /password/reset: end to end, single use, expiry, voiding, the policy, MFA, and what a
reset ends (refresh families, sessions, the lockout)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update

from authsvc.audit.models import AuditEvent
from authsvc.db import utcnow
from authsvc.identity.models import User
from authsvc.recovery.models import ActionToken
from tests import flows
from tests.mfa.helpers import World, code_at, enrol_totp
from tests.recovery.helpers import (
    CHANGED_SUBJECT,
    NEW_PASSWORD,
    RESET_SUBJECT,
    code_in,
    forgot,
    mail,
    reset,
    reset_token_for,
)


async def test_reset_end_to_end(world: World) -> None:
    user = await flows.register(world.api)
    token = await reset_token_for(world.api, world.sink, user["email"])
    done = await reset(world.api, token)
    assert done.status_code == 204, done.text
    old = await flows.password_grant(world.api, user["email"], user["password"])
    assert old.status_code == 400
    await flows.login(world.api, {**user, "password": NEW_PASSWORD})
    changed = await mail(world.sink, user["email"], CHANGED_SUBJECT)
    assert "was just changed" in changed.get_body(preferencelist=("plain",)).get_content()
    async with world.state.sessions() as session:
        events = (await session.execute(select(AuditEvent.type).where(
            AuditEvent.user_id == uuid.UUID(user["id"])))).scalars().all()
    assert "password_reset" in events


async def test_used_expired_and_unknown_tokens_get_one_answer(world: World) -> None:
    user = await flows.register(world.api)
    token = await reset_token_for(world.api, world.sink, user["email"])
    assert (await reset(world.api, token)).status_code == 204
    reused = await reset(world.api, token, "Yet-Another-Secret-77")

    expiring = await reset_token_for(world.api, world.sink, user["email"], n=2)
    async with world.state.sessions() as session:  # age the row past its expiry
        await session.execute(update(ActionToken).where(
            ActionToken.user_id == uuid.UUID(user["id"]), ActionToken.used_at.is_(None))
            .values(expires_at=utcnow() - timedelta(seconds=1)))
        await session.commit()
    expired = await reset(world.api, expiring)
    unknown = await reset(world.api, "A" * 43)
    for answer in (reused, expired, unknown):
        assert answer.status_code == 400
        assert answer.json() == unknown.json()
        assert answer.json()["error"] == "invalid_token"
    await flows.login(world.api, {**user, "password": NEW_PASSWORD})


async def test_a_new_request_voids_the_older_link(world: World) -> None:
    user = await flows.register(world.api)
    first = await reset_token_for(world.api, world.sink, user["email"], n=1)
    second = await reset_token_for(world.api, world.sink, user["email"], n=2)
    old = await reset(world.api, first)
    assert old.status_code == 400
    assert old.json()["error"] == "invalid_token"
    assert (await reset(world.api, second)).status_code == 204


async def test_the_policy_applies_and_a_refusal_does_not_spend_the_link(world: World) -> None:
    user = await flows.register(world.api)
    token = await reset_token_for(world.api, world.sink, user["email"])
    weak = await reset(world.api, token, "short")
    assert weak.status_code == 422
    assert weak.json()["error"] == "weak_password"
    assert weak.json()["unmet"]
    assert (await reset(world.api, token)).status_code == 204


async def test_the_mailed_code_stands_in_for_the_link_a_few_tries_only(world: World) -> None:
    user = await flows.register(world.api)
    assert (await forgot(world.api, user["email"])).status_code == 202
    code = code_in(await mail(world.sink, user["email"], RESET_SUBJECT))
    ok = await reset(world.api, code, email=user["email"])
    assert ok.status_code == 204, ok.text
    assert (await reset(world.api, code, email=user["email"])).status_code == 400

    assert (await forgot(world.api, user["email"])).status_code == 202
    code = code_in(await mail(world.sink, user["email"], RESET_SUBJECT, 2))
    wrong = "00000000" if code != "00000000" else "11111111"
    for _ in range(5):
        answer = await reset(world.api, wrong, email=user["email"])
        assert answer.json()["error"] == "invalid_token"
    late = await reset(world.api, code, email=user["email"])  # the token is void now
    assert late.status_code == 400
    assert late.json()["error"] == "invalid_token"


async def test_an_mfa_user_must_add_a_second_factor(world: World) -> None:
    user = await flows.register(world.api)
    secret, recovery_codes, _ = await enrol_totp(world, user)
    token = await reset_token_for(world.api, world.sink, user["email"])

    missing = await reset(world.api, token)
    assert missing.status_code == 400
    assert missing.json()["error"] == "mfa_required"
    assert missing.json()["mfa_methods"] == ["totp", "recovery_code"]
    by_mail = await reset(world.api, token, method="email", code="123456")
    assert by_mail.json()["error"] == "mfa_required"  # the link already proves the mailbox
    right = code_at(secret, world.clock.t)
    wrong = "000000" if right != "000000" else "111111"
    bad = await reset(world.api, token, method="totp", code=wrong)
    assert bad.status_code == 400
    assert bad.json()["error"] == "invalid_code"

    done = await reset(world.api, token, method="totp", code=right)  # still unspent
    assert done.status_code == 204, done.text
    again = await flows.password_grant(world.api, user["email"], NEW_PASSWORD)
    assert again.status_code == 403  # the new password still leads to MFA
    assert again.json()["error"] == "mfa_required"


async def test_a_reset_ends_every_refresh_family_and_clears_the_lockout(world: World) -> None:
    user = await flows.register(world.api)
    tokens = [await flows.login(world.api, user) for _ in range(2)]
    async for session in _transaction(world):
        client = await world.state.clients.create(session, "resource-server")
    pair = (client.client_id, client.client_secret)
    for _ in range(world.state.settings.lockout_max_attempts):
        await flows.password_grant(world.api, user["email"], "Wrong-Password-123")
    locked = await flows.password_grant(world.api, user["email"], user["password"])
    assert locked.status_code == 429

    token = await reset_token_for(world.api, world.sink, user["email"])
    assert (await reset(world.api, token)).status_code == 204

    for issued in tokens:
        for kind in ("access_token", "refresh_token"):
            assert (await flows.introspect(world.api, pair, issued[kind])) == {"active": False}
        assert (await flows.refresh(world.api, issued["refresh_token"])).status_code == 400
    await flows.login(world.api, {**user, "password": NEW_PASSWORD})  # not locked any more


async def test_a_disabled_account_cannot_reset(world: World) -> None:
    user = await flows.register(world.api)
    token = await reset_token_for(world.api, world.sink, user["email"])
    async with world.state.sessions() as session:
        await session.execute(update(User).where(User.id == uuid.UUID(user["id"]))
                              .values(is_active=False))
        await session.commit()
    await world.state.user_cache.forget(user["id"])
    refused = await reset(world.api, token)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_token"
    assert (await forgot(world.api, user["email"])).status_code == 202


async def _transaction(world: World):  # type: ignore[no-untyped-def]
    from authsvc.db import transaction

    async for session in transaction(world.state.sessions):
        yield session

