"""How a built message leaves the process: over SMTP, or into the log when no host is set."""

from __future__ import annotations

import logging
import ssl
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib

from authsvc.config import Settings

__all__ = ["LogSender", "MailRejected", "MailSender", "SmtpSender", "make_sender"]

log = logging.getLogger("authsvc.mail")

BANNER = "DEVELOPMENT MAIL (no SMTP host configured) — not sent"
LOG_TRANSPORT_WARNING = (
    "AUTHSVC_MAIL_TRANSPORT=log: mails are NOT sent, only written to the log (bodies withheld "
    "in production) — password resets and e-mail verification cannot reach anyone"
)


class MailRejected(Exception):
    """The mail cannot be delivered as it is (a 5xx answer, a bad certificate): do not retry."""


class MailSender(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Hand the message on, or raise; `MailRejected` means retrying will not help."""
        ...


class SmtpSender:
    """Sends over SMTP: `tls` is implicit TLS (RFC 8314), `starttls` demands the upgrade
    (RFC 3207), `none` is plain. Certificates are verified in both TLS modes, against
    `smtp_ca_file` when set, else the system's CAs."""

    def __init__(self, settings: Settings) -> None:
        if not settings.smtp_host:
            raise ValueError("SmtpSender needs AUTHSVC_SMTP_HOST")
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.mode = settings.smtp_tls
        self.timeout = settings.smtp_timeout
        self.username = settings.smtp_user
        self._password = settings.smtp_password
        self._tls_context: ssl.SSLContext | None = None
        if self.mode != "none":
            ca = str(settings.smtp_ca_file) if settings.smtp_ca_file else None
            self._tls_context = ssl.create_default_context(cafile=ca)

    async def send(self, message: EmailMessage) -> None:
        password = self._password.get_secret_value() if self._password else None
        try:
            await aiosmtplib.send(
                message,
                hostname=self.host,
                port=self.port,
                timeout=self.timeout,
                use_tls=self.mode == "tls",
                # start_tls=None would fall back to plain text when the server does not offer
                # STARTTLS; a stripping attacker could then read every code we send.
                start_tls=self.mode == "starttls",
                tls_context=self._tls_context,
                username=self.username or None,
                password=password if self.username else None,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise MailRejected("every recipient was refused") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise MailRejected(f"the server answered {exc.code}") from exc
            raise
        except ssl.SSLCertVerificationError as exc:
            raise MailRejected("the server certificate did not verify") from exc
        except aiosmtplib.SMTPException as exc:
            if isinstance(exc.__cause__, ssl.SSLCertVerificationError):
                raise MailRejected("the server certificate did not verify") from exc
            raise


class LogSender:
    """No SMTP host: write the mail to the `authsvc.mail` log at WARNING, under a banner."""

    def __init__(self, *, show_body: bool = True) -> None:
        self.show_body = show_body

    async def send(self, message: EmailMessage) -> None:
        body = message.get_body(preferencelist=("plain",))
        text = "(body withheld in production: it holds codes and links)\n"
        if self.show_body and body is not None:
            text = body.get_content()
        log.warning(
            "%s\nTo: %s\nSubject: %s\n\n%s%s",
            BANNER,
            message["To"],
            message["Subject"],
            text,
            "-" * 40,
        )


def make_sender(settings: Settings) -> MailSender:
    """SMTP when a host is configured (and AUTHSVC_MAIL_TRANSPORT is not `log`), else the log."""
    if not settings.mail_by_log:
        return SmtpSender(settings)
    # In production the log is read by more people than the mailbox owner; a code there is a login.
    return LogSender(show_body=settings.env != "production")
