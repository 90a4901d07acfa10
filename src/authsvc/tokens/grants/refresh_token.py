"""`grant_type=refresh_token` (RFC 6749 §6): one-time rotation with reuse detection
(RFC 9700 §4.14), in TokenService.rotate."""

from __future__ import annotations

from typing import Any

from authsvc.forms import require
from authsvc.tokens.grants.base import TokenRequest
from authsvc.tokens.service import TokenService


class RefreshTokenGrant:
    grant_type = "refresh_token"

    def __init__(self, tokens: TokenService) -> None:
        self.tokens = tokens

    async def issue(self, request: TokenRequest) -> dict[str, Any]:
        (refresh,) = require(request.form, "refresh_token")
        return await self.tokens.rotate(request.session, refresh, request.caller)
