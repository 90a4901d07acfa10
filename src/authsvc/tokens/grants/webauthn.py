"""`grant_type=urn:authsvc:params:oauth:grant-type:webauthn`: a passwordless sign-in with a
passkey (WebAuthn Level 2 §7.2), the same login as `POST /webauthn/login/verify`. Form:
`challenge_id` (from `POST /webauthn/login/options`) and `credential` (the browser's
`PublicKeyCredential.toJSON()` as a JSON string). Registered only while passkeys are on."""

from __future__ import annotations

from typing import Any

from authsvc.audit.service import AuditLog
from authsvc.caller import Caller
from authsvc.errors import InvalidGrant
from authsvc.forms import require
from authsvc.mfa.service import PasskeysOff
from authsvc.passkeys.service import InvalidCredential, PasskeyService
from authsvc.tokens.grants.base import TokenRequest
from authsvc.tokens.service import TokenService

WEBAUTHN_GRANT = "urn:authsvc:params:oauth:grant-type:webauthn"


async def passkey_login(tokens: TokenService, audit: AuditLog, passkeys: PasskeyService,
                        caller: Caller, challenge_id: str, credential: Any) -> dict[str, Any]:
    """The `/token` success body for a verified passkey; `amr` hwk/swk (+ user, mfa with UV)."""
    done = await passkeys.sign_in(challenge_id, credential, caller)
    session = passkeys.session
    body = await tokens.issue_for_user(session, done.user, amr=done.amr, client=caller)
    await audit.record("login_success", session=session, user_id=done.user.id,
                       client_ip=caller.ip, method="passkey")
    return body


class WebAuthnGrant:
    grant_type = WEBAUTHN_GRANT

    def __init__(self, tokens: TokenService, audit: AuditLog) -> None:
        self.tokens = tokens
        self.audit = audit

    async def issue(self, request: TokenRequest) -> dict[str, Any]:
        challenge_id, credential = require(request.form, "challenge_id", "credential")
        if request.passkeys is None:
            raise PasskeysOff()
        try:
            return await passkey_login(self.tokens, self.audit, request.passkeys,
                                       request.caller, challenge_id, credential)
        except InvalidCredential:
            raise InvalidGrant("The passkey could not be verified.") from None  # RFC 6749 §5.2
