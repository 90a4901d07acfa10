"""Issue 12 item 9 on the pages: adding a factor after the re-authentication window asks for
the current password (a wrong one counts like a login attempt, and changes nothing)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.infra import Api
from tests.web.pages import account_csrf, register_page


@pytest.mark.parametrize("path", ["/account/totp/setup", "/account/email-mfa/enable"])
async def test_adding_a_factor_later_asks_for_the_password(api: Api, session_clock: Any,
                                                           clock: Any, state: Any,
                                                           path: str) -> None:
    user = await register_page(api)
    session_clock.advance(400)
    refused = await api.post(path, data={"csrf_token": await account_csrf(api)})
    assert refused.status_code == 403
    assert 'name="current_password"' in refused.text
    assert "Set up an authenticator app" in (await api.get("/account")).text  # nothing started
    wrong = await api.post(path, data={"csrf_token": await account_csrf(api),
                                       "current_password": "Not-The-Password-1"})
    assert wrong.status_code == 403 and "not right" in wrong.text
    assert await state.protector.get_remaining_attempts(user["email"]) == 4
    clock.advance(120)  # past the cooldown of that failure
    done = await api.post(path, data={"csrf_token": await account_csrf(api),
                                      "current_password": user["password"]})
    assert done.status_code in (200, 303), done.text
