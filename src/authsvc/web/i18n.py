"""The pages' languages: gettext catalogs (`web/locale/<lang>/LC_MESSAGES/messages.po|mo`) picked
by the browser's `Accept-Language` (RFC 9110 §12.5.4). English is the source language.

The catalogs are made with Babel (`pybabel extract -F babel.cfg`, `pybabel update`,
`pybabel compile -d src/authsvc/web/locale`); the service reads the compiled `.mo` files with the
standard library's gettext.
"""

from __future__ import annotations

import gettext
from functools import lru_cache
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT = "en"
LANGUAGES = ("en", "de")


def negotiate(accept_language: str | None) -> str:
    """The best of LANGUAGES for an Accept-Language header (q-values honoured); default English."""
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, index, primary))
    return min(ranked)[2] if ranked else DEFAULT


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "translate later"
    """Marks a message of the Python code for the catalog; `render.page()` translates it."""
    return message


@lru_cache(maxsize=len(LANGUAGES))
def translations(lang: str) -> gettext.NullTranslations:
    if lang == DEFAULT:
        return gettext.NullTranslations()
    return gettext.translation("messages", localedir=LOCALE_DIR, languages=[lang])
