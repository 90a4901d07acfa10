"""Every mail authsvc sends, built in one place.

Each message is an `EmailMessage` with a plain-text body and an HTML alternative (RFC 2046
§5.1.4), naming the product, the code, the link and how long they stay valid. Links are
built from the configured base URL (`AUTHSVC_PUBLIC_URL`, else the issuer), never from a request.
"""

from __future__ import annotations

import html
import math
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from urllib.parse import urlencode

from authsvc.config import Settings

__all__ = ["HeaderInjection", "MessageFactory"]

_FORBIDDEN = ("\r", "\n", "\0")


class HeaderInjection(ValueError):
    """A header value could add headers or recipients; it is refused, never cleaned up."""


def _header(name: str, value: str) -> str:
    # A CR or LF would start a new header (a Bcc: to an attacker); stripping it would send a mail
    # to an address nobody typed, so the value is refused instead.
    if any(ch in value for ch in _FORBIDDEN):
        raise HeaderInjection(f"{name}: a line break or NUL is not allowed here")
    return value


def _recipient(to: str) -> str:
    """Exactly one addr-spec; `a@x, b@y` or a display name would widen the audience."""
    _header("To", to)
    try:
        Address(addr_spec=to)
    except (ValueError, IndexError, HeaderParseError) as exc:
        raise HeaderInjection("the To header must be exactly one e-mail address") from exc
    return to


def _minutes(ttl_seconds: int) -> str:
    """A lifetime as people say it: "10 minutes", "24 hours", "1 hour 30 minutes"."""
    minutes = max(1, math.ceil(ttl_seconds / 60))
    hours, rest = divmod(minutes, 60)
    parts = [f"{hours} hour{'s' if hours != 1 else ''}"] if hours else []
    if rest:
        parts.append(f"{rest} minute{'s' if rest != 1 else ''}")
    return " ".join(parts)


class MessageFactory:
    """Builds the messages from the settings: the sender, the base URL of links, the product."""

    def __init__(self, settings: Settings, *, product: str = "authsvc") -> None:
        self.sender = _header("From", settings.smtp_from)
        self.base_url = settings.mail_base_url.rstrip("/")
        self.product = _header("Subject", product)
        self._msgid_domain = parseaddr(self.sender)[1].rpartition("@")[2] or "localhost"

    def link(self, path: str, **query: str) -> str:
        """`base_url + path + ?query` (urlencoded); `path` is a path on this service only."""
        if not path.startswith("/") or path.startswith("//") or any(c in path for c in "?#\\"):
            raise ValueError(f"a mail link takes an absolute path on this service, not {path!r}")
        return f"{self.base_url}{path}" + (f"?{urlencode(query)}" if query else "")

    def mfa_code_message(self, to: str, code: str, ttl_seconds: int) -> EmailMessage:
        return self._build(
            to,
            f"Your {self.product} sign-in code",
            ["Your sign-in code is {code}.", f"It expires in {_minutes(ttl_seconds)}."],
            code=code,
        )

    def reset_message(self, to: str, link: str, code: str, ttl_seconds: int) -> EmailMessage:
        return self._build(
            to,
            f"Reset your {self.product} password",
            [
                "Someone asked to reset the password of this account.",
                "Open {link} to choose a new password.",
                "If an app asks you for a reset code instead, enter {code}.",
                f"The link and the code expire in {_minutes(ttl_seconds)}.",
                "If this was not you, ignore this mail; your password stays as it is.",
            ],
            link=self._own(link),
            code=code,
        )

    def verify_message(self, to: str, link: str, code: str, ttl_seconds: int) -> EmailMessage:
        return self._build(
            to,
            f"Confirm your e-mail address for {self.product}",
            [
                "Open {link} to confirm this e-mail address.",
                "If an app asks you for a confirmation code instead, enter {code}.",
                f"The link and the code expire in {_minutes(ttl_seconds)}.",
            ],
            link=self._own(link),
            code=code,
        )

    def password_changed_message(self, to: str) -> EmailMessage:
        return self._build(
            to,
            f"Your {self.product} password was changed",
            [
                "The password of this account was just changed.",
                "If this was not you, reset it now at {link} and contact your administrator.",
            ],
            link=self.link("/forgot"),
        )

    # ------------------------------------------------------------------ internals
    def _own(self, link: str) -> str:
        # A link that does not start with our base URL was built from something else (a Host
        # header, a user's input): refusing it keeps reset tokens from being mailed to a phisher.
        if not link.startswith(self.base_url + "/"):
            raise ValueError("a mail link must be built with MessageFactory.link()")
        return link

    def _build(self, to: str, subject: str, lines: list[str], **values: str) -> EmailMessage:
        for name, value in values.items():
            _header(name, value)
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = _recipient(to)
        message["Subject"] = _header("Subject", subject)
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self._msgid_domain)
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to us
        text = "\n\n".join(line.format(**values) for line in lines)
        message.set_content(f"{text}\n\n-- \n{self.product}\n")
        safe = {name: html.escape(value, quote=True) for name, value in values.items()}
        if "link" in safe:
            safe["link"] = f'<a href="{safe["link"]}">{safe["link"]}</a>'
        if "code" in safe:
            safe["code"] = f"<strong>{safe['code']}</strong>"
        paragraphs = "".join(f"<p>{html.escape(line).format(**safe)}</p>\n" for line in lines)
        message.add_alternative(
            f"<!DOCTYPE html>\n<html><body>\n{paragraphs}"
            f"<p>— {html.escape(self.product)}</p>\n</body></html>\n",
            subtype="html",
        )
        return message
