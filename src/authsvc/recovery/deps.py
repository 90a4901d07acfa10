"""`Recovery`: the request's `RecoveryService`, for both faces (the JSON API and the pages)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from authsvc.deps import DbSession, Identity, State
from authsvc.recovery.service import RecoveryService


def get_recovery(state: State, session: DbSession, identity: Identity) -> RecoveryService:
    return RecoveryService(session, state, identity)


Recovery = Annotated[RecoveryService, Depends(get_recovery)]
