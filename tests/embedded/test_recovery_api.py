"""Reset and verification through the API on the embedded profile (tests/recovery)."""
# ruff: noqa: F401, F403
from tests.recovery.conftest import world
from tests.recovery.test_forgot import *
from tests.recovery.test_reset import *
from tests.recovery.test_verify import *
