"""The provider's self-description: OpenID Connect Discovery 1.0 §3 and RFC 8414 §2. Both
documents list exactly the endpoints, grants and methods that exist."""

from __future__ import annotations

from typing import Any

from authsvc.config import Settings
from authsvc.keys.ring import ALGORITHMS
from authsvc.oidc.claims import CLAIMS_SUPPORTED

CLIENT_AUTH = ["client_secret_basic", "client_secret_post"]


def metadata(settings: Settings, grant_types: list[str]) -> dict[str, Any]:
    """The document; `grant_types`: those the /token registry holds."""
    issuer = settings.issuer
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "jwks_uri": f"{issuer}/jwks",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "end_session_endpoint": f"{issuer}/logout",
        "introspection_endpoint": f"{issuer}/introspect",
        "revocation_endpoint": f"{issuer}/revoke",
        "revocation_stream_endpoint": f"{issuer}/revocations/stream",  # authsvc's own (SSE)
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": grant_types,
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": list(settings.scopes),
        "claims_supported": list(CLAIMS_SUPPORTED),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(ALGORITHMS),
        "token_endpoint_auth_methods_supported": [*CLIENT_AUTH, "none"],
        "introspection_endpoint_auth_methods_supported": CLIENT_AUTH,
        "revocation_endpoint_auth_methods_supported": CLIENT_AUTH,
        "prompt_values_supported": ["none", "login", "consent"],
        "authorization_response_iss_parameter_supported": True,
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "service_documentation": f"{issuer}/docs",
        "mfa_challenge_endpoint": f"{issuer}/mfa/challenge",
        "password_policy_endpoint": f"{issuer}/password-policy",
    }
