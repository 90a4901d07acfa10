"""Open-redirect protection for `?next=` (OWASP Unvalidated Redirects Cheat Sheet, CWE-601).

`safe_next` is an allow-list, not a deny-list: a value passes only as a same-origin path that
starts with exactly one `/`, or as an absolute URL on an allow-listed host. Everything else,
including anything it cannot parse with certainty, becomes the default.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from urllib.parse import SplitResult, unquote, urlsplit

__all__ = ["MAX_NEXT_LENGTH", "safe_next"]

MAX_NEXT_LENGTH = 2048
_MAX_DECODE_ROUNDS = 4
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1"})
# Slash and dot look-alikes that NFKC leaves alone but that users (and some parsers) read as
# separators; NFKC already catches U+FF0F, U+FF3C, U+FE68 and friends.
_LOOKALIKES = frozenset("\u2215\u2044\u29f8\u29f9\u2216\u2571\u2572\u27cb\u27cd\u3033\u3035")
# Categories a browser may strip or reinterpret inside a URL: controls, format characters
# (bidi overrides, zero-width), separators (every kind of space), surrogates, unassigned.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})


def safe_next(value: str | None, allowed_hosts: Iterable[str], default: str = "/account") -> str:
    """Return `value` if it is a safe redirect target, else `default`.

    Safe means either a relative path starting with a single `/` (never `//` or `/\\`), or an
    `https://` URL (`http://` only for `localhost` and `127.0.0.1`) without userinfo whose host,
    compared exactly, case-insensitively and IDNA-normalized, is in `allowed_hosts`. The value is
    percent-decoded repeatedly and every decoded form must pass too; a value over 2048 characters,
    with control characters, whitespace, backslashes, or characters that NFKC changes or that look
    like slashes is refused.
    """
    if not isinstance(value, str) or not value or len(value) > MAX_NEXT_LENGTH:
        return default
    forms = _decoded_forms(value)
    if forms is None or not all(_clean(form) for form in forms):
        return default
    if all(_is_local_path(form) for form in forms):
        return value
    allowed = {h for h in (_normalize_host(host) for host in allowed_hosts) if h}
    if _is_allowed_url(value, allowed):
        return value
    return default


def _decoded_forms(value: str) -> list[str] | None:
    """The value and each percent-decoding of it, or None when decoding does not settle."""
    forms = [value]
    for _ in range(_MAX_DECODE_ROUNDS):
        try:
            decoded = unquote(forms[-1], errors="strict")
        except UnicodeDecodeError:
            return None
        if decoded == forms[-1]:
            return forms
        forms.append(decoded)
    return None


def _clean(text: str) -> bool:
    if "\\" in text or unicodedata.normalize("NFKC", text) != text:
        return False
    return not any(
        ch in _LOOKALIKES or unicodedata.category(ch) in _REFUSED_CATEGORIES for ch in text
    )


def _is_local_path(text: str) -> bool:
    # `//host` and `/\host` are scheme-relative URLs to another origin in every browser.
    return text.startswith("/") and not text.startswith(("//", "/\\"))


def _is_allowed_url(value: str, allowed: set[str]) -> bool:
    # Percent-escapes are never legitimate in the authority; refusing them removes every
    # "decodes to a different host" trick. Userinfo (`allowed@evil`) is refused outright.
    scheme, sep, rest = value.partition("://")
    if not sep or scheme.lower() not in ("https", "http"):
        return False
    authority = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if not authority or any(ch in authority for ch in "@%\\"):
        return False
    try:
        parts: SplitResult = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    host = _normalize_host(parts.hostname or "")
    if not host or host not in allowed:
        return False
    return parts.scheme.lower() == "https" or host in _LOOPBACK_HOSTS


def _normalize_host(host: str) -> str:
    """Lower-case ASCII (IDNA/punycode) form of a host name, or "" when it is not one."""
    host = host.strip().lower()
    if not host:
        return ""
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return ""
    if not all(ch.isalnum() or ch in ".-" for ch in ascii_host) or not ascii_host.isascii():
        return ""
    return ascii_host
