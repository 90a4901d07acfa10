"""The existing tests of every atomic Redis rule, run unchanged against the cluster app.

Imported test functions are collected here, so they resolve `app`, `state`, `api`, `world` and
`make_settings` from this package's conftest: the same assertions, on a Redis Cluster.
"""

from __future__ import annotations

import pytest

from tests.mfa.test_email_codes import (  # noqa: F401
    test_a_code_is_void_after_the_attempt_cap,
    test_a_resend_replaces_the_old_code,
)

# MFA: TOTP step compare-and-set (replay, also after a flush), one-shot mfa_token, e-mail codes.
from tests.mfa.test_mfa_login import (  # noqa: F401
    test_a_used_code_is_refused_even_after_redis_lost_its_keys,
    test_one_mfa_token_completes_one_login,
    test_two_concurrent_submissions_of_one_code_succeed_once,
    test_wrong_codes_count_toward_the_username_lockout,
)

# Lockout: one Lua script per failure/attempt; the 50-parallel-guesses bound; stuffing (MULTI).
from tests.protection.test_lockout import (  # noqa: F401
    test_cooldown_grows_after_each_failure,
    test_fifty_parallel_guesses_verify_at_most_five_passwords,
    test_five_failures_lock_the_username_even_for_the_right_password,
    test_success_resets_the_count,
    test_suspicious_patterns_raise_security_events,
    test_unlock_from_the_cli_clears_the_lock,
)

# Rate limits: the sliding-window script, per address and per client.
from tests.protection.test_rate_limits import (  # noqa: F401
    test_introspection_is_limited_per_client_not_per_address,
    test_token_endpoint_is_limited_per_address,
)

# Refresh rotation, reuse revoking the family, concurrent rotation.
from tests.tokens.test_grants import (  # noqa: F401
    test_refresh_rotates_and_spends_the_old_token,
    test_reused_refresh_token_revokes_the_whole_family,
)

# Revocation list (keys across slots read in one ClusterPipeline round trip), FLUSH + reload.
from tests.tokens.test_introspection import (  # noqa: F401
    test_active_access_token_is_described,
    test_disabled_user_tokens_are_inactive_at_once,
    test_revocation_survives_redis_flushall,
    test_revoked_access_token_is_inactive,
    test_revoking_a_refresh_token_revokes_its_family,
)
from tests.tokens.test_rotation_races import (  # noqa: F401
    test_concurrent_refreshes_of_one_token_succeed_at_most_once,
)

pytestmark = pytest.mark.slow
