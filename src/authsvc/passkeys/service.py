"""Passkeys for a user: register, list, remove; sign in without a password; check one as a
second factor (the MFA grant, step-up, the hosted pages). No HTTP here.

Rules, each once: a challenge is single use, 5 minutes, and says what it is for (purpose, user,
mfa_token); a credential answers only for its own user (the user handle must match, §7.2 step
6); the sign count must advance (§7.2 step 21: refused and audited otherwise); failures count in
the username's lockout like wrong passwords; every outcome is audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.caller import Caller
from authsvc.errors import InvalidCode, InvalidRequest, NotFound
from authsvc.identity.login import EmailNotVerified, PasswordLogin, lockout_key
from authsvc.identity.models import User
from authsvc.mfa.service import PasskeysOff
from authsvc.passkeys import ceremonies
from authsvc.passkeys.ceremonies import CeremonyFailed
from authsvc.passkeys.challenges import LOGIN, REGISTER, Pending, challenge_bytes, challenge_id
from authsvc.passkeys.models import Passkey
from authsvc.passkeys.repository import PasskeyRepository
from authsvc.passkeys.runtime import PasskeyRuntime
from authsvc.protection.bruteforce import Subject

UNKNOWN_USER = "-"  # a sign-in that named a username with no account: nothing may answer it
MAX_NAME = 100


class InvalidCredential(InvalidCode):
    """400 `invalid_credential` (an `InvalidCode`, so every second-factor path treats it as a
    wrong code: lockout, audit, `invalid_grant` on the MFA grant)."""

    code = "invalid_credential"
    description = "The passkey could not be verified."


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: User
    amr: list[str]
    passkey: Passkey


def amr_of(passkey_kind: str, user_verified: bool) -> list[str]:
    """RFC 8176: `hwk` for a device-bound key, `swk` for a synced one; with user verification
    the passkey is two factors in one (possession + `user`), so `mfa` too."""
    return [passkey_kind, "user", "mfa"] if user_verified else [passkey_kind]


def kind_of(device_type: str) -> str:
    return "swk" if device_type == "multi_device" else "hwk"


def passkey_body(p: Passkey) -> dict[str, Any]:
    return {"id": str(p.id), "name": p.name, "created_at": int(p.created_at.timestamp()),
            "last_used_at": int(p.last_used_at.timestamp()) if p.last_used_at else None}


class PasskeyService:
    """On one unit of work: the passkeys' runtime and the password login rule (`login`, with
    its identity service: the lockout and the audit trail a failed sign-in counts in)."""

    def __init__(self, session: AsyncSession, runtime: PasskeyRuntime | None,
                 login: PasswordLogin) -> None:
        if runtime is None:
            raise PasskeysOff()
        self.session = session
        self.login = login
        self.identity = login.identity
        self.protector = login.protector
        self.runtime = runtime
        self.rp = runtime.rp
        self.repo = PasskeyRepository(session)
        self.audit = login.audit

    # -------------------------------------------------------------- registration
    async def registration_options(self, user: User) -> dict[str, Any]:
        """`PublicKeyCredentialCreationOptionsJSON` for a new passkey of `user`."""
        challenge = await self.runtime.challenges.issue(Pending(REGISTER, str(user.id)))
        return ceremonies.creation_options(
            self.rp, challenge, user_handle=user.id.bytes, name=user.email,
            display_name=user.display_name or user.email,
            exclude=await self.repo.of_user(user.id))

    async def register(self, user: User, credential: Any, name: str | None,
                       client: Caller) -> Passkey:
        """Level 2 §7.1: verify the attestation for the user's live registration challenge and
        store the credential; InvalidCredential otherwise (nothing stored)."""
        try:
            data = ceremonies.as_json(credential)
            challenge = ceremonies.signed_challenge(data)
            pending = await self.runtime.challenges.take(challenge)
            if pending != Pending(REGISTER, str(user.id)):
                raise CeremonyFailed("no live registration challenge of this user")
            done = ceremonies.verify_creation(self.rp, data, challenge)
            if await self.repo.credential_exists(done.credential_id):
                raise CeremonyFailed("credential already registered")  # §7.1 step 22
        except CeremonyFailed as exc:
            await self.audit.record("passkey_registration_failed", user_id=user.id,
                                    client_ip=client.ip, reason=str(exc)[:200])
            raise InvalidCredential() from None
        passkey = Passkey(
            user_id=user.id, credential_id=done.credential_id, public_key=done.public_key,
            sign_count=done.sign_count, transports=done.transports, aaguid=done.aaguid,
            device_type=done.device_type, backed_up=done.backed_up,
            name=clean_name(name) or default_name(await self.repo.count(user.id)),
        )
        if not await self.repo.add(passkey):
            raise InvalidCredential()
        await self.identity.changed(user)
        await self.audit.record("passkey_registered", session=self.session, user_id=user.id,
                                client_ip=client.ip, passkey=str(passkey.id))
        return passkey

    # ---------------------------------------------------------------- managing
    async def list(self, user: User) -> list[Passkey]:
        return await self.repo.of_user(user.id)

    async def count(self, user: User) -> int:
        return await self.repo.count(user.id)

    async def remove(self, user: User, passkey_id: str, client: Caller) -> None:
        try:
            pid = uuid.UUID(passkey_id)
        except ValueError:
            raise NotFound("No such passkey.") from None
        if not await self.repo.remove(user.id, pid):
            raise NotFound("No such passkey.")
        await self.identity.changed(user)
        await self.audit.record("passkey_removed", session=self.session, user_id=user.id,
                                client_ip=client.ip, passkey=passkey_id)

    # ------------------------------------------------------------------ sign-in
    async def login_options(self, username: str | None) -> tuple[dict[str, Any], str]:
        """Request options and their `challenge_id`. `allowCredentials` stays empty even with a
        username (listing them would tell who has an account): the browser offers discoverable
        passkeys, and the username binds the challenge to that account and its lockout."""
        owner, bind = "", ""
        if username:
            bind = lockout_key(username)
            user = await self.identity.users.get_by_email(bind)
            owner = str(user.id) if user is not None else UNKNOWN_USER
        challenge = await self.runtime.challenges.issue(Pending(LOGIN, owner, bind))
        return ceremonies.request_options(self.rp, challenge, allow=[]), challenge_id(challenge)

    async def sign_in(self, challenge_id_: str, credential: Any, client: Caller) -> SignedIn:
        """Passwordless sign-in (Level 2 §7.2). The lockout of the named (or the credential's)
        username applies: a locked account is refused before any check, a failure counts."""
        challenge = challenge_bytes(challenge_id_)
        pending = await self.runtime.challenges.take(challenge) if challenge else None
        passkey, user, parsed = None, None, None
        try:
            data = ceremonies.as_json(credential)
            parsed = ceremonies.parse_assertion(data)
            passkey = await self.repo.by_credential_id(parsed.raw_id)
            user = await self.identity.get(passkey.user_id) if passkey else None
        except CeremonyFailed:
            pass
        key = (pending.bind if pending and pending.bind else
               lockout_key(user.email) if user is not None else None)
        login = self.login
        if key:
            await self.protector.begin(key)
        try:
            if challenge is None or pending is None or pending.purpose != LOGIN:
                raise CeremonyFailed("no live sign-in challenge")
            if parsed is None or passkey is None or user is None or not user.is_active:
                raise CeremonyFailed("unknown credential or inactive user")
            if pending.user_id and pending.user_id != str(user.id):
                raise CeremonyFailed("the credential is not of the named user")
            required = self.rp.requires_user_verification or user.mfa_enabled
            asserted = await self._check(user, passkey, parsed, challenge, required)
        except CeremonyFailed as exc:
            await self.audit.record("passkey_login_failure", user_id=user.id if user else None,
                                    subject=key, client_ip=client.ip, reason=str(exc)[:200])
            if key:
                await login.record_failure(Subject.username(key), client, key=key,
                                           user_id=user.id if user else None, kind="passkey")
            raise InvalidCredential() from None
        await self.protector.succeeded(key)  # type: ignore[arg-type]
        if login.require_verified_email and not user.email_verified:
            raise EmailNotVerified()
        return SignedIn(user, amr_of(kind_of(asserted.device_type), asserted.user_verified),
                        passkey)

    # ------------------------------------------------------------- second factor
    async def factor_options(self, user: User, purpose: str, bind: str = "") -> dict[str, Any]:
        """Request options listing the user's passkeys, for the MFA grant or a step-up."""
        passkeys = await self.repo.of_user(user.id)
        if not passkeys:
            raise InvalidRequest("This account has no passkey.")
        challenge = await self.runtime.challenges.issue(Pending(purpose, str(user.id), bind))
        return ceremonies.request_options(self.rp, challenge, allow=passkeys)

    async def verify_factor(self, user: User, credential: Any, purpose: str,
                            bind: str = "") -> str:
        """`hwk` or `swk` when `credential` answers the user's live challenge for `purpose`
        (and `bind`); InvalidCredential otherwise. The caller counts failures (lockout)."""
        try:
            data = ceremonies.as_json(credential)
            challenge = ceremonies.signed_challenge(data)
            pending = await self.runtime.challenges.take(challenge)
            if pending != Pending(purpose, str(user.id), bind):
                raise CeremonyFailed(f"no live {purpose} challenge of this user")
            parsed = ceremonies.parse_assertion(data)
            passkey = await self.repo.by_credential_id(parsed.raw_id)
            if passkey is None or passkey.user_id != user.id:
                raise CeremonyFailed("not a passkey of this user")
            asserted = await self._check(user, passkey, parsed, challenge,
                                         self.rp.requires_user_verification)
        except CeremonyFailed as exc:
            await self.audit.record("passkey_failure", user_id=user.id, purpose=purpose,
                                    reason=str(exc)[:200])
            raise InvalidCredential() from None
        return kind_of(asserted.device_type)

    # ----------------------------------------------------------------- internals
    async def _check(self, user: User, passkey: Passkey, parsed: Any, challenge: bytes,
                     require_uv: bool) -> ceremonies.Asserted:
        handle = parsed.response.user_handle
        if handle is not None and handle != user.id.bytes:  # §7.2 step 6
            raise CeremonyFailed("user handle does not match")
        asserted = ceremonies.verify_assertion(self.rp, parsed, challenge, passkey,
                                               require_user_verification=require_uv)
        if not await self.repo.record_use(passkey.id, asserted.sign_count):
            # §7.2 step 21: a counter that did not advance is a sign of a cloned authenticator.
            await self.audit.record("passkey_sign_count_regressed", user_id=user.id,
                                    passkey=str(passkey.id), stored=passkey.sign_count,
                                    received=asserted.sign_count)
            raise CeremonyFailed("sign count did not advance")
        return asserted


def clean_name(name: str | None) -> str:
    text = " ".join((name or "").split())
    return "".join(ch for ch in text if ch.isprintable())[:MAX_NAME]


def default_name(existing: int) -> str:
    return "Passkey" if existing == 0 else f"Passkey {existing + 1}"
