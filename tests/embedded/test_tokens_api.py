"""Registration, the password grant, refresh, introspection and revocation on the embedded
profile (tests/identity, tests/tokens)."""
# ruff: noqa: F401, F403
from tests.identity.test_accounts import *
from tests.tokens.test_grants import *
from tests.tokens.test_introspection import *
