"""A real `authsvc serve` on http://localhost:PORT and a headless Chromium whose CDP virtual
authenticator (ctap2, internal transport, resident keys, user verification) plays the passkey.

The browser page sits on the server's origin, so the client data it signs names that origin;
the tests then send what the authenticator made to the API with httpx, as any client would.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.processes import free_port, serving

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SRC = Path(__file__).resolve().parents[2] / "src"

CREATE = """async (options) => {
  const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options);
  const credential = await navigator.credentials.create({ publicKey });
  return credential.toJSON();
}"""
GET = """async (options) => {
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(options);
  const credential = await navigator.credentials.get({ publicKey });
  return credential.toJSON();
}"""


@contextmanager
def serve(database_url: str, redis_url: str, tmp: Path, **settings: str) -> Iterator[str]:
    """`authsvc serve` with issuer http://localhost:PORT (RP ID localhost); yields that URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHSVC_")}
    env.update({
        "AUTHSVC_ENV": "testing",
        "AUTHSVC_DATABASE_URL": database_url,
        "AUTHSVC_REDIS_URL": redis_url,
        "AUTHSVC_JWT_SECRET": "passkey-jwt-secret-that-is-long-enough-0123",
        "AUTHSVC_ENCRYPTION_KEY": "passkey-encryption-key-long-enough-0123456",
        "AUTHSVC_ISSUER": f"http://localhost:{port}",
        "AUTHSVC_DATA_DIR": str(tmp),
        "AUTHSVC_LOCKOUT_COOLDOWN_BASE": "0",
        # Every test signs in from 127.0.0.1: room for them all within a minute.
        "AUTHSVC_RATE_LIMIT_TOKEN": "1000/60",
        "AUTHSVC_RATE_LIMIT_LOGIN_PAGE": "1000/60",
        "AUTHSVC_RATE_LIMIT_REGISTER": "1000/60",
        "AUTHSVC_RATE_LIMIT_MFA_CHALLENGE": "1000/60",
        "PYTHONPATH": str(SRC),
        **{f"AUTHSVC_{k.upper()}": v for k, v in settings.items()},
    })
    with serving(env, port, tmp):
        yield f"http://localhost:{port}"


class Authenticator:
    """One CDP virtual authenticator of a page (WebAuthn domain of the DevTools protocol)."""

    def __init__(self, cdp: Any, authenticator_id: str) -> None:
        self.cdp = cdp
        self.id = authenticator_id

    @classmethod
    async def add(cls, cdp: Any, *, user_verification: bool = True, backup: bool = False,
                  ) -> Authenticator:
        """`user_verification=False`: an authenticator that cannot verify its user (a security
        key without PIN): its assertions carry UV=0."""
        options = {"protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
                   "hasUserVerification": user_verification,
                   "isUserVerified": user_verification,
                   "automaticPresenceSimulation": True}
        if backup:
            options.update({"defaultBackupEligibility": True, "defaultBackupState": True})
        added = await cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
        return cls(cdp, added["authenticatorId"])

    async def credentials(self) -> list[dict[str, Any]]:
        found = await self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.id})
        return list(found["credentials"])

    async def add_credential(self, credential: dict[str, Any]) -> None:
        await self.cdp.send("WebAuthn.addCredential",
                            {"authenticatorId": self.id, "credential": credential})

    async def set_user_verified(self, verified: bool) -> None:
        await self.cdp.send("WebAuthn.setUserVerified",
                            {"authenticatorId": self.id, "isUserVerified": verified})

    async def remove(self) -> None:
        await self.cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": self.id})


async def create(page: Any, options: dict[str, Any]) -> dict[str, Any]:
    """navigator.credentials.create() with the server's options; the credential's toJSON()."""
    return await page.evaluate(CREATE, options)  # type: ignore[no-any-return]


async def get(page: Any, options: dict[str, Any]) -> dict[str, Any]:
    return await page.evaluate(GET, options)  # type: ignore[no-any-return]
