"""Keys that one Lua script or MULTI/EXEC touches map to one Cluster slot (no servers needed)."""

from __future__ import annotations

import pytest
from redis.crc import key_slot

from authsvc.kv import Keys


def slot(key: str) -> int:
    return key_slot(key.encode())


@pytest.mark.parametrize("jti", ["a", "0f6c2b7e-1d2c-4b1e-9a55-1b2c3d4e5f60", "x{y}z"])
def test_the_revocation_list_and_its_sentinel_share_a_slot(jti: str) -> None:
    home = slot(Keys.revocations_loaded)
    assert slot(Keys.revocations_loading) == home
    assert slot(Keys.revoked_jti(jti)) == home
    assert slot(Keys.revoked_family(jti)) == home


@pytest.mark.parametrize("user_id", ["1", "7c9e6679-7425-40de-944b-e07fc1f90ae7"])
def test_a_session_its_successor_and_the_user_index_share_a_slot(user_id: str) -> None:
    # rotate(): delete the old session, write the new one, update the index, in one MULTI.
    assert slot(Keys.session("a" * 64)) == slot(Keys.session("b" * 64)) == slot(
        Keys.user_sessions(user_id))


@pytest.mark.parametrize("name", ["alice@example.com", "{evil}@example.com", "}{"])
def test_a_subject_cannot_move_its_key_into_another_tag(name: str) -> None:
    # Scripts on these keys touch one key each, so correctness needs no tag; the tag only keeps a
    # subject's keys together. Ours is the first "{", whatever braces the subject brings.
    for key in (Keys.login_failures(name), Keys.failed_usernames(name), Keys.rate("token", name)):
        assert key.index("{") < key.index(name)


def test_one_users_mfa_keys_and_one_addresss_stuffing_keys_stay_together() -> None:
    user_id, ip = "7c9e6679-7425-40de-944b-e07fc1f90ae7", "2001:db8::1"
    assert slot(Keys.totp_step(user_id)) == slot(Keys.totp_pending(user_id)) == slot(
        Keys.email_code(user_id, "login"))
    assert slot(Keys.failed_usernames(ip)) == slot(Keys.stuffing_flag(ip))


def test_the_revocation_feeds_sequence_and_log_share_a_slot() -> None:
    # tokens/feed.py numbers an event and appends it to the log in one script.
    assert slot(Keys.revocation_seq) == slot(Keys.revocation_log)
