"""E-mail addresses: one canonical form, applied at write and at lookup alike.

Only a plain `local@domain` is an address here: a dot-atom local part (RFC 5322 §3.4.1, with
RFC 6532's UTF-8) and a domain name that IDNA 2008 accepts. Quoted local parts
(`"ceo"@example.com`), comments (`ceo(hr)@example.com`), display names (`CEO <ceo@...>`) and
address literals are refused: a mail server would deliver each to the plain `ceo@example.com`,
so they would be look-alike accounts whose mail reaches someone else. Parsing is done by
email-validator (maintained, used by pydantic's `EmailStr`), without DNS look-ups; what is
stored is the parsed address itself, lower-cased.
"""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email

from authsvc.errors import AuthError

MAX_EMAIL_LENGTH = 254


class InvalidEmail(ValueError):
    """Not an e-mail address we accept."""


class EmailRefused(AuthError):
    status = 422
    code = "invalid_email"
    description = ("That is not a valid e-mail address: use a plain name@domain address, "
                   "without quotes, comments or a display name.")


def canonical_email(value: str) -> str:
    """NFKC, surrounding blanks removed, parsed, lower-cased; idempotent. Raises InvalidEmail.

    Lower-casing the local part too is what users expect of a login name (Keycloak and Auth0 do
    the same), and it makes `Alice@x` and `alice@x` one account rather than two.
    """
    if not isinstance(value, str):
        raise InvalidEmail("an e-mail address is text")
    text = unicodedata.normalize("NFKC", value).strip()
    if not text or len(text) > MAX_EMAIL_LENGTH or text.count("@") != 1:
        raise InvalidEmail("not an e-mail address")
    try:
        parsed = validate_email(
            text, check_deliverability=False, allow_smtputf8=True, allow_quoted_local=False,
            allow_display_name=False, allow_domain_literal=False, allow_empty_local=False,
        )
    except EmailNotValidError:
        raise InvalidEmail("not an e-mail address") from None
    email = unicodedata.normalize("NFKC", parsed.normalized.lower())
    if len(email) > MAX_EMAIL_LENGTH:
        raise InvalidEmail("not an e-mail address")
    return email


def require_email(value: str) -> str:
    """The canonical form, or 422 `invalid_email` (registration, forgot password, admin)."""
    try:
        return canonical_email(value)
    except InvalidEmail:
        raise EmailRefused() from None


def try_canonical_email(value: str) -> str | None:
    """The canonical form, or None for anything that cannot be an address (used at login)."""
    try:
        return canonical_email(value)
    except InvalidEmail:
        return None
