"""Settings: YAML profiles, the environment and AUTHSVC_CONFIG_FILE over them, and production's
refusals, which name the setting and never echo a secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from authsvc.config import ConfigError, load_settings

GOOD = "a-production-secret-of-more-than-32-bytes-000"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("AUTHSVC_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no stray .env file


def test_development_is_the_default_profile() -> None:
    settings = load_settings()
    assert settings.env == "development"
    assert settings.bcrypt_rounds == 12
    assert settings.embedded_database and settings.embedded_redis
    assert settings.secure_cookies is False


def test_testing_profile_lowers_bcrypt_but_keeps_the_rules(monkeypatch) -> None:
    monkeypatch.setenv("AUTHSVC_ENV", "testing")
    settings = load_settings()
    assert settings.bcrypt_rounds == 4
    assert settings.lockout_max_attempts == 5
    assert settings.rate_limit_token == "30/60"
    assert settings.secure_cookies is False


def test_environment_overrides_the_profile(monkeypatch) -> None:
    monkeypatch.setenv("AUTHSVC_ENV", "testing")
    monkeypatch.setenv("AUTHSVC_BCRYPT_ROUNDS", "6")
    monkeypatch.setenv("AUTHSVC_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.1")
    settings = load_settings()
    assert settings.bcrypt_rounds == 6
    assert settings.trusted_proxies == ["10.0.0.0/8", "192.168.1.1"]


def test_config_file_sits_between_profile_and_environment(monkeypatch, tmp_path: Path) -> None:
    config = tmp_path / "authsvc.yaml"
    config.write_text("bcrypt_rounds: 8\nlockout_max_attempts: 3\n")
    monkeypatch.setenv("AUTHSVC_ENV", "testing")
    monkeypatch.setenv("AUTHSVC_CONFIG_FILE", str(config))
    monkeypatch.setenv("AUTHSVC_LOCKOUT_MAX_ATTEMPTS", "7")
    settings = load_settings()
    assert settings.bcrypt_rounds == 8  # file beats the profile's 4
    assert settings.lockout_max_attempts == 7  # environment beats the file


def test_dotenv_file_is_read(monkeypatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("AUTHSVC_ISSUER=https://id.example.com/\n")
    assert load_settings().issuer == "https://id.example.com"


def test_secret_from_a_file(monkeypatch, tmp_path: Path) -> None:
    secret = tmp_path / "jwt"
    secret.write_text(GOOD + "\n")
    monkeypatch.setenv("AUTHSVC_JWT_SECRET_FILE", str(secret))
    assert load_settings().jwt_secret.get_secret_value() == GOOD


def test_missing_config_file_is_named(monkeypatch) -> None:
    monkeypatch.setenv("AUTHSVC_CONFIG_FILE", "/nonexistent/authsvc.yaml")
    with pytest.raises(ConfigError, match="AUTHSVC_CONFIG_FILE"):
        load_settings()


PRODUCTION = {
    "env": "production",
    "database_url": "postgresql+asyncpg://u@db/authsvc",
    "redis_url": "redis://cache:6379/0",
    "jwt_secret": GOOD,
    "encryption_key": GOOD,
    "smtp_host": "mail.internal",  # production needs a mail transport (issue 14)
}


def test_production_starts_with_proper_settings() -> None:
    settings = load_settings(**PRODUCTION)
    assert settings.secure_cookies is True


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"jwt_secret": None}, "AUTHSVC_JWT_SECRET"),
        ({"jwt_secret": "short-secret"}, "AUTHSVC_JWT_SECRET"),
        ({"database_url": "sqlite+aiosqlite:///x.db"}, "AUTHSVC_DATABASE_URL"),
        ({"database_url": None}, "AUTHSVC_DATABASE_URL"),
        ({"redis_url": None}, "AUTHSVC_REDIS_URL"),
        ({"encryption_key": "short"}, "AUTHSVC_ENCRYPTION_KEY"),
        ({"smtp_host": None}, "AUTHSVC_SMTP_HOST"),
    ],
)
def test_production_refuses_weak_settings(override, named) -> None:
    values = {**PRODUCTION, **override}
    values = {k: v for k, v in values.items() if v is not None}
    with pytest.raises(ConfigError, match=named) as caught:
        load_settings(**values)
    assert "short-secret" not in str(caught.value)


def test_errors_never_echo_secret_values() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env="production", jwt_secret="tiny-but-secret", bcrypt_rounds="abc")
    assert "tiny-but-secret" not in str(caught.value)
    assert "AUTHSVC_BCRYPT_ROUNDS" in str(caught.value)


def test_unknown_profile_is_refused() -> None:
    with pytest.raises(ConfigError, match="AUTHSVC_ENV"):
        load_settings(env="staging")


def _prepared(**values: object) -> object:
    settings = load_settings(**values)
    settings.prepare_local_keys()
    return settings


def test_development_generates_and_keeps_a_local_jwt_key(tmp_path: Path) -> None:
    first = _prepared(data_dir=tmp_path / "data").jwt_key  # type: ignore[attr-defined]
    second = _prepared(data_dir=tmp_path / "data").jwt_key  # type: ignore[attr-defined]
    assert first == second and len(first) >= 32
    assert (tmp_path / "data" / "jwt_secret").stat().st_mode & 0o077 == 0


def test_the_data_directory_is_per_user_and_absolute(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("AUTHSVC_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert load_settings().data_dir == tmp_path / "xdg" / "authsvc"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")  # the spec: relative paths are invalid
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert load_settings().data_dir == tmp_path / "home" / ".local" / "share" / "authsvc"
    monkeypatch.chdir(tmp_path)
    assert load_settings(data_dir="mine").data_dir == tmp_path / "mine"  # the setting wins


# ----------------------------------------------- issue 12: previous JWT secrets in production
@pytest.mark.parametrize("old", [
    "short-old-secret",
    "test-jwt-secret-that-is-long-enough-0123456789",
    "change-me-change-me-change-me-change-me",
])
def test_production_holds_previous_jwt_secrets_to_the_current_rules(old: str) -> None:
    values = {**PRODUCTION, "jwt_previous_secrets": f"{GOOD}-older,{old}"}
    with pytest.raises(ConfigError, match="AUTHSVC_JWT_PREVIOUS_SECRETS: entry 2") as caught:
        load_settings(**values)
    assert old not in str(caught.value)


@pytest.mark.parametrize("field", ["jwt_secret", "encryption_key"])
def test_production_refuses_published_default_secrets(field: str) -> None:
    for value in ("test-encryption-key-long-enough-0123456789",
                  "please-change-this-secret-in-production"):
        with pytest.raises(ConfigError, match=f"AUTHSVC_{field.upper()}"):
            load_settings(**{**PRODUCTION, field: value})


def test_production_accepts_proper_previous_secrets() -> None:
    settings = load_settings(**{**PRODUCTION, "jwt_previous_secrets": f"{GOOD}-older"})
    assert len(settings.jwt_previous_secrets) == 1


def test_previous_jwt_secrets_are_redacted_from_logs() -> None:
    import io
    import logging

    from authsvc import logging_setup
    from authsvc.logging_setup import configure_logging

    old = "an-old-rotated-jwt-secret-of-40-bytes-xyz"
    settings = load_settings(env="testing", jwt_previous_secrets=old,
                             jwt_secret="test-jwt-secret-that-is-long-enough-0123456789")
    stream = io.StringIO()
    handler = configure_logging(settings, stream)
    try:
        logging.getLogger("authsvc.test").warning("leaked %s in a message", old)
        logging.getLogger("authsvc.test").error("oops", exc_info=ValueError(f"key={old}"))
    finally:
        logging.getLogger().removeHandler(handler)
    logging_setup.flush()  # the listener thread writes the queued records
    output = stream.getvalue()
    assert "leaked" in output and old not in output
def test_local_key_files_are_made_at_start_up_not_on_first_use(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    with pytest.raises(ConfigError, match="AUTHSVC_JWT_SECRET"):
        _ = settings.jwt_key  # reading a property never writes a file
    with pytest.raises(ConfigError, match="AUTHSVC_ENCRYPTION_KEY"):
        _ = settings.data_key
    assert not (tmp_path / "data").exists()
    settings.prepare_local_keys()
    assert (tmp_path / "data" / "jwt_secret").read_text().encode() == settings.jwt_key
    assert (tmp_path / "data" / "encryption_key").read_text().encode() == settings.data_key


def test_an_unknown_authsvc_variable_is_a_warning(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("AUTHSVC_LOCKOUT_MAX_ATTEMPT", "2")  # ...ATTEMPTS: a typo
    monkeypatch.setenv("AUTHSVC_PORT", "8080")  # read by `authsvc serve`, not a setting
    monkeypatch.setenv("AUTHSVC_JWT_SECRET_FILE", "/dev/null")  # a secret from a file
    with caplog.at_level("WARNING", logger="authsvc.config"):
        settings = load_settings()
    assert settings.lockout_max_attempts == 5
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "AUTHSVC_LOCKOUT_MAX_ATTEMPT " in warned
    assert "AUTHSVC_PORT" not in warned and "JWT_SECRET_FILE" not in warned


def test_an_unknown_variable_in_dotenv_is_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / ".env").write_text("AUTHSVC_SMTP_HOSTNAME=mail.example\n")
    with caplog.at_level("WARNING", logger="authsvc.config"):
        load_settings()
    assert "AUTHSVC_SMTP_HOSTNAME" in " ".join(r.getMessage() for r in caplog.records)


def test_an_unknown_variable_is_an_error_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHSVC_LOCKOUT_MAX_ATTEMPT", "2")
    with pytest.raises(ConfigError, match="AUTHSVC_LOCKOUT_MAX_ATTEMPT"):
        load_settings(env="production", jwt_secret=GOOD, encryption_key=GOOD,
                      database_url="postgresql+asyncpg://u@h/db", redis_url="redis://h",
                      smtp_host="mail.example.com")


def test_an_unknown_yaml_key_is_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = tmp_path / "authsvc.yaml"
    config.write_text("lockout_max_attempts: 3\nlockout_max_attempt: 2\n")
    with caplog.at_level("WARNING", logger="authsvc.config"):
        settings = load_settings(config_file=str(config))
    assert settings.lockout_max_attempts == 3
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "lockout_max_attempt (" in warned and "lockout_max_attempts" not in warned


def test_the_encryption_key_rotates_like_the_jwt_secret(tmp_path: Path) -> None:
    from authsvc.security.crypto import DecryptionError, Encryptor

    old = load_settings(env="testing", encryption_key=GOOD, data_dir=tmp_path)
    sealed = Encryptor.from_settings(old, "totp").encrypt(b"seed")
    new_key = "b-newer-production-secret-of-more-than-32-bytes"
    rotated = load_settings(env="testing", encryption_key=new_key,
                            encryption_previous_keys=GOOD, data_dir=tmp_path)
    box = Encryptor.from_settings(rotated, "totp")
    assert box.decrypt(sealed) == b"seed"  # a previous key still decrypts
    fresh = box.encrypt(b"seed")
    with pytest.raises(DecryptionError):  # the current key encrypts
        Encryptor.from_settings(old, "totp").decrypt(fresh)
    assert GOOD in rotated.secret_values()  # and the old key is scrubbed from logs
