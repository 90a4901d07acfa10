"""`grant_type=urn:authsvc:params:oauth:grant-type:mfa`: completes a login that answered 403
`mfa_required`, once `code` proves `method` for the `mfa_token`.

For `method=webauthn` the proof is the browser's credential JSON (`PublicKeyCredential.toJSON()`
answering the options of `POST /mfa/challenge` with method `webauthn`), sent as `credential`,
or in `code` like the other methods' proofs."""

from __future__ import annotations

from typing import Any

from authsvc.audit.service import AuditLog
from authsvc.caller import Caller
from authsvc.forms import require
from authsvc.tokens.grants.base import TokenRequest
from authsvc.tokens.grants.password import add_device_token, with_device_token
from authsvc.tokens.service import TokenService

MFA_GRANT = "urn:authsvc:params:oauth:grant-type:mfa"


class MfaGrant:
    grant_type = MFA_GRANT

    def __init__(self, tokens: TokenService, audit: AuditLog) -> None:
        self.tokens = tokens
        self.audit = audit

    async def issue(self, request: TokenRequest) -> dict[str, Any]:
        """Tokens with `amr` = pwd + mfa + the method (RFC 8176) and `auth_time` now;
        InvalidGrant or TemporarilyLocked otherwise."""
        form = request.form
        mfa_token, method = require(form, "mfa_token", "method")
        (code,) = require(form, "credential" if method == "webauthn" and form.get("credential")
                          else "code")
        caller = with_device_token(request)
        done = await request.mfa.complete(mfa_token, method, code, caller)
        bound = Caller(caller.user_agent, caller.ip, done.client_id, caller.device)
        body = await self.tokens.issue_for_user(request.session, done.user,
                                                amr=["pwd", *done.amr], client=bound,
                                                scope=done.scope)
        await self.audit.record("login_success", session=request.session, user_id=done.user.id,
                                client_ip=caller.ip, method=f"mfa:{method}")
        return await add_device_token(request.login, body, done.user, bound)
