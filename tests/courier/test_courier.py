"""The courier against a real SMTP server on loopback (aiosmtpd), plain and with TLS."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from authsvc.config import Settings, load_settings
from authsvc.courier import (
    HeaderInjection,
    LogSender,
    MessageFactory,
    SmtpSender,
    make_sender,
)
from authsvc.courier.sender import BANNER
from tests.smtp_server import SmtpSink, self_signed_certificate, server_tls_context

TO = "alice@example.com"
CODE = "493817"


def settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "env": "testing",
        "smtp_from": "authsvc <no-reply@auth.example>",
        "public_url": "https://auth.example",
        "smtp_timeout": 5.0,
    }
    return load_settings(**(base | overrides))


class CountingSender:
    """The real SMTP sender, counting the tries."""

    def __init__(self, inner: SmtpSender) -> None:
        self.inner = inner
        self.tries = 0

    async def send(self, message: EmailMessage) -> None:
        self.tries += 1
        await self.inner.send(message)


class Counter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


# ------------------------------------------------------------------------------ messages


async def test_code_mail_arrives_with_text_and_html_parts(smtp_sink: SmtpSink, outbox) -> None:
    conf = settings(**smtp_sink.settings())
    message = MessageFactory(conf).mfa_code_message(TO, CODE, ttl_seconds=600)
    sent = Counter()
    courier = outbox(SmtpSender(conf), retries=0, on_sent=sent)

    await courier.send(message)  # sealed into the outbox, opened again by the worker
    assert await courier.drain(timeout=5)

    received = await smtp_sink.wait_for_message(TO)
    assert received["From"] == "authsvc <no-reply@auth.example>"
    assert received["Subject"] == "Your authsvc sign-in code"
    assert received.get_content_type() == "multipart/alternative"
    text, html = parts(received)
    assert CODE in text and "10 minutes" in text
    assert f"<strong>{CODE}</strong>" in html and "10 minutes" in html
    assert smtp_sink.envelopes == [("no-reply@auth.example", [TO])]
    assert sent.count == 1


async def test_reset_mail_links_to_the_configured_base_url() -> None:
    factory = MessageFactory(settings(), product="Acme ID")
    link = factory.link("/reset", token="a b&c=d")
    message = factory.reset_message(TO, link, CODE, ttl_seconds=1800)

    assert link == "https://auth.example/reset?token=a+b%26c%3Dd"
    assert message["Subject"] == "Reset your Acme ID password"
    text, html = parts(message)
    assert link in text and CODE in text and "30 minutes" in text
    assert f'href="{link}"' in html


@pytest.mark.parametrize(
    "link",
    ["https://evil.example/reset?token=x", "https://auth.example.evil.example/reset", "/reset"],
)
def test_links_from_elsewhere_are_refused(link: str) -> None:
    factory = MessageFactory(settings())
    with pytest.raises(ValueError):
        factory.reset_message(TO, link, CODE, 600)


@pytest.mark.parametrize("path", ["//evil.example/x", "https://evil.example", "reset", "/a?b=c"])
def test_link_takes_only_a_path_on_this_service(path: str) -> None:
    with pytest.raises(ValueError):
        MessageFactory(settings()).link(path)


@pytest.mark.parametrize(
    "to",
    [
        "alice@example.com\r\nBcc: mallory@evil.example",
        "alice@example.com\nBcc: mallory@evil.example",
        "alice@example.com\r",
        "alice@example.com\x00",
        "alice@example.com, mallory@evil.example",
        "Alice <alice@example.com>",
        "",
    ],
)
def test_recipient_with_line_breaks_or_extra_addresses_is_refused(to: str) -> None:
    factory = MessageFactory(settings())
    with pytest.raises(HeaderInjection):
        factory.mfa_code_message(to, CODE, 600)
    with pytest.raises(HeaderInjection):
        factory.password_changed_message(to)


def test_product_name_with_a_line_break_is_refused() -> None:
    with pytest.raises(HeaderInjection):
        MessageFactory(settings(), product="Acme\r\nBcc: mallory@evil.example")


def test_html_part_escapes_every_value() -> None:
    factory = MessageFactory(settings(), product="A&B <Corp>")
    link = factory.link("/verify", token="t", next="/x")
    message = factory.verify_message(TO, link, "<i>1</i>", ttl_seconds=86_400)

    text, html = parts(message)
    assert "<i>" not in html and "&lt;i&gt;1&lt;/i&gt;" in html
    assert "<Corp>" not in html and "A&amp;B &lt;Corp&gt;" in html
    assert "token=t&amp;next=%2Fx" in html
    assert "24 hours" in text and "1440" not in text  # human durations (issue 14)


def test_password_changed_mail_points_at_the_forgot_page() -> None:
    message = MessageFactory(settings()).password_changed_message(TO)
    text, _ = parts(message)
    assert "https://auth.example/forgot" in text


# ------------------------------------------------------------------------------ delivery
# Retries, backoff, failures and shutdown of the outbox worker: tests/courier/test_outbox.py.


# ------------------------------------------------------------------------------ log sender


async def test_without_smtp_host_mail_goes_to_the_log_with_a_banner(
    caplog: pytest.LogCaptureFixture,
) -> None:
    conf = settings(smtp_user="mailer", smtp_password="smtp-password-never-logged")
    sender = make_sender(conf)
    assert isinstance(sender, LogSender)

    with caplog.at_level(logging.WARNING, logger="authsvc.mail"):
        await sender.send(MessageFactory(conf).mfa_code_message(TO, CODE, 600))

    record = caplog.records[-1]
    assert record.name == "authsvc.mail" and record.levelno == logging.WARNING
    logged = record.getMessage()
    assert BANNER in logged
    assert "DEVELOPMENT MAIL (no SMTP host configured) — not sent" in logged
    assert TO in logged and "Your authsvc sign-in code" in logged and CODE in logged
    assert "smtp-password-never-logged" not in caplog.text


async def test_log_sender_in_production_withholds_the_body(
    caplog: pytest.LogCaptureFixture,
) -> None:
    conf = settings(
        env="production",
        jwt_secret="j" * 40,
        encryption_key="e" * 40,
        database_url="postgresql+asyncpg://db.invalid/authsvc",
        redis_url="redis://redis.invalid",
        mail_transport="log",  # production refuses to start without a transport otherwise
    )
    with caplog.at_level(logging.WARNING, logger="authsvc.mail"):
        await make_sender(conf).send(MessageFactory(conf).mfa_code_message(TO, CODE, 600))
    assert BANNER in caplog.text and CODE not in caplog.text


# ------------------------------------------------------------------------------ TLS


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path)


@pytest.fixture
def starttls_sink(certificate: tuple[Path, Path]) -> Iterator[SmtpSink]:
    sink = SmtpSink(tls_context=server_tls_context(*certificate), require_starttls=True)
    sink.start()
    yield sink
    sink.stop()


def tls_settings(sink: SmtpSink, mode: str, **overrides: Any) -> Settings:
    return settings(smtp_host=sink.host, smtp_port=sink.port, smtp_tls=mode, **overrides)


async def test_starttls_with_an_unknown_certificate_fails_without_retry(
    starttls_sink: SmtpSink, outbox,
) -> None:
    sender = CountingSender(SmtpSender(tls_settings(starttls_sink, "starttls")))
    failed = Counter()
    courier = outbox(sender, retries=3, backoff=0.01, on_failure=failed)

    await courier.send(MessageFactory(settings()).mfa_code_message(TO, CODE, 600))
    async with asyncio.timeout(10):
        while failed.count == 0:
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)  # a retry (there must be none) would come after 10 ms

    assert (sender.tries, failed.count) == (1, 1)
    assert starttls_sink.messages == []


async def test_starttls_verifies_against_the_configured_ca_file(
    starttls_sink: SmtpSink, certificate: tuple[Path, Path]
) -> None:
    conf = tls_settings(starttls_sink, "starttls", smtp_ca_file=certificate[0])
    await SmtpSender(conf).send(MessageFactory(conf).mfa_code_message(TO, CODE, 600))
    received = await starttls_sink.wait_for_message(TO)
    assert CODE in parts(received)[0]


async def test_starttls_is_required_not_opportunistic(smtp_sink: SmtpSink) -> None:
    conf = tls_settings(smtp_sink, "starttls")  # this server offers no STARTTLS
    with pytest.raises(aiosmtplib.SMTPException):
        await SmtpSender(conf).send(MessageFactory(conf).mfa_code_message(TO, CODE, 600))
    assert smtp_sink.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
async def test_implicit_tls_logs_in_with_the_configured_credentials(
    certificate: tuple[Path, Path],
) -> None:
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        assert isinstance(data, LoginPassword)
        logins.append((data.login, data.password))
        return AuthResult(success=data.password == b"s3cret-smtp")

    # aiosmtpd only counts STARTTLS as TLS for AUTH; this connection is TLS from the first byte.
    sink = SmtpSink(
        ssl_context=server_tls_context(*certificate),
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=False,
    )
    sink.start()
    try:
        conf = tls_settings(
            sink,
            "tls",
            smtp_ca_file=certificate[0],
            smtp_user="mailer",
            smtp_password="s3cret-smtp",
        )
        await SmtpSender(conf).send(MessageFactory(conf).password_changed_message(TO))
        await sink.wait_for_message(TO)
    finally:
        sink.stop()
    assert logins == [(b"mailer", b"s3cret-smtp")]


@pytest.mark.parametrize(("seconds", "said"), [
    (30, "1 minute"), (600, "10 minutes"), (1800, "30 minutes"), (3600, "1 hour"),
    (5400, "1 hour 30 minutes"), (86_400, "24 hours"), (172_800, "48 hours"),
])
def test_lifetimes_are_said_as_people_say_them(seconds: int, said: str) -> None:
    factory = MessageFactory(settings())
    text, _ = parts(factory.reset_message(TO, factory.link("/reset", token="t"), CODE, seconds))
    assert f"expire in {said}." in text


def test_the_reset_mail_sends_people_to_the_link_not_to_a_code_the_page_never_asks() -> None:
    factory = MessageFactory(settings())
    text, _ = parts(factory.reset_message(TO, factory.link("/reset", token="t"), CODE, 1800))
    assert "Open https://auth.example/reset?token=t to choose a new password." in text
    assert "enter the code" not in text
