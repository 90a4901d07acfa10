"""E-mail addresses: one canonical form, applied at write and at lookup alike."""

from __future__ import annotations

import re
import unicodedata

MAX_EMAIL_LENGTH = 254
_LOCAL = re.compile(r"^[^\s@\x00-\x1f\x7f]{1,64}$")
_DOMAIN = re.compile(
    r"^(?=.{1,253}$)([^\W_]([\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63}$", re.UNICODE
)


class InvalidEmail(ValueError):
    """Not an e-mail address we accept."""


def canonical_email(value: str) -> str:
    """NFKC, surrounding blanks removed, lower-cased; idempotent. Raises InvalidEmail.

    Lower-casing the local part too is what users expect of a login name (Keycloak and Auth0 do
    the same), and it makes `Alice@x` and `alice@x` one account rather than two.
    """
    if not isinstance(value, str):
        raise InvalidEmail("an e-mail address is text")
    email = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).strip().lower())
    if len(email) > MAX_EMAIL_LENGTH or email.count("@") != 1:
        raise InvalidEmail("not an e-mail address")
    local, domain = email.split("@")
    if not _LOCAL.match(local) or not _DOMAIN.match(domain):
        raise InvalidEmail("not an e-mail address")
    return email


def try_canonical_email(value: str) -> str | None:
    """The canonical form, or None for anything that cannot be an address (used at login)."""
    try:
        return canonical_email(value)
    except InvalidEmail:
        return None
