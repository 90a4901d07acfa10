"""Settings: one flat `AUTHSVC_*` namespace, layered like Authelia and Kratos.

Precedence, highest first: values passed to `load_settings()`, the environment, a `.env` file,
the YAML file named by `AUTHSVC_CONFIG_FILE`, the profile's YAML file shipped with the package
(`profiles/<AUTHSVC_ENV>.yaml`), and the defaults below. A `*_FILE` variable (Docker secrets)
supplies a secret from a file, e.g. `AUTHSVC_JWT_SECRET_FILE=/run/secrets/jwt`.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    YamlConfigSettingsSource,
)

Environment = Literal["development", "testing", "production"]
PROFILES: tuple[str, ...] = ("development", "testing", "production")
MIN_SECRET_BYTES = 32
# Values that documentation, examples and this repository's tests use: never a production key.
KNOWN_DEFAULT_SECRETS = frozenset({
    "test-jwt-secret-that-is-long-enough-0123456789",
    "test-encryption-key-long-enough-0123456789",
    "change-me-change-me-change-me-change-me",
    "changeme-changeme-changeme-changeme",
    "please-change-this-secret-in-production",
})
SECRET_FIELDS = ("jwt_secret", "encryption_key", "smtp_password")
FILE_FIELDS = SECRET_FIELDS + ("database_url", "redis_url")
# AUTHSVC_* variables that are not settings: read by `authsvc serve`, the container entrypoint,
# docker-compose.yml and the test suite.
NON_SETTING_VARIABLES = frozenset({
    "AUTHSVC_HOST", "AUTHSVC_PORT", "AUTHSVC_WORKERS", "AUTHSVC_MIGRATE_ON_START",
    "AUTHSVC_HTTP_PORT", "AUTHSVC_TEST_PG", "AUTHSVC_TEST_REDIS", "AUTHSVC_FUZZ_EXAMPLES",
})
log = logging.getLogger("authsvc.config")
HEADER_NAME = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$"  # an RFC 9110 §5.6.2 token
OIDC_SCOPES = ("openid", "profile", "email", "offline_access")
PRIVATE_NETWORKS = ("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                    "fc00::/7")


class ConfigError(ValueError):
    """The configuration cannot be used; the message names the setting."""


def default_data_dir() -> Path:
    """One per-user place, whatever the working directory (XDG Base Directory Specification):
    `$XDG_DATA_HOME/authsvc`, else `~/.local/share/authsvc`. `AUTHSVC_DATA_DIR` overrides it."""
    base = os.environ.get("XDG_DATA_HOME", "")
    if base and Path(base).is_absolute():
        return Path(base) / "authsvc"
    try:
        return Path.home() / ".local" / "share" / "authsvc"
    except RuntimeError:  # no HOME and no passwd entry (a container's arbitrary uid)
        return Path(".authsvc").absolute()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AUTHSVC_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    env: Environment = "development"
    config_file: Path | None = None
    data_dir: Path = Field(default_factory=lambda: default_data_dir())

    # Storage
    database_url: str | None = None
    db_pool_size: int = Field(10, ge=1, le=200)
    db_max_overflow: int = Field(5, ge=0, le=200)
    db_pool_timeout: float = Field(5.0, gt=0)
    # Database time a request may spend (pool wait, statements, commit): past it, 503.
    db_request_timeout: float = Field(5.0, gt=0, le=120)
    db_token_timeout: float = Field(3.0, gt=0, le=120)  # POST /token (a rotation's deadline)
    db_statement_timeout: float = Field(5.0, gt=0, le=600)  # one statement, server side too
    redis_url: str | None = None
    redis_pool_size: int = Field(50, ge=1, le=10_000)
    redis_timeout: float = Field(2.0, gt=0)
    # standalone: AUTHSVC_REDIS_URL names the server. sentinel: the master is found through
    # AUTHSVC_REDIS_SENTINELS by its service name; AUTHSVC_REDIS_URL, if set, only gives the
    # master's database, user and password (its host is ignored). cluster: AUTHSVC_REDIS_URL
    # names one startup node of a Redis Cluster; the others are discovered.
    redis_mode: Literal["standalone", "sentinel", "cluster"] = "standalone"
    redis_sentinels: Annotated[list[str], NoDecode] = Field(default_factory=list)
    redis_sentinel_master: str = "mymaster"
    user_cache_ttl: int = Field(300, ge=1)
    introspection_cache_ttl: float = Field(1.0, ge=0, le=10)  # 0: every check asks Redis
    # GET /revocations/stream: seconds between keep-alive comments, events kept for a
    # Last-Event-ID replay, open streams a process serves.
    revocation_stream_keepalive: float = Field(15.0, ge=0.05, le=300)
    revocation_replay_window: int = Field(10_000, ge=10, le=1_000_000)
    revocation_stream_max: int = Field(1000, ge=1, le=100_000)

    # Tokens
    jwt_secret: SecretStr | None = None
    jwt_previous_secrets: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    issuer: str = "http://127.0.0.1:8000"
    audience: str | None = None
    access_token_ttl: int = Field(900, ge=10)
    refresh_token_ttl: int = Field(604_800, ge=60)
    mfa_token_ttl: int = Field(300, ge=10)
    token_leeway: int = Field(30, ge=0, le=300)
    token_binding: Literal["off", "ua", "ua+ip"] = "ua"  # noqa: S105 - not a secret
    # HS256: signed with AUTHSVC_JWT_SECRET (verified by calling /introspect); RS256 or ES256:
    # signed with the published keys (/jwks), so resource servers can verify offline too.
    access_token_alg: Literal["HS256", "RS256", "ES256"] = "HS256"  # noqa: S105

    # OpenID Connect provider
    # The scopes this service knows (scopes_supported); clients' allow-lists are subsets.
    scopes: Annotated[list[str], NoDecode] = Field(default_factory=lambda: list(OIDC_SCOPES))
    # The allow-list of password logins that name no client.
    default_scopes: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(OIDC_SCOPES))
    id_token_ttl: int = Field(3600, ge=60, le=86_400)
    authorization_code_ttl: int = Field(60, ge=5, le=60)  # RFC 9700 §4.2: short-lived
    key_prepublish: int = Field(3600, ge=0)  # seconds a rotated key is published before signing
    key_refresh_interval: float = Field(30.0, gt=0)  # each worker re-reads the keys this often
    authorize_request_ttl: int = Field(900, ge=60)  # a pending /authorize across login + MFA
    # Seconds after a refresh token's first use during which the same client presenting it
    # again gets the same successor pair (retry-safe rotation); 0 turns it off.
    refresh_reuse_grace: float = Field(5.0, ge=0, le=60)
    revocation_mark_poll: float = Field(1.0, gt=0, le=60)  # seconds between high-water checks

    # Passwords
    bcrypt_rounds: int = Field(12, ge=4, le=31)
    password_max_length: int = Field(1024, ge=16, le=4096)
    password_policy: Literal["default", "nist"] = "default"  # noqa: S105
    password_min_length: int = Field(12, ge=1, le=1024)
    password_require_upper: bool = True
    password_require_lower: bool = True
    password_require_digits: bool = True
    password_require_special: bool = True
    hash_threads: int = Field(0, ge=0, le=64)  # 0: one per core
    # Breached passwords: `hibp` asks a k-anonymity range API (api.pwnedpasswords.com or a
    # mirror) about every new password; a file of SHA-1 digests is checked with either value.
    breached_passwords: Literal["off", "hibp"] = "off"  # noqa: S105 - a mode, not a secret
    breached_passwords_url: str = "https://api.pwnedpasswords.com"  # noqa: S105
    breached_passwords_timeout: float = Field(2.0, gt=0, le=30)
    breached_passwords_fail: Literal["open", "closed"] = "open"  # noqa: S105
    breached_passwords_file: Path | None = None

    # Brute force and rate limits
    lockout_max_attempts: int = Field(5, ge=1)
    lockout_window: int = Field(900, ge=1)
    lockout_duration: int = Field(900, ge=1)
    lockout_cooldown_base: float = Field(1.0, ge=0)
    lockout_cooldown_max: float = Field(60.0, ge=0)
    rate_limit_token: str = "30/60"  # noqa: S105 - a rate, not a secret
    rate_limit_register: str = "10/60"
    rate_limit_mfa_challenge: str = "10/60"
    rate_limit_forgot: str = "5/60"
    rate_limit_forgot_account: str = "3/900"
    rate_limit_login_page: str = "30/60"
    rate_limit_introspect: str = "100000/60"
    rate_limit_revoke: str = "10000/60"
    device_token_ttl: int = Field(31_536_000, ge=60)  # OWASP device cookies: a year
    reauth_window: int = Field(300, ge=10)  # adding a factor: auth_time at most this old
    stuffing_usernames_threshold: int = Field(10, ge=2)
    stuffing_window: int = Field(600, ge=1)
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # MFA
    encryption_key: SecretStr | None = None
    # Old keys, newest first: they still decrypt (TOTP secrets, sessions, recovery codes); the
    # current AUTHSVC_ENCRYPTION_KEY encrypts everything new.
    encryption_previous_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    totp_issuer: str = "authsvc"
    totp_valid_window: int = Field(1, ge=0, le=5)
    email_code_ttl: int = Field(600, ge=30)
    email_code_max_attempts: int = Field(5, ge=1)
    email_send_per_minute: int = Field(1, ge=1)
    email_send_per_hour: int = Field(5, ge=1)
    mfa_max_attempts: int = Field(5, ge=1)
    step_up_window: int = Field(600, ge=10)
    recovery_code_count: int = Field(10, ge=1, le=50)

    # Passkeys (WebAuthn Level 2): the relying party; see passkeys/relying_party.py
    webauthn_rp_id: str | None = None  # default: the issuer's host (an IP address: passkeys off)
    webauthn_rp_name: str = "authsvc"
    webauthn_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)  # the issuer's
    webauthn_user_verification: Literal["preferred", "required", "discouraged"] = "preferred"
    webauthn_challenge_ttl: int = Field(300, ge=30, le=600)

    # Mail
    smtp_host: str | None = None
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_from: str = "authsvc <no-reply@localhost>"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_tls: Literal["starttls", "tls", "none"] = "starttls"
    smtp_timeout: float = Field(10.0, gt=0)
    smtp_retries: int = Field(8, ge=0, le=20)  # tries after the first, from the outbox
    smtp_ca_file: Path | None = None  # CA bundle for the server certificate; None: system CAs
    # smtp: AUTHSVC_SMTP_HOST must be set. log: mails are only written to the log (refused in
    # production unless set explicitly). Unset: smtp with a host, else log (not in production).
    mail_transport: Literal["smtp", "log"] | None = None
    mail_queue: str = Field("authsvc", min_length=1, max_length=64)  # outbox rows of this service
    mail_retry_backoff: float = Field(10.0, gt=0, le=3600)  # seconds before the 1st retry, doubling
    mail_retry_backoff_max: float = Field(3600.0, gt=0)
    mail_poll_interval: float = Field(2.0, gt=0, le=300)  # how often a worker looks for due mail
    mail_retention: int = Field(604_800, ge=60)  # seconds sent/failed rows (no body) are kept
    public_url: str | None = None
    reset_token_ttl: int = Field(1800, ge=60)
    verify_token_ttl: int = Field(86_400, ge=60)
    require_verified_email: bool = False

    # Browser pages
    cookie_secure: bool | None = None
    session_idle_timeout: int = Field(1800, ge=30)
    session_absolute_timeout: int = Field(43_200, ge=60)
    allowed_redirect_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Branding of the pages: templates that override ours (by file name), the product's name,
    # a logo (a same-origin path or a data: URL: the pages' CSP loads images from nowhere else),
    # and colours (#rrggbb) served as CSS custom properties from /branding.css.
    page_templates_dir: Path | None = None
    product_name: str = Field("authsvc", min_length=1, max_length=60)
    brand_logo_url: str | None = Field(
        None, pattern=r"^(/[^/\\].*|data:image/[a-z+.-]+;base64,[A-Za-z0-9+/=]+)$")
    brand_primary_color: str | None = Field(None, pattern=r"^#[0-9a-fA-F]{6}$")
    brand_primary_text_color: str | None = Field(None, pattern=r"^#[0-9a-fA-F]{6}$")
    # GET /auth/verify's answer headers (Authelia-style: Remote-User, Remote-Email, Remote-Groups)
    forward_auth_user_header: str = Field("X-Auth-User-Id", pattern=HEADER_NAME)
    forward_auth_email_header: str = Field("X-Auth-User-Email", pattern=HEADER_NAME)
    forward_auth_roles_header: str = Field("X-Auth-Roles", pattern=HEADER_NAME)

    # Operations
    log_level: str = "INFO"
    max_body_bytes: int = Field(65_536, ge=1024)
    max_header_bytes: int = Field(16_384, ge=1024, le=1_048_576)  # request line + headers: 431
    header_timeout: float = Field(10.0, gt=0, le=300)  # seconds to send a request's headers
    metrics_enabled: bool = True
    # Who may read the unauthenticated /metrics: loopback and the private ranges by default.
    metrics_allow: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(PRIVATE_NETWORKS))

    # ------------------------------------------------------------------ sources
    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        layered: dict[str, Any] = {}
        for source in (dotenv_settings, env_settings, init_settings):
            layered.update({k: v for k, v in source().items() if v is not None})
        env = str(layered.get("env") or "development")
        if env not in PROFILES:
            raise ConfigError(f"AUTHSVC_ENV must be one of {', '.join(PROFILES)}, not {env!r}")
        sources: list[PydanticBaseSettingsSource] = [
            init_settings,
            env_settings,
            dotenv_settings,
            _SecretFileSource(settings_cls),
        ]
        config_file = layered.get("config_file")
        if config_file:
            path = Path(str(config_file))
            if not path.is_file():
                raise ConfigError(f"AUTHSVC_CONFIG_FILE names {path}, which is not a file")
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=path))
        with resources.as_file(resources.files("authsvc") / "profiles" / f"{env}.yaml") as p:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=Path(p)))
        return tuple(sources)

    # --------------------------------------------------------------- validation
    @field_validator("scopes", "default_scopes", mode="before")
    @classmethod
    def _split_scopes(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item for item in value.replace(",", " ").split() if item]
        return value

    @model_validator(mode="after")
    def _check_scopes(self) -> Settings:
        import re

        for scope in self.scopes:
            if not re.fullmatch(r"[\x21\x23-\x5b\x5d-\x7e]{1,100}", scope):
                raise ConfigError(f"AUTHSVC_SCOPES: {scope!r} is not a scope (RFC 6749 §3.3)")
        unknown = set(self.default_scopes) - set(self.scopes)
        if unknown:
            raise ConfigError("AUTHSVC_DEFAULT_SCOPES names scopes missing from AUTHSVC_SCOPES: "
                              + ", ".join(sorted(unknown)))
        return self

    @field_validator("trusted_proxies", "allowed_redirect_hosts", "jwt_previous_secrets",
                     "encryption_previous_keys", "metrics_allow", "redis_sentinels",
                     "webauthn_origins", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("trusted_proxies", "metrics_allow")
    @classmethod
    def _check_networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as exc:
                raise ValueError(f"{item!r} is not an address or network") from exc
        return value

    @field_validator("redis_sentinels")
    @classmethod
    def _check_sentinels(cls, value: list[str]) -> list[str]:
        for item in value:
            host, sep, port = item.rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{item!r} is not HOST:PORT")
        return value

    @model_validator(mode="after")
    def _check_redis_mode(self) -> Settings:
        if self.redis_mode == "sentinel" and not self.redis_sentinels:
            raise ConfigError("AUTHSVC_REDIS_SENTINELS must list HOST:PORT of the sentinels "
                              "when AUTHSVC_REDIS_MODE is sentinel")
        if self.redis_mode == "cluster" and not self.redis_url:
            raise ConfigError("AUTHSVC_REDIS_URL must name a startup node "
                              "when AUTHSVC_REDIS_MODE is cluster")
        return self

    @field_validator("webauthn_origins")
    @classmethod
    def _check_origins(cls, value: list[str]) -> list[str]:
        for item in value:
            parts = urlsplit(item)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in (
                    "", "/") or parts.query or parts.fragment:
                raise ValueError(f"{item!r} is not an origin such as https://id.example.com")
        return [item.rstrip("/") for item in value]

    @field_validator("issuer", "public_url", "breached_passwords_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @field_validator(
        "rate_limit_token",
        "rate_limit_register",
        "rate_limit_mfa_challenge",
        "rate_limit_forgot",
        "rate_limit_forgot_account",
        "rate_limit_login_page",
        "rate_limit_introspect",
        "rate_limit_revoke",
    )
    @classmethod
    def _check_rate(cls, value: str) -> str:
        parse_rate(value)
        return value

    @field_validator("data_dir", mode="after")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    @model_validator(mode="after")
    def _refuse_weak_production(self) -> Settings:
        if self.env != "production":
            return self
        secret = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
        if weak_secret(secret):
            raise ConfigError(
                f"AUTHSVC_JWT_SECRET must be set to at least {MIN_SECRET_BYTES} bytes in "
                f"production ({weak_secret(secret)})"
            )
        # An old key still verifies tokens: it is held to the rules of the current one.
        for n, old in enumerate(self.jwt_previous_secrets, start=1):
            problem = weak_secret(old.get_secret_value())
            if problem:
                raise ConfigError(
                    f"AUTHSVC_JWT_PREVIOUS_SECRETS: entry {n} must be at least "
                    f"{MIN_SECRET_BYTES} bytes and not a default in production ({problem})"
                )
        if not self.database_url or self.database_url.startswith("sqlite"):
            raise ConfigError("AUTHSVC_DATABASE_URL must name PostgreSQL in production, not SQLite")
        if self.embedded_redis:
            raise ConfigError("AUTHSVC_REDIS_URL must be set in production")
        key = self.encryption_key.get_secret_value() if self.encryption_key else ""
        if weak_secret(key):
            raise ConfigError(
                f"AUTHSVC_ENCRYPTION_KEY must be set to at least {MIN_SECRET_BYTES} bytes in "
                f"production ({weak_secret(key)})"
            )
        if self.mail_transport is None and not self.smtp_host:
            # Issue 14: without this, every reset and verification mail vanished in production.
            raise ConfigError(
                "AUTHSVC_SMTP_HOST must be set in production (or AUTHSVC_MAIL_TRANSPORT=log, "
                "to only write mails to the log)"
            )
        return self

    @model_validator(mode="after")
    def _check_mail_transport(self) -> Settings:
        if self.mail_transport == "smtp" and not self.smtp_host:
            raise ConfigError("AUTHSVC_MAIL_TRANSPORT=smtp needs AUTHSVC_SMTP_HOST")
        return self

    # ---------------------------------------------------------------- derived
    @property
    def is_development(self) -> bool:
        return self.env == "development"

    @property
    def token_audience(self) -> str:
        return self.audience or self.issuer

    @property
    def mail_by_log(self) -> bool:
        """Mails are written to the log instead of being sent."""
        return self.mail_transport == "log" or (self.mail_transport is None and not self.smtp_host)

    @property
    def mail_base_url(self) -> str:
        return self.public_url or self.issuer

    @property
    def secure_cookies(self) -> bool:
        return self.cookie_secure if self.cookie_secure is not None else not self.is_development

    @property
    def embedded_database(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def embedded_redis(self) -> bool:
        return self.redis_mode == "standalone" and not self.redis_url

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        """AUTHSVC_REDIS_SENTINELS as (host, port) pairs ("[::1]:26379" allowed)."""
        pairs = []
        for item in self.redis_sentinels:
            host, _, port = item.rpartition(":")
            pairs.append((host.strip("[]"), int(port)))
        return pairs

    def storage_lines(self) -> list[str]:
        """Where this configuration keeps its data, for the start banner and the CLI (stderr)."""
        from sqlalchemy.engine import make_url

        url = make_url(self.resolved_database_url)
        if self.embedded_database:
            database = f"SQLite file {Path(url.database or '').absolute()}"
        else:
            database = url.render_as_string(hide_password=True)
        return [f"database: {database}", f"data directory: {self.data_dir}"]

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'authsvc.sqlite3'}"

    _local_keys: dict[str, bytes] = PrivateAttr(default_factory=dict)

    def prepare_local_keys(self) -> None:
        """At start-up (never on first use): read, or create once (0600), the local key files
        that stand in for an unset AUTHSVC_JWT_SECRET or AUTHSVC_ENCRYPTION_KEY."""
        if self.jwt_secret is None and "jwt" not in self._local_keys:
            self._local_keys["jwt"] = _local_secret(self.data_dir / "jwt_secret").encode()
        if self.encryption_key is None and "data" not in self._local_keys:
            self._local_keys["data"] = _local_secret(self.data_dir / "encryption_key").encode()

    def _local_key(self, which: str, setting: str) -> bytes:
        try:
            return self._local_keys[which]
        except KeyError:
            raise ConfigError(f"{setting} is unset and the local key file was not prepared "
                              "(Settings.prepare_local_keys() runs at start-up)") from None

    @property
    def jwt_key(self) -> bytes:
        """The HS256 key: the UTF-8 bytes of AUTHSVC_JWT_SECRET (or the prepared local one)."""
        if self.jwt_secret is not None:
            key = self.jwt_secret.get_secret_value().encode()
            if len(key) < MIN_SECRET_BYTES and self.env != "development":
                raise ConfigError(f"AUTHSVC_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes")
            return key
        return self._local_key("jwt", "AUTHSVC_JWT_SECRET")

    @property
    def data_key(self) -> bytes:
        """Key material for encryption at rest (TOTP secrets, sessions); never the JWT key."""
        if self.encryption_key is not None:
            return self.encryption_key.get_secret_value().encode()
        return self._local_key("data", "AUTHSVC_ENCRYPTION_KEY")

    @property
    def data_keys(self) -> list[bytes]:
        """The current data key first (it encrypts), then AUTHSVC_ENCRYPTION_PREVIOUS_KEYS."""
        previous = [k.get_secret_value().encode() for k in self.encryption_previous_keys]
        return [self.data_key, *(k for k in previous if k)]

    def secret_values(self) -> list[str]:
        """Every configured secret, for tests and log scrubbing."""
        values = [
            s.get_secret_value()
            for s in (self.jwt_secret, self.encryption_key, self.smtp_password,
                      *self.jwt_previous_secrets, *self.encryption_previous_keys)
            if s is not None
        ]
        return [v for v in values if v]


class _SecretFileSource(PydanticBaseSettingsSource):
    """`AUTHSVC_<NAME>_FILE` points at a file holding the secret (Docker and k8s secrets)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name in FILE_FIELDS:
            path = os.environ.get(f"AUTHSVC_{name.upper()}_FILE")
            if path:
                try:
                    found[name] = Path(path).read_text(encoding="utf-8").strip()
                except OSError as exc:
                    raise ConfigError(f"AUTHSVC_{name.upper()}_FILE: cannot read {path}") from exc
        return found


