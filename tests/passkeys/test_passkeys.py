"""Passkeys in real Chromium (CDP virtual authenticator) against a real `authsvc serve`:
registration, passwordless sign-in, and every way an assertion must be refused."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from authsvc.tokens.grants.webauthn import WEBAUTHN_GRANT
from tests.passkeys.browser import get, serve
from tests.passkeys.conftest import Device, open_device
from tests.passkeys.helpers import (
    MFA_GRANT,
    api,
    assertion,
    audit_count,
    bearer,
    claims_of,
    enable_totp,
    login_options,
    metric,
    new_user,
    register_passkey,
    sign_in,
)


async def test_register_then_sign_in_without_a_password(server: str, device: Device) -> None:
    async with api(server) as client:
        user = await new_user(client)
        options = (await client.post("/webauthn/register/options",
                                     headers=bearer(user["access"]))).json()
        assert options["rp"]["id"] == "localhost"
        assert options["authenticatorSelection"]["residentKey"] == "preferred"
        assert options["authenticatorSelection"]["userVerification"] == "preferred"
        assert options["excludeCredentials"] == []
        made = await register_passkey(client, device.page, user["access"])
        assert made["name"] == "Laptop" and set(made) == {"id", "name", "created_at",
                                                          "credential_id"}
        listed = (await client.get("/users/me/passkeys", headers=bearer(user["access"]))).json()
        assert [p["id"] for p in listed] == [made["id"]]
        assert listed[0]["last_used_at"] is None
        again = (await client.post("/webauthn/register/options",
                                   headers=bearer(user["access"]))).json()
        assert [c["id"] for c in again["excludeCredentials"]] == [made["credential_id"]]

        challenge_id, credential = await assertion(client, device.page)
        signed = await sign_in(client, challenge_id, credential)
        assert signed.status_code == 200, signed.text
        assert signed.headers["cache-control"] == "no-store"
        body = signed.json()
        assert body["token_type"] == "Bearer" and body["refresh_token"]
        claims = claims_of(server, body["access_token"])
        assert claims["sub"] == user["id"]
        assert claims["amr"] == ["hwk", "user", "mfa"]
        assert abs(claims["auth_time"] - time.time()) < 30
        me = (await client.get("/users/me", headers=bearer(body["access_token"]))).json()
        assert me["mfa"]["passkeys"] == 1
        listed = (await client.get("/users/me/passkeys", headers=bearer(user["access"]))).json()
        assert listed[0]["last_used_at"] is not None


async def test_a_replayed_assertion_is_refused(server: str, device: Device) -> None:
    async with api(server) as client:
        user = await new_user(client)
        await register_passkey(client, device.page, user["access"])
        challenge_id, credential = await assertion(client, device.page)
        assert (await sign_in(client, challenge_id, credential)).status_code == 200
        replay = await sign_in(client, challenge_id, credential)
        assert replay.status_code == 400
        assert replay.json()["error"] == "invalid_credential"


async def test_an_assertion_made_on_another_origin_is_refused(server: str,
                                                              device: Device) -> None:
    """Another origin within the RP ID's reach (here: another port of localhost) gets a valid
    signature from the authenticator, but its origin is not ours: refused (§7.2 step 13)."""
    async with api(server) as client:
        user = await new_user(client)
        await register_passkey(client, device.page, user["access"])
        options = await login_options(client)
        challenge_id = options.pop("challenge_id")
        elsewhere = "http://localhost:9"
        await device.page.route(f"{elsewhere}/**", lambda route: route.fulfill(
            body="<!doctype html><title>look-alike</title>", content_type="text/html"))
        await device.page.goto(f"{elsewhere}/login")
        credential = await get(device.page, options)
        refused = await sign_in(client, challenge_id, credential)
        assert refused.status_code == 400
        assert refused.json()["error"] == "invalid_credential"


async def test_another_users_passkey_cannot_answer_for_a_named_user(
        server: str, device: Device, chromium: Any) -> None:
    other = await open_device(chromium, server)
    try:
        async with api(server) as client:
            victim = await new_user(client)
            attacker = await new_user(client)
            await register_passkey(client, device.page, victim["access"])
            await register_passkey(client, other.page, attacker["access"])
            challenge_id, credential = await assertion(client, other.page, victim["email"])
            refused = await sign_in(client, challenge_id, credential)
            assert refused.status_code == 400
            # ...and as a second factor: the victim's step-up with the attacker's passkey.
            options = await client.post("/mfa/step-up/challenge", json={"method": "webauthn"},
                                        headers=bearer(victim["access"]))
            assert options.status_code == 200, options.text
            foreign = await get(other.page, {**options.json()["options"],
                                             "allowCredentials": []})
            step = await client.post("/mfa/step-up", headers=bearer(victim["access"]),
                                     json={"method": "webauthn", "credential": foreign})
            assert step.status_code == 400
            assert step.json()["error"] == "invalid_credential"
    finally:
        await other.context.close()


async def test_a_deleted_passkey_no_longer_signs_in(server: str, device: Device) -> None:
    async with api(server) as client:
        user = await new_user(client)
        made = await register_passkey(client, device.page, user["access"])
        # Deleting needs a step-up: the password token has none.
        refused = await client.delete(f"/users/me/passkeys/{made['id']}",
                                      headers=bearer(user["access"]))
        assert refused.status_code == 403
        assert refused.json()["error"] == "mfa_step_up_required"
        challenge_id, credential = await assertion(client, device.page)
        strong = (await sign_in(client, challenge_id, credential)).json()["access_token"]
        gone = await client.delete(f"/users/me/passkeys/{made['id']}", headers=bearer(strong))
        assert gone.status_code == 204
        assert (await client.get("/users/me/passkeys", headers=bearer(strong))).json() == []
        challenge_id, credential = await assertion(client, device.page)
        refused = await sign_in(client, challenge_id, credential)
        assert refused.status_code == 400
        assert refused.json()["error"] == "invalid_credential"


async def test_without_user_verification_a_passkey_is_one_factor(server: str,
                                                                 chromium: Any) -> None:
    """UV=0: a user without MFA gets `amr` ["hwk"] (no `mfa`); a user with MFA on cannot sign
    in with it alone (user verification is then required), only use it after the password."""
    first = await open_device(chromium, server, user_verification=False)
    device = await open_device(chromium, server, user_verification=False)
    try:
        async with api(server) as client:
            user = await new_user(client)
            made = await register_passkey(client, first.page, user["access"])
            challenge_id, credential = await assertion(client, first.page,
                                                       allow=made["credential_id"])
            plain = await sign_in(client, challenge_id, credential)
            assert plain.status_code == 200, plain.text
            assert claims_of(server, plain.json()["access_token"])["amr"] == ["hwk"]

            mfa_user = await new_user(client)
            made = await register_passkey(client, device.page, mfa_user["access"])
            await enable_totp(client, mfa_user["access"])
            challenge_id, credential = await assertion(client, device.page, mfa_user["email"],
                                                       allow=made["credential_id"])
            refused = await sign_in(client, challenge_id, credential)
            assert refused.status_code == 400
            assert refused.json()["error"] == "invalid_credential"

            # The MFA grant: password, then the passkey (UV not needed for a second factor).
            grant = await client.post("/token", data={
                "grant_type": "password", "username": mfa_user["email"],
                "password": mfa_user["password"]})
            assert grant.status_code == 403
            assert grant.json()["mfa_methods"] == ["totp", "webauthn", "recovery_code"]
            mfa_token = grant.json()["mfa_token"]
            options = await client.post("/mfa/challenge",
                                        json={"mfa_token": mfa_token, "method": "webauthn"})
            assert options.status_code == 200, options.text
            answer = await get(device.page, options.json()["options"])
            done = await client.post("/token", data={
                "grant_type": MFA_GRANT, "mfa_token": mfa_token, "method": "webauthn",
                "code": json.dumps(answer)})
            assert done.status_code == 200, done.text
            assert claims_of(server, done.json()["access_token"])["amr"] == ["pwd", "mfa", "hwk"]
            again = await client.post("/token", data={
                "grant_type": MFA_GRANT, "mfa_token": mfa_token, "method": "webauthn",
                "credential": json.dumps(answer)})
            assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    finally:
        await first.context.close()
        await device.context.close()


async def test_a_cloned_authenticator_is_refused_and_audited(server: str, device: Device,
                                                            chromium: Any) -> None:
    """WebAuthn §7.2 step 21: the same key in two authenticators; once one has advanced the
    counter, the other's count is not greater than the stored one."""
    clone = await open_device(chromium, server)
    try:
        async with api(server) as client:
            user = await new_user(client)
            await register_passkey(client, device.page, user["access"])
            (original,) = await device.authenticator.credentials()
            await clone.authenticator.add_credential(original)
            challenge_id, credential = await assertion(client, device.page)
            assert (await sign_in(client, challenge_id, credential)).status_code == 200
            before = await audit_count(server, "passkey_sign_count_regressed")
            challenge_id, copied = await assertion(client, clone.page)
            refused = await sign_in(client, challenge_id, copied)
            assert refused.status_code == 400
            assert refused.json()["error"] == "invalid_credential"
            assert await audit_count(server, "passkey_sign_count_regressed") == before + 1
            assert await metric(server, 'authsvc_passkey_operations_total{operation="sign_count"'
                                ',outcome="regressed"}') >= 1
    finally:
        await clone.context.close()


