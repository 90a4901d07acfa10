"""The `authsvc_device` cookie: the pages' device token (OWASP device cookies; see
protection/devices.py). HttpOnly, SameSite=Lax, `__Host-` when Secure, like the session's."""

from __future__ import annotations

from starlette.responses import Response

from authsvc.caller import Caller
from authsvc.identity.login import PasswordLogin
from authsvc.identity.models import User
from authsvc.web.cookies import DEVICE, set_cookie


async def remember_device(login: PasswordLogin, response: Response, user: User,
                          client: Caller, *, secure: bool) -> Response:
    """A complete login leaves a device token in the browser (OWASP device cookies): a lock of
    the username by others does not stop this browser's next sign-in."""
    issued = await login.new_device_token(user, client)
    set_cookie(response, DEVICE, issued.token, secure=secure, max_age=issued.expires_in)
    return response
