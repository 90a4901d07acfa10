"""The password policy: normalization, the rules, the blocklist and a strength score.

Two presets. `default` is the design's composition policy: at least `password_min_length`
characters (12 unless configured) with an upper-case letter, a lower-case letter, a digit and a
special character. `nist` follows NIST SP 800-63B rev. 4, section 3.1.1.2: no composition rules,
at least 15 characters (8 when the password is one factor of MFA), a maximum of no less than 64
characters, and every password checked against a blocklist. Both presets use the
blocklist and refuse a password containing the e-mail's local part.

Lengths count Unicode code points of the normalized password, as SP 800-63B asks.
"""

from __future__ import annotations

import gzip
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

Preset = Literal["default", "nist"]

NIST_MIN_LENGTH = 15
NIST_MIN_LENGTH_WITH_MFA = 8
NIST_MAX_LENGTH_FLOOR = 64
MIN_EMAIL_LOCAL_PART = 3


def normalize_password(password: str) -> str:
    """Return `password` in Unicode NFKC, the one form that is hashed and checked.

    SP 800-63B 3.1.1.2 asks for NFKC (or NFKD) before hashing so that the same password typed on
    different keyboards matches. Idempotent; never truncates or strips.
    """
    return unicodedata.normalize("NFKC", password)


@dataclass(frozen=True)
class Unmet:
    """One rule a password fails: a stable `code` for clients and a human `message`."""

    code: str
    message: str


@dataclass(frozen=True)
class PolicyRules:
    """The rules in force. `min_length_with_mfa` of None means MFA does not lower `min_length`."""

    min_length: int = 12
    require_upper: bool = True
    require_lower: bool = True
    require_digits: bool = True
    require_special: bool = True
    max_length: int = 1024
    preset: Preset = "default"
    min_length_with_mfa: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.min_length <= self.max_length:
            raise ValueError("password rules need 1 <= min_length <= max_length")
        if self.preset == "nist" and self.max_length < NIST_MAX_LENGTH_FLOOR:
            raise ValueError(f"the nist preset allows at least {NIST_MAX_LENGTH_FLOOR} characters")

    @classmethod
    def from_settings(cls, settings: Any) -> PolicyRules:
        """Build the rules from `authsvc.config.Settings` (`password_*` fields).

        Under `nist` the `password_require_*` settings are ignored (SP 800-63B forbids composition
        rules) and the configured lengths only ever make the policy stricter.
        """
        preset: Preset = settings.password_policy
        if preset == "nist":
            return cls(
                min_length=max(NIST_MIN_LENGTH, settings.password_min_length),
                require_upper=False,
                require_lower=False,
                require_digits=False,
                require_special=False,
                max_length=max(NIST_MAX_LENGTH_FLOOR, settings.password_max_length),
                preset="nist",
                min_length_with_mfa=NIST_MIN_LENGTH_WITH_MFA,
            )
        return cls(
            min_length=settings.password_min_length,
            require_upper=settings.password_require_upper,
            require_lower=settings.password_require_lower,
            require_digits=settings.password_require_digits,
            require_special=settings.password_require_special,
            max_length=settings.password_max_length,
        )

    def required_length(self, *, mfa_enabled: bool = False) -> int:
        if mfa_enabled and self.min_length_with_mfa is not None:
            return min(self.min_length, self.min_length_with_mfa)
        return self.min_length


def _blocklist_key(password: str) -> str:
    return normalize_password(password).lower()


class Blocklist:
    """Common and breached passwords; membership is case-insensitive on the normalized form."""

    def __init__(self, passwords: Iterable[str]) -> None:
        self._passwords = frozenset(_blocklist_key(p) for p in passwords)

    @classmethod
    def load(cls) -> Blocklist:
        """The list shipped in `authsvc/data/common-passwords.txt.gz`, read once per process."""
        return _shipped_blocklist()

    def __contains__(self, password: object) -> bool:
        return isinstance(password, str) and _blocklist_key(password) in self._passwords

    def __len__(self) -> int:
        return len(self._passwords)


