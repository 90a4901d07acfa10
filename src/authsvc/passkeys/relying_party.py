"""The relying party (WebAuthn Level 2 §5.1.3, §7): its RP ID and the origins it accepts.

`AUTHSVC_WEBAUTHN_RP_ID` defaults to the issuer's host and `AUTHSVC_WEBAUTHN_ORIGINS` to the
issuer's origin. An IP address is never a valid RP ID (§5.1.3: a *registrable domain suffix*), so
with an IP issuer and no RP ID set passkeys are off, and `off_reason` says why.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from authsvc.config import Settings


@dataclass(frozen=True, slots=True)
class RelyingParty:
    rp_id: str
    name: str
    origins: tuple[str, ...]
    user_verification: str  # "preferred", "required" or "discouraged"
    challenge_ttl: int

    @property
    def requires_user_verification(self) -> bool:
        return self.user_verification == "required"


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def off_reason(settings: Settings) -> str | None:
    """Why passkeys are off with these settings, or None when they are on."""
    if settings.webauthn_rp_id:
        return "AUTHSVC_WEBAUTHN_RP_ID is an IP address" if _is_ip(
            settings.webauthn_rp_id) else None
    host = urlsplit(settings.issuer).hostname or ""
    if not host:
        return "the issuer has no host"
    if _is_ip(host):
        return (f"the issuer's host {host} is an IP address, which cannot be a WebAuthn RP ID; "
                "set AUTHSVC_WEBAUTHN_RP_ID (and AUTHSVC_WEBAUTHN_ORIGINS)")
    return None


def relying_party(settings: Settings) -> RelyingParty | None:
    """The relying party of these settings, or None when passkeys are off."""
    if off_reason(settings) is not None:
        return None
    rp_id = settings.webauthn_rp_id or urlsplit(settings.issuer).hostname or ""
    origins = tuple(settings.webauthn_origins) or (_origin(settings.issuer),)
    return RelyingParty(rp_id=rp_id.lower(), name=settings.webauthn_rp_name, origins=origins,
                        user_verification=settings.webauthn_user_verification,
                        challenge_ttl=settings.webauthn_challenge_ttl)


def describe(settings: Settings) -> str:
    """One line for the start banner."""
    reason = off_reason(settings)
    if reason is not None:
        return f"passkeys off: {reason}"
    rp = relying_party(settings)
    assert rp is not None
    return f"passkeys on: RP ID {rp.rp_id}, origins {', '.join(rp.origins)}"
