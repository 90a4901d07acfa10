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


def test_development_generates_and_keeps_a_local_jwt_key(tmp_path: Path) -> None:
    first = load_settings(data_dir=tmp_path / "data").jwt_key
    second = load_settings(data_dir=tmp_path / "data").jwt_key
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