async def test_passkey_failures_count_in_the_username_lockout(server: str, device: Device,
                                                             chromium: Any) -> None:
    other = await open_device(chromium, server)
    try:
        async with api(server) as client:
            user = await new_user(client)
            intruder = await new_user(client)
            await register_passkey(client, device.page, user["access"])
            await register_passkey(client, other.page, intruder["access"])
            for _ in range(5):
                challenge_id, credential = await assertion(client, other.page, user["email"])
                assert (await sign_in(client, challenge_id, credential)).status_code == 400
            challenge_id, credential = await assertion(client, device.page, user["email"])
            locked = await sign_in(client, challenge_id, credential)
            assert locked.status_code == 429
            assert locked.json()["error"] == "temporarily_locked"
            assert int(locked.headers["retry-after"]) > 0
            password = await client.post("/token", data={
                "grant_type": "password", "username": user["email"],
                "password": user["password"]})
            assert password.status_code == 429
    finally:
        await other.context.close()


async def test_step_up_with_a_passkey(server: str, device: Device) -> None:
    async with api(server) as client:
        user = await new_user(client)
        made = await register_passkey(client, device.page, user["access"])
        # An assertion made for a sign-in challenge is not a step-up (purpose binding).
        _challenge_id, for_login = await assertion(client, device.page)
        wrong = await client.post("/mfa/step-up", headers=bearer(user["access"]),
                                  json={"method": "webauthn", "credential": for_login})
        assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_credential"
        options = await client.post("/mfa/step-up/challenge", json={"method": "webauthn"},
                                    headers=bearer(user["access"]))
        answer = await get(device.page, options.json()["options"])
        stepped = await client.post("/mfa/step-up", headers=bearer(user["access"]),
                                    json={"method": "webauthn", "credential": answer})
        assert stepped.status_code == 200, stepped.text
        token = stepped.json()["access_token"]
        assert claims_of(server, token)["amr"] == ["pwd", "mfa", "hwk"]
        replay = await client.post("/mfa/step-up", headers=bearer(user["access"]),
                                   json={"method": "webauthn", "credential": answer})
        assert replay.status_code == 400
        gone = await client.delete(f"/users/me/passkeys/{made['id']}", headers=bearer(token))
        assert gone.status_code == 204


