"""The SMTP server stopped for real: the e-mail code request answers as usual (delivery is in the
background), the failure is logged and counted, and a resend works once the server is back."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from tests import flows
from tests.mfa.helpers import enrol_email, mailed_code, mfa_grant, mfa_token_for, open_world

pytestmark = pytest.mark.slow


class LimiterClock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


async def test_smtp_down_answers_as_usual_logs_counts_and_a_resend_works(
    make_settings, smtp_sink, caplog
) -> None:
    # The default sending limits (1 a minute per user); one retry to keep the test short.
    async with open_world(make_settings, smtp_sink, smtp_retries=1, smtp_timeout=2) as world:
        clock = LimiterClock()
        world.state.limiter.clock = clock
        api, state = world.api, world.state
        user = await flows.register(api)
        await enrol_email(world, user)
        clock.offset += 121  # the sliding window forgets the enrolment mail
        token = await mfa_token_for(api, user)
        assert await state.courier.drain(5)  # every earlier mail has left
        failed_before = state.mail_counts["failed"]

        smtp_sink.stop()
        caplog.set_level(logging.ERROR, logger="authsvc.mail")
        sent = await api.post("/mfa/challenge", json={"mfa_token": token, "method": "email"})
        assert sent.status_code == 200, sent.text
        assert sent.json() == {"method": "email", "expires_in": 600}
        async with asyncio.timeout(10):
            while state.mail_counts["failed"] == failed_before:
                await asyncio.sleep(0.05)
        assert state.mail_counts["failed"] == failed_before + 1
        logged = [r.getMessage() for r in caplog.records if r.name == "authsvc.mail"]
        assert any("not sent after 2 tries" in m for m in logged), logged
        assert not any(user["email"] in m for m in logged)  # no address in the log
        metrics = await api.get("/metrics")
        if metrics.status_code == 200 and "authsvc_mail_failures_total" in metrics.text:
            assert "authsvc_mail_failures_total 0.0" not in metrics.text

        too_soon = await api.post("/mfa/challenge", json={"mfa_token": token, "method": "email"})
        assert too_soon.status_code == 429 and too_soon.headers.get("retry-after")

        smtp_sink.start()
        clock.offset += 121  # past the (sliding) per-minute limit
        again = await api.post("/mfa/challenge", json={"mfa_token": token, "method": "email"})
        assert again.status_code == 200, again.text
        code = await mailed_code(smtp_sink, user["email"], 2)  # the enrolment mail was the 1st
        done = await mfa_grant(api, token, "email", code)
        assert done.status_code == 200, done.text
        assert state.mail_counts["sent"] >= 2
