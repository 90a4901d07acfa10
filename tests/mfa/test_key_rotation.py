"""AUTHSVC_ENCRYPTION_KEY rotates like the JWT secret: after a switch, with the old key in
AUTHSVC_ENCRYPTION_PREVIOUS_KEYS, the TOTP secret and recovery codes made under the old key
still work (without it the TOTP secret no longer decrypts: tests/test_config.py)."""

from __future__ import annotations

from typing import Any

from tests import flows
from tests.mfa.helpers import code_at, enrol_totp, mfa_grant, mfa_token_for, open_world

OLD = "old-encryption-key-long-enough-0123456789"
NEW = "new-encryption-key-long-enough-9876543210"


async def test_totp_and_recovery_codes_survive_a_key_rotation(make_settings: Any,
                                                              smtp_sink: Any) -> None:
    async with open_world(make_settings, smtp_sink, encryption_key=OLD) as world:
        user = await flows.register(world.api)
        secret, codes, _ = await enrol_totp(world, user)
        step = world.clock.t

    async with open_world(make_settings, smtp_sink, encryption_key=NEW,
                          encryption_previous_keys=OLD) as world:
        world.clock.t = step + 30
        token = await mfa_token_for(world.api, user)
        totp = await mfa_grant(world.api, token, "totp", code_at(secret, world.clock.t))
        assert totp.status_code == 200, totp.text
        token = await mfa_token_for(world.api, user)
        recovery = await mfa_grant(world.api, token, "recovery_code", codes[1])
        assert recovery.status_code == 200, recovery.text
