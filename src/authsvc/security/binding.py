"""Client binding: the design's defence against token sidejacking.

A token carries keyed digests of the client it was issued to: the User-Agent, and with
`ua+ip` the client address. Where the service sees the client again (its own bearer endpoints,
a refresh) or a resource server reports it (`/introspect`'s `client_user_agent`, `client_ip`),
a mismatch refuses the token. This is a risk signal, not a cryptographic binding: anyone who
steals the token can copy a User-Agent. Proof of possession is DPoP (RFC 9449).

The digests are HMAC-SHA256 keyed with a binding key, so the token reveals neither the
User-Agent nor the address to whoever reads it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache
from typing import Literal

Mode = Literal["off", "ua", "ua+ip"]


class ClientBinding:
    def __init__(self, mode: Mode, key: bytes) -> None:
        self.mode = mode
        self._key = hashlib.sha256(b"authsvc-binding\x00" + key).digest()
        # Resource servers report the same few User-Agents over and over (introspection).
        self._digest = lru_cache(maxsize=4096)(self._compute)

    def _compute(self, label: str, value: str) -> str:
        mac = hmac.new(self._key, f"{label}\x00{value}".encode("utf-8", "replace"), "sha256")
        return base64.urlsafe_b64encode(mac.digest()[:16]).rstrip(b"=").decode()

    def claim(self, user_agent: str | None, ip: str | None) -> dict[str, str] | None:
        """The `bnd` claim for a new token, or None when binding is off."""
        if self.mode == "off":
            return None
        bound = {"ua": self._digest("ua", user_agent or "")}
        if self.mode == "ua+ip":
            bound["ip"] = self._digest("ip", ip or "")
        return bound

    def fingerprint(self, user_agent: str | None, ip: str | None) -> str:
        """Keyed digests of this client's User-Agent and address, whatever the mode: who is
        presenting a token (the reuse grace tells a retry from another client's reuse)."""
        return f"ua={self._digest('ua', user_agent or '')};ip={self._digest('ip', ip or '')}"

    def matches(
        self, claim: object, user_agent: str | None, ip: str | None, *, partial: bool = False
    ) -> bool:
        """Does the client fit the token's `bnd` claim?

        `partial`: only the values given are checked (a resource server may report the
        User-Agent and not the address); otherwise every bound value must match.
        """
        if self.mode == "off" or not claim:
            return True
        if not isinstance(claim, dict):
            return False
        checks = (("ua", user_agent), ("ip", ip))
        for label, value in checks:
            expected = claim.get(label)
            if expected is None:
                continue
            if value is None:
                if partial:
                    continue
                value = ""
            if not hmac.compare_digest(str(expected), self._digest(label, value)):
                return False
        return True
