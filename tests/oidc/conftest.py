"""Fixtures of the OpenID Connect tests (the page tests' session clock)."""

from tests.web.conftest import session_clock

__all__ = ["session_clock"]