def _local_secret(path: Path) -> str:
    """Development only: a random secret generated once and kept in a local file (0600)."""
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker wrote it first
            return path.read_text(encoding="utf-8").strip()
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(value)
        return value


def weak_secret(value: str) -> str | None:
    """Why `value` cannot be a production secret (never echoing it), or None."""
    if len(value.encode()) < MIN_SECRET_BYTES:
        return f"fewer than {MIN_SECRET_BYTES} bytes"
    if value in KNOWN_DEFAULT_SECRETS:
        return "a published default"
    return None


def parse_rate(value: str) -> tuple[int, int]:
    """`"30/60"` → (30 requests, per 60 seconds)."""
    try:
        count, _, period = value.partition("/")
        parsed = int(count), int(period or 60)
    except ValueError:
        raise ValueError(f"a rate is 'COUNT/SECONDS', not {value!r}") from None
    if parsed[0] < 1 or parsed[1] < 1:
        raise ValueError(f"a rate is 'COUNT/SECONDS' with positive numbers, not {value!r}")
    return parsed


def load_settings(**overrides: Any) -> Settings:
    """Read the settings once, at start-up (never at import time).

    Errors name the setting and never echo a value: pydantic's own message would print the input,
    secrets included.
    """
    try:
        settings = Settings(**overrides)
    except SettingsError as exc:
        message = str(exc).replace("error parsing value for field", "cannot read")
        raise ConfigError(message) from None
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_input=False, include_url=False):
            where = ".".join(str(part) for part in err["loc"])
            setting = f"AUTHSVC_{where.upper()}: " if where else ""
            problems.append(f"{setting}{err['msg'].removeprefix('Value error, ')}")
        raise ConfigError("; ".join(problems)) from None
    check_unknown(settings)
    return settings


