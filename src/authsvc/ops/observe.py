"""After each request: the latency histogram by route template and one access-log line.

Runs inside `middleware.RequestContext`; the route template comes from the route FastAPI
matched (`scope["route"].path_format`), so labels stay bounded whatever paths clients send.
The line carries no path parameters, query string, body or headers: nothing secret.
"""

from __future__ import annotations

import logging

from starlette.types import Scope

from authsvc.ops.meter import Meter

access = logging.getLogger("authsvc.access")
UNMATCHED = "<unmatched>"


class RequestObserver:
    def __init__(self, meter: Meter) -> None:
        self.meter = meter

    def __call__(self, scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path_format", None) or UNMATCHED
        method = scope["method"]
        self.meter.request(template, method, status, seconds)
        state = scope.get("state") or {}
        if status == 429:
            self.meter.refused(state.get("refusal") or "rate_limited")
        if not access.isEnabledFor(logging.INFO):
            return
        client = scope.get("client")
        access.info("%s %s %d", method, template, status, extra={
            "request_id": state.get("request_id"),
            "trace_id": state.get("trace_id"),
            "route": template,
            "method": method,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "user_id": state.get("user_id"),
            "client_ip": state.get("client_ip") or (client[0] if client else None),
        })
