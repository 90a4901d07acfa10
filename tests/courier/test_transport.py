"""The mail transport at start: production refuses to run without one, unless the operator
says `AUTHSVC_MAIL_TRANSPORT=log`, which is then announced loudly; development logs mail."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from authsvc.config import ConfigError, load_settings
from authsvc.courier import LogSender, SmtpSender, make_sender
from authsvc.courier.sender import LOG_TRANSPORT_WARNING
from authsvc.main import create_app
from tests import infra
from tests.processes import cli, environment

SECRET = "a-production-secret-of-more-than-32-bytes-000"
PRODUCTION: dict[str, Any] = {
    "env": "production",
    "database_url": "postgresql+asyncpg://u@db/authsvc",
    "redis_url": "redis://cache:6379/0",
    "jwt_secret": SECRET,
    "encryption_key": SECRET,
}


def test_production_without_an_smtp_host_is_refused_and_names_the_settings() -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(**PRODUCTION)
    assert "AUTHSVC_SMTP_HOST" in str(refused.value)
    assert "AUTHSVC_MAIL_TRANSPORT=log" in str(refused.value)


def test_production_with_an_smtp_host_sends_over_smtp() -> None:
    settings = load_settings(**PRODUCTION, smtp_host="mail.internal")
    assert isinstance(make_sender(settings), SmtpSender)


def test_production_with_the_log_transport_said_explicitly_starts_and_logs() -> None:
    settings = load_settings(**PRODUCTION, mail_transport="log")
    sender = make_sender(settings)
    assert isinstance(sender, LogSender) and sender.show_body is False


def test_log_transport_wins_over_a_configured_host() -> None:
    settings = load_settings(**PRODUCTION, smtp_host="mail.internal", mail_transport="log")
    assert isinstance(make_sender(settings), LogSender)


@pytest.mark.parametrize("env", ["development", "testing", "production"])
def test_the_smtp_transport_without_a_host_is_refused_everywhere(env: str) -> None:
    with pytest.raises(ConfigError, match="AUTHSVC_SMTP_HOST"):
        load_settings(**{**PRODUCTION, "env": env}, mail_transport="smtp")


def test_development_logs_mail_by_default() -> None:
    settings = load_settings(env="development")
    sender = make_sender(settings)
    assert isinstance(sender, LogSender) and sender.show_body is True


async def test_serve_in_production_without_a_transport_exits_with_the_reason(
    database_url: str, redis_url: str
) -> None:
    env = environment(database_url, redis_url, AUTHSVC_ENV="production",
                      AUTHSVC_JWT_SECRET=SECRET, AUTHSVC_ENCRYPTION_KEY=SECRET + "-key")
    refused = await asyncio.to_thread(cli, env, "serve", "--port", "1")
    assert refused.returncode == 2
    assert "AUTHSVC_SMTP_HOST must be set in production" in refused.stderr
    assert "Traceback" not in refused.stderr


async def test_the_log_transport_in_production_is_announced_at_start(
    make_settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(make_settings(env="production", mail_transport="log", jwt_secret=SECRET,
                                   encryption_key=SECRET + "-key"))
    with caplog.at_level(logging.ERROR, logger="authsvc"):
        async with infra.running(app):
            pass
    announced = [r for r in caplog.records if r.getMessage() == LOG_TRANSPORT_WARNING]
    assert len(announced) == 1 and announced[0].levelno == logging.ERROR
    assert "NOT sent" in LOG_TRANSPORT_WARNING
