"""The two WebAuthn ceremonies on py_webauthn: options out (`options_to_json`, Level 3's
`PublicKeyCredential*OptionsJSON`), and the browser's `PublicKeyCredential.toJSON()` back in.
Every failure of the library (parsing, origin, RP ID, signature, flags) becomes one
`CeremonyFailed`; no crypto of our own here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import parse_authentication_credential_json, parse_client_data_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from authsvc.passkeys.models import Passkey
from authsvc.passkeys.relying_party import RelyingParty

MAX_CREDENTIAL_JSON = 16_384
KNOWN_TRANSPORTS = frozenset(t.value for t in AuthenticatorTransport)
# What py_webauthn and its parsers raise for input they refuse.
LIBRARY_ERRORS = (WebAuthnException, ValueError, TypeError, KeyError, AttributeError)


class CeremonyFailed(Exception):
    """The credential did not verify; the reason is for the logs, never for the client."""


@dataclass(frozen=True, slots=True)
class Registered:
    credential_id: bytes
    public_key: bytes
    sign_count: int
    aaguid: str
    device_type: str
    backed_up: bool
    transports: list[str]


@dataclass(frozen=True, slots=True)
class Asserted:
    credential_id: bytes
    sign_count: int
    device_type: str
    backed_up: bool
    user_verified: bool


def as_json(credential: Any) -> dict[str, Any]:
    """The credential as a JSON object (it may arrive as one, or as a string of one)."""
    if isinstance(credential, str):
        if len(credential) > MAX_CREDENTIAL_JSON:
            raise CeremonyFailed("credential too long")
        try:
            credential = json.loads(credential)
        except ValueError:
            raise CeremonyFailed("credential is not JSON") from None
    if not isinstance(credential, dict):
        raise CeremonyFailed("credential is not a JSON object")
    return credential


def signed_challenge(credential: dict[str, Any]) -> bytes:
    """The challenge inside the client data the browser signed (verified later, not trusted)."""
    try:
        raw = credential["response"]["clientDataJSON"]
        return parse_client_data_json(base64url_to_bytes(raw)).challenge
    except LIBRARY_ERRORS as exc:
        raise CeremonyFailed(f"client data unreadable: {type(exc).__name__}") from None


def parse_assertion(credential: dict[str, Any]) -> AuthenticationCredential:
    try:
        return parse_authentication_credential_json(credential)
    except LIBRARY_ERRORS as exc:
        raise CeremonyFailed(f"assertion unreadable: {exc}") from None


def _descriptors(passkeys: list[Passkey]) -> list[PublicKeyCredentialDescriptor]:
    return [PublicKeyCredentialDescriptor(
        id=p.credential_id,
        transports=[AuthenticatorTransport(t) for t in p.transports or []
                    if t in KNOWN_TRANSPORTS] or None,
    ) for p in passkeys]


def creation_options(rp: RelyingParty, challenge: bytes, *, user_handle: bytes, name: str,
                     display_name: str, exclude: list[Passkey]) -> dict[str, Any]:
    """Level 2 §5.4: resident key preferred, user verification as configured (preferred by
    default), no attestation, the user's existing credentials excluded (§5.4.3)."""
    options = generate_registration_options(
        rp_id=rp.rp_id, rp_name=rp.name, user_id=user_handle, user_name=name,
        user_display_name=display_name, challenge=challenge, timeout=rp.challenge_ttl * 1000,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement(rp.user_verification)),
        exclude_credentials=_descriptors(exclude),
    )
    return json.loads(options_to_json(options))  # type: ignore[no-any-return]


def request_options(rp: RelyingParty, challenge: bytes, *,
                    allow: list[Passkey]) -> dict[str, Any]:
    """Level 2 §5.5; an empty `allowCredentials` lets the browser offer discoverable ones."""
    options = generate_authentication_options(
        rp_id=rp.rp_id, challenge=challenge, timeout=rp.challenge_ttl * 1000,
        allow_credentials=_descriptors(allow),
        user_verification=UserVerificationRequirement(rp.user_verification),
    )
    return json.loads(options_to_json(options))  # type: ignore[no-any-return]


def verify_creation(rp: RelyingParty, credential: dict[str, Any],
                    challenge: bytes) -> Registered:
    """Level 2 §7.1 steps 5-26 (py_webauthn), attestation `none`."""
    try:
        done = verify_registration_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp.rp_id,
            expected_origin=list(rp.origins),
            require_user_verification=rp.requires_user_verification,
        )
    except LIBRARY_ERRORS as exc:
        raise CeremonyFailed(f"registration refused: {exc}") from None
    transports = credential.get("response", {}).get("transports") or []
    if not isinstance(transports, list):
        transports = []
    return Registered(
        credential_id=done.credential_id, public_key=done.credential_public_key,
        sign_count=done.sign_count, aaguid=str(done.aaguid),
        device_type=done.credential_device_type.value, backed_up=done.credential_backed_up,
        transports=[t for t in transports if isinstance(t, str) and t in KNOWN_TRANSPORTS][:8],
    )


def verify_assertion(rp: RelyingParty, credential: AuthenticationCredential, challenge: bytes,
                     passkey: Passkey, *, require_user_verification: bool) -> Asserted:
    """Level 2 §7.2 steps 7-20 (py_webauthn). Step 21, the sign count, is the caller's: the
    library is given 0 so that it never decides it, and the repository checks it atomically."""
    try:
        done = verify_authentication_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp.rp_id,
            expected_origin=list(rp.origins), credential_public_key=passkey.public_key,
            credential_current_sign_count=0,
            require_user_verification=require_user_verification,
        )
    except LIBRARY_ERRORS as exc:
        raise CeremonyFailed(f"assertion refused: {exc}") from None
    return Asserted(credential_id=done.credential_id, sign_count=done.new_sign_count,
                    device_type=done.credential_device_type.value,
                    backed_up=done.credential_backed_up, user_verified=done.user_verified)
