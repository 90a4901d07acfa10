"""Recovery test steps: read links and codes from the mails the real SMTP sink received."""

from __future__ import annotations

import asyncio
import re
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.infra import Api
from tests.smtp_server import SmtpSink

PUBLIC_URL = "https://id.example.org"
RESET_SUBJECT = "Reset your"
VERIFY_SUBJECT = "Confirm your e-mail"
CHANGED_SUBJECT = "password was changed"
NEW_PASSWORD = "Another-Long-Secret-42"


def mails(sink: SmtpSink, to: str, subject: str) -> list[EmailMessage]:
    return [m for m in list(sink.messages) if m["To"] == to and subject in m["Subject"]]


async def mail(sink: SmtpSink, to: str, subject: str, n: int = 1,
               timeout: float = 5.0) -> EmailMessage:
    """The `n`-th (1-based) mail to `to` whose subject contains `subject`."""
    async with asyncio.timeout(timeout):
        while len(mails(sink, to, subject)) < n:
            await asyncio.sleep(0.01)
    return mails(sink, to, subject)[n - 1]


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def link_in(message: EmailMessage) -> str:
    found = re.search(r"https?://\S+", text_of(message))
    assert found, "no link in the mail"
    return found.group(0).rstrip(".,)")


def token_in(message: EmailMessage, path: str) -> str:
    """The `token` of the mail's link, after checking the link points at our public URL."""
    parts = urlsplit(link_in(message))
    assert f"{parts.scheme}://{parts.netloc}" == PUBLIC_URL
    assert parts.path == path
    return parse_qs(parts.query)["token"][0]


def code_in(message: EmailMessage) -> str:
    found = re.search(r"\b(\d{8})\b", text_of(message))
    assert found, "no code in the mail"
    return found.group(1)


async def forgot(api: Api, email: str, **headers: str) -> httpx.Response:
    return await api.post("/password/forgot", json={"email": email}, headers=headers)


async def reset(api: Api, token: str, password: str = NEW_PASSWORD,
                **extra: Any) -> httpx.Response:
    return await api.post("/password/reset",
                          json={"token": token, "new_password": password, **extra})


async def reset_token_for(api: Api, sink: SmtpSink, email: str, n: int = 1) -> str:
    response = await forgot(api, email)
    assert response.status_code == 202, response.text
    return token_in(await mail(sink, email, RESET_SUBJECT, n), "/reset")
