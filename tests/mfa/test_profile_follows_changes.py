"""GET /users/me (cached per user version, identity/cache.py) shows every change to the user's
factors at once: a recovery code used, a new set, TOTP turned off."""

from __future__ import annotations

from typing import Any

from tests import flows
from tests.mfa.helpers import World, bearer, code_at, enrol_totp, mfa_grant, mfa_token_for


async def test_the_profile_follows_every_change_at_once(world: World) -> None:
    api = world.api
    user = await flows.register(api)
    secret, codes, _pre_mfa = await enrol_totp(world, user)

    async def mfa() -> dict[str, Any]:
        me = await api.get("/users/me", headers=bearer(access))
        assert me.status_code == 200, me.text
        return me.json()["mfa"]  # type: ignore[no-any-return]

    done = await mfa_grant(api, await mfa_token_for(api, user), "totp",
                           code_at(secret, world.clock.t))
    access = done.json()["access_token"]
    assert await mfa() == {"totp": True, "email": False, "recovery_codes_left": 10,
                           "passkeys": 0}
    assert await mfa() == {"totp": True, "email": False, "recovery_codes_left": 10,
                           "passkeys": 0}  # the cached answer

    used = await mfa_grant(api, await mfa_token_for(api, user), "recovery_code", codes[0])
    assert used.status_code == 200, used.text
    assert (await mfa())["recovery_codes_left"] == 9  # a code used

    fresh = await api.post("/mfa/recovery-codes", headers=bearer(access))
    assert fresh.status_code == 200, fresh.text
    assert (await mfa())["recovery_codes_left"] == 10  # a new set

    off = await api.delete("/mfa/totp", headers=bearer(access))
    assert off.status_code == 204, off.text
    assert await mfa() == {"totp": False, "email": False, "recovery_codes_left": 0,
                           "passkeys": 0}  # MFA off: the codes went with it