@cache
def _shipped_blocklist() -> Blocklist:
    source = resources.files("authsvc") / "data" / "common-passwords.txt.gz"
    with source.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        return Blocklist(line.rstrip("\n") for line in lines if line.strip())


def _has_special(password: str) -> bool:
    return any(not (ch.isalpha() or ch.isdigit()) for ch in password)


_CLASSES = (
    ("upper", "require_upper", str.isupper, "an upper-case letter"),
    ("lower", "require_lower", str.islower, "a lower-case letter"),
    ("digits", "require_digits", str.isdigit, "a digit"),
)


class PasswordValidator:
    """Checks passwords against `PolicyRules` and a `Blocklist`."""

    def __init__(self, rules: PolicyRules, blocklist: Blocklist) -> None:
        self.rules = rules
        self.blocklist = blocklist

    def validate(
        self, password: str, *, email: str | None = None, mfa_enabled: bool = False
    ) -> list[Unmet]:
        """Return every rule `password` fails (empty when it is acceptable), in a fixed order."""
        rules = self.rules
        pw = normalize_password(password)
        unmet: list[Unmet] = []
        min_length = rules.required_length(mfa_enabled=mfa_enabled)
        if len(pw) < min_length:
            unmet.append(Unmet("min_length", f"Use at least {min_length} characters."))
        if len(pw) > rules.max_length:
            unmet.append(Unmet("max_length", f"Use at most {rules.max_length} characters."))
        for code, flag, test, text in _CLASSES:
            if getattr(rules, flag) and not any(test(ch) for ch in pw):
                unmet.append(Unmet(code, f"Include {text}."))
        if rules.require_special and not _has_special(pw):
            unmet.append(Unmet("special", "Include a character that is not a letter or digit."))
        if pw in self.blocklist:
            unmet.append(Unmet("blocklisted", "This password is too common; choose another."))
        local = _blocklist_key(email.rpartition("@")[0] or email) if email else ""
        if len(local) >= MIN_EMAIL_LOCAL_PART and local in pw.lower():
            unmet.append(Unmet("contains_email", "Do not include your e-mail address."))
        return unmet

    def get_requirements(self) -> list[str]:
        """The rules as sentences, for sign-up pages and the public policy endpoint."""
        rules = self.rules
        length = f"At least {rules.min_length} characters"
        if rules.required_length(mfa_enabled=True) < rules.min_length:
            length += f" ({rules.required_length(mfa_enabled=True)} with two-step verification)"
        requirements = [length, f"At most {rules.max_length} characters"]
        requirements += [
            f"Contains {text}" for _, flag, _, text in _CLASSES if getattr(rules, flag)
        ]
        if rules.require_special:
            requirements.append("Contains a character that is not a letter or digit")
        requirements.append("Not a commonly used or breached password")
        requirements.append("Does not contain the name part of your e-mail address")
        return requirements

    def get_strength(self, password: str) -> int:
        """A 0-4 score for a strength meter: length and variety count, a blocklisted password is 0.

        A rough heuristic, not an entropy estimate: repeated characters add no length.
        """
        pw = normalize_password(password)
        if pw in self.blocklist:
            return 0
        effective = min(len(pw), 2 * len(set(pw)))
        if effective < 8:
            return 0
        classes = sum(any(test(ch) for ch in pw) for _, _, test, _ in _CLASSES)
        classes += _has_special(pw)
        score = (effective >= 8) + (effective >= 12) + (effective >= 16)
        score += classes >= 3 or effective >= 24
        return min(4, score)

    def describe(self) -> dict[str, Any]:
        """The policy as JSON for `GET /password-policy`; it reveals nothing secret."""
        rules = self.rules
        return {
            "preset": rules.preset,
            "min_length": rules.min_length,
            "max_length": rules.max_length,
            "require_upper": rules.require_upper,
            "require_lower": rules.require_lower,
            "require_digits": rules.require_digits,
            "require_special": rules.require_special,
            "blocklist": True,
            "requirements": self.get_requirements(),
        }
