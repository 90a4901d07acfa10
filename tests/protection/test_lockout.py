"""Lockout and progressive delay at POST /token: attacked as an attacker would."""

from __future__ import annotations

import asyncio

from tests import flows
from tests.infra import Api, unique_email


async def _fail(api: Api, username: str, clock, times: int = 1) -> list:
    answers = []
    for _ in range(times):
        answers.append(await flows.password_grant(api, username, "Wrong-password-1!"))
        clock.advance(120)  # past any cooldown, well inside the 15-minute window
    return answers


async def test_five_failures_lock_the_username_even_for_the_right_password(
    api: Api, clock, state
) -> None:
    user = await flows.register(api)
    answers = await _fail(api, user["email"], clock, times=5)
    assert [r.status_code for r in answers] == [400] * 5
    locked = await flows.password_grant(api, user["email"], user["password"])
    assert locked.status_code == 429
    assert locked.json()["error"] == "temporarily_locked"
    assert int(locked.headers["retry-after"]) > 0
    assert state.audit.counts["lockout"] >= 1


async def test_unknown_usernames_lock_exactly_like_real_ones(api: Api, clock) -> None:
    real = await flows.register(api)
    ghost = unique_email("ghost")
    real_answers = await _fail(api, real["email"], clock, times=6)
    ghost_answers = await _fail(api, ghost, clock, times=6)
    assert [r.status_code for r in real_answers] == [r.status_code for r in ghost_answers]
    assert real_answers[-1].json() == ghost_answers[-1].json()
    assert real_answers[-1].headers["retry-after"] == ghost_answers[-1].headers["retry-after"]


async def test_lock_expires_after_the_lockout_duration(api: Api, clock) -> None:
    user = await flows.register(api)
    await _fail(api, user["email"], clock, times=5)
    assert (await flows.password_grant(api, user["email"], user["password"])).status_code == 429
    clock.advance(900 + 1)
    assert (await flows.password_grant(api, user["email"], user["password"])).status_code == 200


async def test_success_resets_the_count(api: Api, clock, state) -> None:
    user = await flows.register(api)
    await _fail(api, user["email"], clock, times=4)
    assert await state.protector.get_remaining_attempts(user["email"]) == 1
    assert (await flows.password_grant(api, user["email"], user["password"])).status_code == 200
    assert await state.protector.get_remaining_attempts(user["email"]) == 5
    answers = await _fail(api, user["email"], clock, times=4)
    assert all(r.status_code == 400 for r in answers)


async def test_failures_outside_the_window_are_forgotten(api: Api, clock) -> None:
    user = await flows.register(api)
    await _fail(api, user["email"], clock, times=4)
    clock.advance(901)
    answers = await _fail(api, user["email"], clock, times=4)
    assert all(r.status_code == 400 for r in answers)


async def test_cooldown_grows_after_each_failure(api: Api, clock) -> None:
    user = await flows.register(api)
    waits = []
    for _ in range(3):
        await flows.password_grant(api, user["email"], "Wrong-password-1!")
        refused = await flows.password_grant(api, user["email"], user["password"])
        assert refused.status_code == 429  # answered at once, not slept on
        waits.append(int(refused.headers["retry-after"]))
        clock.advance(waits[-1] + 0.1)
    assert waits == sorted(waits) and waits[-1] > waits[0]
    assert (await flows.password_grant(api, user["email"], user["password"])).status_code == 200


async def test_fifty_parallel_guesses_verify_at_most_five_passwords(api: Api, state) -> None:
    user = await flows.register(api)
    before = state.hasher.verifications
    answers = await asyncio.gather(*(
        flows.password_grant(api, user["email"], f"Wrong-password-{i}!") for i in range(50)
    ))
    verified = state.hasher.verifications - before
    assert verified <= state.settings.lockout_max_attempts
    assert sum(r.status_code == 400 for r in answers) == verified
    unexpected = [r.text for r in answers if r.status_code not in (400, 429)]
    assert not unexpected, unexpected[:2]


async def test_case_and_unicode_variants_share_one_counter(api: Api, clock) -> None:
    user = await flows.register(api)
    variants = [user["email"], user["email"].upper(), f"  {user['email']} ",
                user["email"].replace("@", "＠")]
    for variant in variants:
        await _fail(api, variant, clock)
    await _fail(api, user["email"], clock)
    assert (await flows.password_grant(api, user["email"], user["password"])).status_code == 429


async def test_unlock_from_the_cli_clears_the_lock(api: Api, clock, state) -> None:
    user = await flows.register(api)
    await _fail(api, user["email"], clock, times=5)
    from authsvc.identity.login import lockout_key

    await state.protector.unlock(lockout_key(user["email"].upper()))
    assert (await flows.password_grant(api, user["email"], user["password"])).status_code == 200


async def test_suspicious_patterns_raise_security_events(api: Api, clock, state) -> None:
    threshold = state.settings.stuffing_usernames_threshold
    before = state.audit.counts["credential_stuffing"]
    for _ in range(threshold):
        await flows.password_grant(api, unique_email("spray"), "Summer2026!")
    assert state.audit.counts["credential_stuffing"] == before + 1

    user = await flows.register(api)
    await _fail(api, user["email"], clock, times=3)
    before = state.audit.counts["login_after_failures"]
    assert (await flows.password_grant(api, user["email"], user["password"])).status_code == 200
    assert state.audit.counts["login_after_failures"] == before + 1
