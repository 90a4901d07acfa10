"""MFA enrolment, the MFA grant, step-up and recovery codes on the embedded profile (tests/mfa)."""
# ruff: noqa: F401, F403
from tests.mfa.conftest import world
from tests.mfa.test_email_codes import *
from tests.mfa.test_mfa_login import *
from tests.mfa.test_recovery_codes import *
from tests.mfa.test_step_up import *
from tests.mfa.test_totp_enrolment import *
