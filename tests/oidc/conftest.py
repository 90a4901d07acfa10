"""Fixtures of the OpenID Connect tests (the page tests' session clock, an admin)."""

from tests.admin.conftest import admin
from tests.web.conftest import session_clock

__all__ = ["admin", "session_clock"]
