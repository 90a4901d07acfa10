"""Fixtures of the token tests (an admin to act as, from the admin tests)."""

from tests.admin.conftest import admin

__all__ = ["admin"]
