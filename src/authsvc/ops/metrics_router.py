"""GET /metrics: Prometheus text format, for scrapers on the networks in `metrics_allow`."""

from __future__ import annotations

import ipaddress

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import Response

from authsvc.deps import State
from authsvc.errors import Forbidden, NotFound
from authsvc.net import client_address, parse_networks
from authsvc.ops.metrics import PrometheusMeter

router = APIRouter(tags=["operations"])


def _allowed(address: str, allow: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in parse_networks(allow))


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, state: State) -> Response:
    settings = state.settings
    meter = state.meter
    if not settings.metrics_enabled or not isinstance(meter, PrometheusMeter):
        raise NotFound("Metrics are disabled.")
    address = client_address(request, tuple(settings.trusted_proxies))
    if not _allowed(address, tuple(settings.metrics_allow)):
        raise Forbidden("Metrics are not served to this address.")
    meter.sample_pools(state.engine, state.redis)
    return Response(meter.exposition(), media_type=CONTENT_TYPE_LATEST)
