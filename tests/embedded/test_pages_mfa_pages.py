"""The hosted pages on the embedded profile (tests/web/test_mfa_pages.py)."""
# ruff: noqa: F401, F403
from tests.web.conftest import session_clock
from tests.web.test_mfa_pages import *
