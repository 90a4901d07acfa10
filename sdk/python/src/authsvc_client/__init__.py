"""authsvc-client: what the services behind authsvc need of it.

    from authsvc_client import AsyncAuthsvcClient, AuthsvcClient, AuthsvcUnavailable

Framework guards live in `authsvc_client.fastapi` and `authsvc_client.flask`.
"""

from authsvc_client._version import __version__
from authsvc_client.aio import AsyncAuthsvcClient
from authsvc_client.client import AuthsvcClient
from authsvc_client.errors import AuthsvcError, AuthsvcRefused, AuthsvcUnavailable

__all__ = [
    "AsyncAuthsvcClient",
    "AuthsvcClient",
    "AuthsvcError",
    "AuthsvcRefused",
    "AuthsvcUnavailable",
    "__version__",
]
