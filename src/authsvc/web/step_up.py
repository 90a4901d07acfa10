"""Step-up on the pages: a second factor confirms a sensitive change (the API's `RecentMfa`).

A session that proved a factor within `step_up_window` needs nothing more; otherwise the form's
`method` and `code` are checked by the same `MfaService.verify_guarded` as `POST /mfa/step-up`
(a wrong code counts toward the username's lockout). A success refreshes the session's `amr`
and `auth_time` and moves the session to a new id, as for any privilege change.
"""

from __future__ import annotations

from authsvc.caller import Caller
from authsvc.composition import Components
from authsvc.errors import InvalidCode, TemporarilyLocked, TooManyRequests
from authsvc.identity.models import User
from authsvc.mfa.service import MfaService
from authsvc.sessions.model import Session
from authsvc.web.browser import BrowserSession
from authsvc.web.i18n import N_
from authsvc.web.templating import format_duration

NEEDED = N_("Confirm this change with a code from your second factor.")


def has_recent_mfa(state: Components, session: Session) -> bool:
    auth_time = session.auth_time or 0.0
    recent = auth_time >= state.session_store.clock() - state.settings.step_up_window
    return "mfa" in session.amr and recent


async def step_up(state: Components, mfa: MfaService, browser: BrowserSession, user: User,
                  form: dict[str, str], client: Caller) -> str | None:
    """None when the change may go ahead, else the message that says why not."""
    session = browser.session
    assert session is not None
    if not user.mfa_enabled:
        return None
    method, code = form.get("method", ""), form.get("code", "").strip()
    if not code:
        return None if has_recent_mfa(state, session) else NEEDED
    try:
        amr = await mfa.verify_guarded(user, method, code, client, where="step_up")
    except InvalidCode:
        return "That code is not valid. Nothing was changed."
    except TemporarilyLocked as exc:
        return f"Too many failed attempts. Try again in {format_duration(exc.retry_after)}."
    except TooManyRequests as exc:
        return f"Too many requests. Try again in {format_duration(exc.retry_after)}."
    session.amr = sorted({*session.amr, *amr})
    session.auth_time = state.session_store.clock()
    await browser.rotate(session)  # more privilege: a new id
    await state.audit.record("mfa_step_up", user_id=user.id, client_ip=client.ip,
                             method=method, channel="web")
    return None
