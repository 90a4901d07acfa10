"""The token codec: the one module that knows python-jose (swap it here and nowhere else).

Algorithms are pinned and every claim we rely on required: python-jose accepts a token without
`exp` or `aud` unless told otherwise. Each token carries a `typ` so that an access token, a
refresh token and an MFA token can never stand in for each other.

Refresh and MFA tokens are HS256 under AUTHSVC_JWT_SECRET. Access tokens are HS256 too, or, with
AUTHSVC_ACCESS_TOKEN_ALG, RS256/ES256 under the published keys (a `KeySource`, with `kid` in the
header); both kinds verify whatever the setting, so tokens issued before a switch stay valid. An
asymmetric token verifies only under the key its `kid` names, with that key's own algorithm:
an HS256 token "signed" with a public key (RFC 8725 §2.1, algorithm confusion) never reaches it.
ID tokens (OpenID Connect Core 1.0 §2) are always asymmetric, with the client as audience.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from jose import jwt
from jose.exceptions import ExpiredSignatureError, JWTClaimsError, JWTError

ALGORITHM = "HS256"
ASYMMETRIC = ("RS256", "ES256")
REQUIRED_CLAIMS = ("exp", "iat", "nbf", "iss", "aud", "sub", "jti")

ACCESS = "access"
REFRESH = "refresh"
MFA = "mfa"


class TokenError(Exception):
    """The token is malformed, forged, of the wrong type or audience."""


class TokenExpiredError(TokenError):
    """The token was valid once and has expired."""


class SigningKey(Protocol):
    """The current key of one algorithm (read-only: keys.ring.LoadedKey is frozen)."""

    @property
    def kid(self) -> str: ...

    @property
    def alg(self) -> str: ...

    @property
    def signer(self) -> Any: ...


class KeySource(Protocol):
    """The published asymmetric keys (keys.ring.KeyRing)."""

    def current(self, alg: str) -> SigningKey: ...

    def verifier(self, kid: object, alg: object) -> Any: ...


class TokenCodec:
    """Signs and verifies JWTs for one issuer and audience; older HS256 keys still verify."""

    def __init__(
        self, key: bytes, *, issuer: str, audience: str, leeway: int = 30,
        previous_keys: tuple[bytes, ...] = (), access_alg: str = ALGORITHM,
        keys: KeySource | None = None,
    ) -> None:
        self._key = key
        self._keys = (key, *previous_keys)
        self.access_alg = access_alg
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self._options = {
            "verify_signature": True,
            "verify_aud": True,
            "verify_iat": True,
            "verify_exp": True,
            "verify_nbf": True,
            "verify_iss": True,
            "verify_sub": True,
            "verify_jti": True,
            "verify_at_hash": False,
            "leeway": leeway,
            **{f"require_{claim}": True for claim in REQUIRED_CLAIMS},
        }

    def encode(self, claims: dict[str, Any]) -> str:
        now = int(time.time())
        payload = {"iss": self.issuer, "aud": self.audience, "iat": now, "nbf": now, **claims}
        if claims.get("typ") == ACCESS and self.access_alg != ALGORITHM:
            return self.sign(payload, self.access_alg)
        return jwt.encode(payload, self._key, algorithm=ALGORITHM)

    def sign(self, payload: dict[str, Any], alg: str) -> str:
        """`payload` signed by the current `alg` key, its `kid` in the header."""
        if self.keys is None or alg not in ASYMMETRIC:
            raise TokenError(f"no {alg} signing key")
        key = self.keys.current(alg)
        return jwt.encode(payload, key.signer, algorithm=alg, headers={"kid": key.kid})

    def encode_id_token(self, claims: dict[str, Any], alg: str) -> str:
        now = int(time.time())
        return self.sign({"iss": self.issuer, "iat": now, **claims}, alg)

    def decode_id_token(self, token: str, *, audience: str | None = None) -> dict[str, Any]:
        """The claims of an ID token we issued (RP-initiated logout's `id_token_hint`: an
        expired one is accepted, OpenID Connect RP-Initiated Logout 1.0 §2)."""
        header = self._header(token)
        key = self._asymmetric_key(header)
        # python-jose turns every `require_x` into `verify_x`: both are set for each.
        options = {**self._options, "verify_exp": False, "require_exp": False,
                   "require_nbf": False, "require_jti": False, "verify_jti": False,
                   "verify_aud": audience is not None, "require_aud": audience is not None}
        try:
            claims = jwt.decode(token, key, algorithms=[header["alg"]], audience=audience,
                                issuer=self.issuer, options=options)
        except (JWTError, ValueError, TypeError, KeyError) as exc:
            raise TokenError("invalid ID token") from exc
        if "typ" in claims or not isinstance(claims.get("sub"), str):
            raise TokenError("not an ID token")
        return claims

    def _header(self, token: str) -> dict[str, Any]:
        if not token or len(token) > 8192 or token.count(".") != 2:
            raise TokenError("malformed token")
        try:
            return jwt.get_unverified_header(token)
        except JWTError as exc:
            raise TokenError("malformed token") from exc

    def _asymmetric_key(self, header: dict[str, Any]) -> Any:
        alg = header.get("alg")
        key = None
        if self.keys is not None and alg in ASYMMETRIC:
            key = self.keys.verifier(header.get("kid"), alg)
        if key is None:
            raise TokenError("unknown, retired or mismatched signing key")
        return key

    def decode(self, token: str, *, typ: str) -> dict[str, Any]:
        """Verified claims of a token of type `typ`, or TokenExpiredError / TokenError."""
        header = self._header(token)
        alg = header.get("alg")
        if alg == ALGORITHM:
            claims = self._decode_with_any_key(token)
        elif alg in ASYMMETRIC and typ == ACCESS:
            claims = self._decode_with(token, self._asymmetric_key(header), alg)
        else:
            raise TokenError("unexpected algorithm")
        if claims.get("typ") != typ:
            raise TokenError("wrong token type")
        if not isinstance(claims.get("sub"), str) or not isinstance(claims.get("jti"), str):
            raise TokenError("malformed claims")
        if not all(isinstance(claims.get(c), int) for c in ("exp", "iat", "nbf")):
            raise TokenError("malformed claims")
        return claims

    def _decode_with(self, token: str, key: Any, alg: str) -> dict[str, Any]:
        try:
            return jwt.decode(token, key, algorithms=[alg], audience=self.audience,
                              issuer=self.issuer, options=self._options)
        except ExpiredSignatureError as exc:
            raise TokenExpiredError("token expired") from exc
        except (JWTError, ValueError, TypeError, KeyError) as exc:
            raise TokenError("bad signature or malformed token") from exc

    def _decode_with_any_key(self, token: str) -> dict[str, Any]:
        last: Exception | None = None
        for key in self._keys:
            try:
                return jwt.decode(
                    token, key, algorithms=[ALGORITHM], audience=self.audience,
                    issuer=self.issuer, options=self._options,
                )
            except ExpiredSignatureError as exc:
                raise TokenExpiredError("token expired") from exc
            except JWTClaimsError as exc:
                raise TokenError("invalid claims") from exc
            except (JWTError, ValueError, TypeError, KeyError) as exc:
                last = exc
        raise TokenError("bad signature or malformed token") from last
