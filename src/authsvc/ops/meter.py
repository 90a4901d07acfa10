"""The metrics seam: what the services report, with no Prometheus import.

`Meter` does nothing; `ops.metrics.PrometheusMeter` counts. Services hold a `Meter`, so tests
and the CLI need no registry.
"""

from __future__ import annotations

from typing import Any


class Meter:
    """Every method is cheap and never raises; the base class ignores everything."""

    def event(self, type: str, details: dict[str, Any]) -> None:
        """A security event (an `AuditLog` listener)."""

    def token(self, kind: str) -> None:
        """A token issued, refreshed, revoked or reused (`kind` names which)."""

    def introspection(self, outcome: str, seconds: float) -> None:
        """One /introspect answer: `active` or `inactive`, and how long it took."""

    def user_cache(self, hit: bool) -> None:
        """One user lookup through the cache."""

    def mail_sent(self) -> None:
        """A mail left the outbox (handed to the SMTP server, or to the log)."""

    def mail_failed(self) -> None:
        """A mail could not be delivered after every retry (the courier's `on_failure`)."""

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        """One HTTP request, by route template."""
