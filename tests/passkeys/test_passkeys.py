"""Passkeys in real Chromium (CDP virtual authenticator) against a real `authsvc serve`:
registration, passwordless sign-in, and every way an assertion must be refused."""

from __future__ import annotations

import time
from typing import Any

from tests.passkeys.conftest import Device
from tests.passkeys.helpers import (
    api,
    assertion,
    bearer,
    claims_of,
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
