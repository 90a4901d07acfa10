"""`Credentialed`: one route for a path both faces answer (`POST /logout`).

The contract gives `POST /logout` to the API (a bearer access token: revoke it and its refresh
family, 204) and to the pages (the session cookie and its CSRF token: end the browser session,
303). One route decides, by the credential the request carries, not the order the routers were
included in: a request with an `Authorization` header is the API's (RFC 6750 §2.1; a wrong or
unusable token gets the RFC 6750 challenge, never the page), any other is the browser's.

Neither face imports the other: the API declares its route `Credentialed`, the pages keep
theirs on a router the app does not include, and the app (`main.create_app`) pairs the two
with `join`.
"""

from __future__ import annotations

from fastapi.routing import APIRoute, APIRouter
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send


def carries_authorization(scope: Scope) -> bool:
    """The request names a credential in `Authorization` (the API's kind, not a browser's)."""
    return any(name == b"authorization" for name, _ in scope.get("headers", ()))


class Credentialed(APIRoute):
    """The API's route of a shared path; a request without `Authorization` goes to `browser`,
    the pages' route of the same path and method (none: the API answers everything)."""

    browser: BaseRoute | None = None

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.browser is not None and not carries_authorization(scope):
            await self.browser.handle(scope, receive, send)
            return
        await super().handle(scope, receive, send)


def join(api: APIRouter, browser: APIRouter) -> None:
    """Hand each route of `browser` (a router the app does not include: its routes answer only
    through here) to the `Credentialed` route of `api` with its path and methods. A browser
    route without one is refused: it would never answer."""
    shared = {(route.path, frozenset(route.methods or ())): route
              for route in api.routes if isinstance(route, Credentialed)}
    for route in browser.routes:
        assert isinstance(route, APIRoute)
        key = (route.path, frozenset(route.methods or ()))
        if key not in shared:
            raise ValueError(f"no API route shares {sorted(route.methods or ())} {route.path}")
        shared[key].browser = route
