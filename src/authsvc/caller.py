"""Who is asking: the caller of a request as the service saw it (user agent, address, the OAuth
client it named, a device token it presented). A plain value, built once at the edge
(deps.get_caller) and handed to the use cases; not the registered OAuth client
(clients/models.Client)."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class Caller:
    user_agent: str | None
    ip: str | None
    client_id: str | None = None
    device: str | None = None  # a device token it presented (OWASP device cookies)

    def with_device(self, device: str | None) -> Caller:
        return replace(self, device=device)

    def with_client(self, client_id: str | None) -> Caller:
        return replace(self, client_id=client_id)
