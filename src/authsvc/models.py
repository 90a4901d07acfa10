"""Every table, imported in one place so the metadata (and Alembic) sees them all."""

from authsvc.audit.models import AuditEvent
from authsvc.clients.models import Client
from authsvc.courier.models import OutboxMessage
from authsvc.db import Base
from authsvc.identity.models import User
from authsvc.keys.models import SigningKey
from authsvc.mfa.models import RecoveryCode
from authsvc.oidc.models import Consent
from authsvc.passkeys.models import Passkey
from authsvc.recovery.models import ActionToken
from authsvc.tokens.models import RefreshFamily, RefreshToken, Revocation

__all__ = [
    "ActionToken", "AuditEvent", "Base", "Client", "Consent", "OutboxMessage", "Passkey",
    "RecoveryCode", "RefreshFamily", "RefreshToken", "Revocation", "SigningKey", "User",
]