async def test_a_synced_passkey_is_swk(server: str, chromium: Any) -> None:
    device = await open_device(chromium, server, backup=True)
    try:
        async with api(server) as client:
            user = await new_user(client)
            await register_passkey(client, device.page, user["access"])
            challenge_id, credential = await assertion(client, device.page)
            body = (await sign_in(client, challenge_id, credential)).json()
            assert claims_of(server, body["access_token"])["amr"] == ["swk", "user", "mfa"]
    finally:
        await device.context.close()


async def test_registration_needs_step_up_when_mfa_is_on(server: str, device: Device) -> None:
    async with api(server) as client:
        user = await new_user(client)
        await enable_totp(client, user["access"])
        refused = await client.post("/webauthn/register/options", headers=bearer(user["access"]))
        assert refused.status_code == 403
        assert refused.json()["error"] == "mfa_step_up_required"
        bad = await client.post("/webauthn/register/verify", headers=bearer(user["access"]),
                                json={"credential": {"id": "x"}})
        assert bad.status_code == 400 and bad.json()["error"] == "invalid_credential"


async def test_the_webauthn_grant_of_the_token_endpoint(server: str, device: Device) -> None:
    async with api(server) as client:
        user = await new_user(client)
        await register_passkey(client, device.page, user["access"])
        meta = (await client.get("/.well-known/oauth-authorization-server")).json()
        assert WEBAUTHN_GRANT in meta["grant_types_supported"]
        challenge_id, credential = await assertion(client, device.page)
        form = {"grant_type": WEBAUTHN_GRANT, "challenge_id": challenge_id,
                "credential": json.dumps(credential)}
        issued = await client.post("/token", data=form)
        assert issued.status_code == 200, issued.text
        assert claims_of(server, issued.json()["access_token"])["amr"] == ["hwk", "user", "mfa"]
        replay = await client.post("/token", data=form)
        assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"


async def test_user_verification_required_refuses_an_unverified_passkey(
        server: str, chromium: Any, database_url: str, redis_url: str,
        tmp_path: Path) -> None:
    """With AUTHSVC_WEBAUTHN_USER_VERIFICATION=required, a passkey whose authenticator did not
    verify the user signs in nowhere: not passwordless, not as a step-up. (The same passkey
    works on a server that only prefers user verification.)"""
    device = await open_device(chromium, server, user_verification=False)
    try:
        async with api(server) as client:
            user = await new_user(client)
            made = await register_passkey(client, device.page, user["access"])
        with serve(database_url, redis_url, tmp_path,
                   webauthn_user_verification="required") as strict:
            await device.page.goto(f"{strict}/forgot")
            async with api(strict) as client:
                options = (await client.post("/webauthn/login/options", json={})).json()
                assert options["userVerification"] == "required"
                challenge_id = options.pop("challenge_id")
                options["allowCredentials"] = [{"id": made["credential_id"],
                                                "type": "public-key"}]
                options["userVerification"] = "discouraged"  # what a hostile client may ask
                credential = await get(device.page, options)
                refused = await sign_in(client, challenge_id, credential)
                assert refused.status_code == 400
                assert refused.json()["error"] == "invalid_credential"
    finally:
        await device.context.close()