def unknown_settings(settings: Settings, environ: Any = None) -> list[str]:
    """AUTHSVC_* variables (environment and `.env`) and YAML keys that name no setting."""
    environ = os.environ if environ is None else environ
    fields = set(Settings.model_fields)
    known = {f"AUTHSVC_{name.upper()}" for name in fields} | NON_SETTING_VARIABLES
    known |= {f"AUTHSVC_{name.upper()}_FILE" for name in FILE_FIELDS}
    names = set(environ)
    dotenv = Path(".env")
    if dotenv.is_file():
        from dotenv import dotenv_values

        names |= set(dotenv_values(dotenv))
    found = sorted(f"{name} (environment)" for name in names
                   if name.upper().startswith("AUTHSVC_") and name.upper() not in known)
    if settings.config_file and settings.config_file.is_file():
        import yaml

        try:
            data = yaml.safe_load(settings.config_file.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            data = {}
        if isinstance(data, dict):
            found += sorted(f"{key} ({settings.config_file})" for key in data
                            if str(key).lower() not in fields)
    return found


def check_unknown(settings: Settings) -> None:
    """A misspelt setting is silently ignored otherwise: a warning, an error in production."""
    unknown = unknown_settings(settings)
    if not unknown:
        return
    message = f"unknown settings, ignored: {', '.join(unknown)}"
    if settings.env == "production":
        raise ConfigError(message.replace(", ignored", ""))
    log.warning("%s", message)
