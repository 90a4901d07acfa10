"""What a client may be registered with: checked once, for the admin API and the CLI alike.

Redirect URIs are compared exactly at /authorize (RFC 9700 §4.1.3), so they are checked here:
absolute, no fragment (RFC 6749 §3.1.2), no userinfo, `https`, or `http` only on a loopback
host (RFC 8252 §7.3), or a private-use scheme of a native app, which has a dot (RFC 8252 §7.1).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from authsvc.clients.models import CONFIDENTIAL, PUBLIC
from authsvc.errors import AuthError

AUTHORIZATION_CODE = "authorization_code"
MFA_GRANT = "urn:authsvc:params:oauth:grant-type:mfa"
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials", "password", MFA_GRANT)
# A client without redirect URIs is a service client, with the grants clients always had.
SERVICE_GRANTS = ("password", "refresh_token", "client_credentials", MFA_GRANT)
ID_TOKEN_ALGS = ("RS256", "ES256")
LOOPBACK = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})
REFUSED_SCHEMES = frozenset({"javascript", "data", "file", "vbscript", "blob", "about"})
MAX_URIS = 20


class InvalidClientMetadata(AuthError):
    status = 422
    code = "invalid_client_metadata"  # RFC 7591 §3.2.2
    description = "The client's settings are invalid."


@dataclass(frozen=True)
class ClientSpec:
    name: str
    type: str = CONFIDENTIAL
    redirect_uris: tuple[str, ...] = ()
    post_logout_redirect_uris: tuple[str, ...] = ()
    grant_types: tuple[str, ...] | None = None  # None: from the type and the redirect URIs
    scopes: tuple[str, ...] | None = None  # None: AUTHSVC_DEFAULT_SCOPES
    first_party: bool = False
    id_token_alg: str = "RS256"  # noqa: S105 - an algorithm name
    extra: dict[str, object] = field(default_factory=dict)

    def checked(self, known_scopes: Sequence[str], default_scopes: Sequence[str]) -> ClientSpec:
        """This spec with its defaults filled in, or InvalidClientMetadata naming the field."""
        name = self.name.strip()
        if not name or len(name) > 200:
            raise InvalidClientMetadata("A client needs a name of 1 to 200 characters.")
        if self.type not in (CONFIDENTIAL, PUBLIC):
            raise InvalidClientMetadata("type is 'confidential' or 'public'.")
        redirects = _uris(self.redirect_uris, "redirect_uris")
        logouts = _uris(self.post_logout_redirect_uris, "post_logout_redirect_uris")
        grants = self.grant_types
        if grants is None:
            grants = default_grants(self.type, bool(redirects))
        grants = tuple(dict.fromkeys(grants))
        unknown = [g for g in grants if g not in GRANT_TYPES]
        if unknown:
            raise InvalidClientMetadata(f"Unknown grant type: {unknown[0]}.")
        if self.type == PUBLIC and "client_credentials" in grants:
            raise InvalidClientMetadata("A public client cannot use client_credentials.")
        if AUTHORIZATION_CODE in grants and not redirects:
            raise InvalidClientMetadata("authorization_code needs at least one redirect URI.")
        scopes = tuple(dict.fromkeys(self.scopes if self.scopes is not None else default_scopes))
        outside = [s for s in scopes if s not in known_scopes]
        if outside:
            raise InvalidClientMetadata(f"Unknown scope: {outside[0]} (see AUTHSVC_SCOPES).")
        if self.id_token_alg not in ID_TOKEN_ALGS:
            raise InvalidClientMetadata("id_token_alg is RS256 or ES256.")
        return replace(self, name=name, redirect_uris=redirects, post_logout_redirect_uris=logouts,
                       grant_types=grants, scopes=scopes)


def default_grants(client_type: str, has_redirects: bool) -> tuple[str, ...]:
    if not has_redirects:
        return SERVICE_GRANTS if client_type == CONFIDENTIAL else ("password", "refresh_token",
                                                                    MFA_GRANT)
    if client_type == CONFIDENTIAL:
        return (AUTHORIZATION_CODE, "refresh_token", "client_credentials")
    return (AUTHORIZATION_CODE, "refresh_token")


def _uris(values: Iterable[str], what: str) -> tuple[str, ...]:
    uris = tuple(dict.fromkeys(values))
    if len(uris) > MAX_URIS:
        raise InvalidClientMetadata(f"At most {MAX_URIS} {what}.")
    for uri in uris:
        if not valid_redirect_uri(uri):
            raise InvalidClientMetadata(
                f"{what}: {uri[:200]!r} is not an absolute https URI (http only on localhost) "
                "without fragment or userinfo, nor a native app's private-use scheme.")
    return uris


def valid_redirect_uri(uri: str) -> bool:
    if not isinstance(uri, str) or not 0 < len(uri) <= 2000 or not uri.isascii():
        return False
    if any(ch.isspace() or ord(ch) < 0x21 or ch in "\\<>\"'" for ch in uri) or "#" in uri:
        return False
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    scheme = parts.scheme.lower()
    if not scheme or scheme in REFUSED_SCHEMES or "@" in parts.netloc:
        return False
    if scheme == "https":
        return bool(parts.hostname)
    if scheme == "http":
        return (parts.hostname or "") in LOOPBACK
    return "." in scheme and uri.startswith(scheme + ":")
