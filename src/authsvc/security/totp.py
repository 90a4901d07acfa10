"""TOTP (RFC 6238) as authenticator apps expect it: HMAC-SHA-1, 6 digits, 30-second steps.

Replay: RFC 6238 §5.2 says a code is accepted at most once. `match_step` only says *which* time
step a code belongs to; the caller must record that step per user atomically (in Redis) and
refuse a step already used. This module keeps no state.
"""

from __future__ import annotations

import hmac
import io

import pyotp
import segno

__all__ = [
    "DIGITS",
    "PERIOD",
    "current_step",
    "match_step",
    "new_secret",
    "provisioning_uri",
    "qr_png",
    "qr_svg",
]

DIGITS = 6
PERIOD = 30
_ASCII_DIGITS = frozenset("0123456789")


def new_secret() -> str:
    """A random 160-bit shared secret (RFC 4226 §4 recommends 160), base32 without padding."""
    return pyotp.random_base32(32)  # drawn from secrets.SystemRandom


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The `otpauth://totp/...` URI (Key Uri Format) carrying the secret, account and issuer."""
    return _totp(secret).provisioning_uri(name=account, issuer_name=issuer)


def current_step(at: float) -> int:
    """The RFC 6238 time-step counter T = floor(unix_time / 30)."""
    return int(at // PERIOD)


def match_step(secret: str, code: str, *, at: float, window: int) -> int | None:
    """The time step within `current_step(at) ± window` whose code is `code`, else None.

    `code` must be exactly six ASCII digits (no spaces, no other scripts' digits). The caller
    enforces "each step at most once per user" with the returned step (see the module docstring).
    """
    if window < 0:
        raise ValueError("window must be >= 0")
    if not isinstance(code, str) or len(code) != DIGITS or not set(code) <= _ASCII_DIGITS:
        return None
    totp = _totp(secret)
    now = current_step(at)
    # Nearest steps first, so a (one in a million) double match picks the most plausible step.
    steps = sorted(range(now - window, now + window + 1), key=lambda s: (abs(s - now), s))
    found: int | None = None
    # Every candidate is computed and compared in constant time: no early exit to time.
    for step in steps:
        if step >= 0 and hmac.compare_digest(totp.generate_otp(step), code) and found is None:
            found = step
    return found


def qr_svg(uri: str) -> str:
    """An SVG QR code for `uri`, without XML declaration: embeddable in HTML or a JSON field."""
    out = io.BytesIO()
    _qr(uri).save(out, kind="svg", xmldecl=False, svgns=True, nl=False, scale=4, border=4)
    return out.getvalue().decode("utf-8")


def qr_png(uri: str) -> bytes:
    """A PNG QR code for `uri`, 8 pixels a module with the standard 4-module quiet zone."""
    out = io.BytesIO()
    _qr(uri).save(out, kind="png", scale=8, border=4)
    return out.getvalue()


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD)


def _qr(uri: str) -> segno.QRCode:
    return segno.make_qr(uri, error="m")
