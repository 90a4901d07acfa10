"""Client registration and authentication (RFC 6749 §2.3.1).

Client secrets are 256-bit random values, so a fast keyed-free SHA-256 digest is the right store
(a slow hash buys nothing against a secret that cannot be guessed, and /introspect authenticates
the client on every call). Digests are compared in constant time. A verified client is cached in
Redis (and briefly in-process) so the introspection hot path runs no SQL. Any change to a client
(new secret, settings, deletion) drops both caches on every worker: the Redis entry after the
commit, and each process's memory through the invalidation channel (`notify`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from typing import Any, cast
from urllib.parse import unquote

import orjson
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc.clients.models import CONFIDENTIAL, PUBLIC, Client
from authsvc.clients.registration import ClientSpec
from authsvc.clients.repository import ClientRepository
from authsvc.db import after_commit
from authsvc.errors import InvalidClient
from authsvc.kv import Keys

CLIENT_ID = re.compile(r"\A[\x21-\x7e]{1,64}\Z")  # what a client_id can be (RFC 6749 §A.1)
CACHE_TTL = 300
LOCAL_TTL = 5.0
CHANNEL_PREFIX = "client:"


@dataclass(frozen=True, slots=True)
class ClientView:
    client_id: str
    name: str
    secret_hash: str | None
    active: bool
    type: str = CONFIDENTIAL
    redirect_uris: tuple[str, ...] = ()
    post_logout_redirect_uris: tuple[str, ...] = ()
    grant_types: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    first_party: bool = False
    id_token_alg: str = "RS256"  # noqa: S105 - an algorithm name
    not_before: int | None = None

    @property
    def public(self) -> bool:
        return self.type == PUBLIC

    @classmethod
    def of(cls, client: Client) -> ClientView:
        return cls(client.client_id, client.name, client.secret_hash, client.is_active,
                   client.type, tuple(client.redirect_uris or ()),
                   tuple(client.post_logout_redirect_uris or ()),
                   tuple(client.grant_types or ()), tuple(client.scopes or ()),
                   bool(client.first_party), client.id_token_alg or "RS256", client.not_before)

    def dumps(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def loads(cls, raw: bytes) -> ClientView:
        data = orjson.loads(raw)
        for name in ("redirect_uris", "post_logout_redirect_uris", "grant_types", "scopes"):
            data[name] = tuple(data.get(name) or ())
        return cls(**data)


@dataclass(frozen=True, slots=True)
class IssuedClient:
    client_id: str
    client_secret: str | None
    name: str


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """`Authorization: Basic base64(urlencoded id : urlencoded secret)`, or None."""
    if not header or not header[:6].lower() == "basic ":
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidClient() from None
    client_id, sep, secret = raw.partition(":")
    if not sep:
        raise InvalidClient()
    return unquote(client_id), unquote(secret)


class ClientService:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], redis: Redis, *,
        known_scopes: tuple[str, ...] = ("openid", "profile", "email", "offline_access"),
        default_scopes: tuple[str, ...] = ("openid", "profile", "email", "offline_access"),
        notify: Callable[[str], Awaitable[None]] | None = None,
        local_trusted: Callable[[], bool] = lambda: True,
    ) -> None:
        self._sessions = sessions
        self._redis = redis
        self._local: dict[str, tuple[float, ClientView]] = {}
        self.known_scopes = known_scopes
        self.default_scopes = default_scopes
        self._notify = notify
        # The in-process copy is used only while invalidations reach this process.
        self._local_trusted = local_trusted

    # ------------------------------------------------------------- registration
    async def create(self, session: AsyncSession, spec: ClientSpec | str) -> IssuedClient:
        if isinstance(spec, str):
            spec = ClientSpec(name=spec)
        spec = spec.checked(self.known_scopes, self.default_scopes)
        client_id = "c_" + secrets.token_hex(12)
        secret = secrets.token_urlsafe(32) if spec.type == CONFIDENTIAL else None
        await ClientRepository(session).add(Client(
            client_id=client_id, name=spec.name,
            secret_hash=secret_digest(secret) if secret else None, type=spec.type,
            redirect_uris=list(spec.redirect_uris),
            post_logout_redirect_uris=list(spec.post_logout_redirect_uris),
            grant_types=list(spec.grant_types or ()), scopes=list(spec.scopes or ()),
            first_party=spec.first_party, id_token_alg=spec.id_token_alg,
        ))
        return IssuedClient(client_id=client_id, client_secret=secret, name=spec.name)

    async def list(self, session: AsyncSession) -> list[Client]:
        return list(await ClientRepository(session).all())

    async def get(self, session: AsyncSession, client_id: str) -> Client | None:
        if not CLIENT_ID.match(client_id):
            return None
        return await ClientRepository(session).get(client_id)

    async def update(self, session: AsyncSession, client: Client, changes: dict[str, Any]) -> None:
        """Apply `changes` (ClientSpec field names) after checking the whole result."""
        current = ClientSpec(
            name=client.name, type=client.type, redirect_uris=tuple(client.redirect_uris),
            post_logout_redirect_uris=tuple(client.post_logout_redirect_uris),
            grant_types=tuple(client.grant_types), scopes=tuple(client.scopes),
            first_party=client.first_party, id_token_alg=client.id_token_alg,
        )
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                                  for k, v in changes.items() if k != "is_active"}
        spec = replace(current, **values).checked(self.known_scopes, self.default_scopes)
        client.name = spec.name
        client.redirect_uris = list(spec.redirect_uris)
        client.post_logout_redirect_uris = list(spec.post_logout_redirect_uris)
        client.grant_types = list(spec.grant_types or ())
        client.scopes = list(spec.scopes or ())
        client.first_party = spec.first_party
        client.id_token_alg = spec.id_token_alg
        if "is_active" in changes:
            client.is_active = bool(changes["is_active"])
        await session.flush()
        self._after_commit_forget(session, client.client_id)

    async def rotate_secret(self, session: AsyncSession, client_id: str) -> IssuedClient | None:
        """A new secret (the old one stops working at once, and so do the client-credentials
        tokens issued under it); None for an unknown or public client."""
        repo = ClientRepository(session)
        client = await repo.get(client_id) if CLIENT_ID.match(client_id) else None
        if client is None or client.type != CONFIDENTIAL:
            return None
        secret = secrets.token_urlsafe(32)
        # The not-before moves on (milliseconds, strictly): tokens carrying an older one die.
        not_before = max(int(time.time() * 1000), (client.not_before or 0) + 1)
        await repo.set_secret_hash(client_id, secret_digest(secret), not_before)
        self._after_commit_forget(session, client_id)
        return IssuedClient(client_id=client_id, client_secret=secret, name=client.name)

    async def delete(self, session: AsyncSession, client_id: str) -> bool:
        if not CLIENT_ID.match(client_id):
            return False
        deleted = await ClientRepository(session).delete(client_id)
        if deleted:
            self._after_commit_forget(session, client_id)
        return deleted

    def _after_commit_forget(self, session: AsyncSession, client_id: str) -> None:
        """Drop the cached view now and again after commit, so no reader re-fills the old one."""
        self._local.pop(client_id, None)

        async def forget() -> None:
            await self.forget(client_id)

        after_commit(session, forget)

    async def forget(self, client_id: str) -> None:
        self._local.pop(client_id, None)
        await self._redis.delete(Keys.client(client_id))
        if self._notify is not None:
            await self._notify(CHANNEL_PREFIX + client_id)

    def invalidated(self, message: str) -> None:
        """An invalidation from any process: a changed client leaves this process's memory."""
        if message.startswith(CHANNEL_PREFIX):
            self._local.pop(message[len(CHANNEL_PREFIX):], None)
        elif message == "reconnected":
            self._local.clear()

    # ------------------------------------------------------------------ lookup
    async def lookup(self, client_id: str, cached: bytes | None = None) -> ClientView | None:
        """The client, from this process, then Redis (`cached` if the caller already read it),
        then the database. A value that cannot be a client_id names none."""
        if not CLIENT_ID.match(client_id):
            return None
        now = time.monotonic()
        hit = self._local.get(client_id)
        if hit and hit[0] > now and self._local_trusted():
            return hit[1]
        view: ClientView | None = None
        if cached is None:
            cached = cast("bytes | None", await self._redis.get(Keys.client(client_id)))
        if cached:
            view = ClientView.loads(cached)
        else:
            async with self._sessions() as session:
                client = await ClientRepository(session).get(client_id)
            if client is None:
                return None
            view = ClientView.of(client)
            await self._redis.set(Keys.client(client_id), view.dumps(), ex=CACHE_TTL, nx=True)
        if len(self._local) > 10_000:
            self._local.clear()
        self._local[client_id] = (now + LOCAL_TTL, view)
        return view

    async def authenticate(
        self, authorization: str | None, form: dict[str, str], *, required: bool = True
    ) -> ClientView | None:
        """The client named by HTTP Basic or `client_secret_post`, or InvalidClient."""
        credentials = parse_basic(authorization)
        if credentials is None and "client_secret" in form:
            credentials = (form.get("client_id", ""), form["client_secret"])
        if credentials is None:
            if required:
                raise InvalidClient("Client authentication is required.")
            return None
        client_id, secret = credentials
        if not client_id or len(client_id) > 64 or len(secret) > 256:
            raise InvalidClient()
        view = await self.lookup(client_id)
        expected = view.secret_hash if view and view.secret_hash else secret_digest("no-client")
        matches = hmac.compare_digest(secret_digest(secret), expected)
        if not matches or view is None or not view.active or view.secret_hash is None:
            raise InvalidClient()
        return view

    async def identify(self, authorization: str | None, form: dict[str, str]) -> ClientView | None:
        """The client a token request names (RFC 6749 §3.2.1): authenticated when it gives
        credentials; by `client_id` alone only if it is public (a client with a secret must
        authenticate); None when it names none."""
        view = await self.authenticate(authorization, form, required=False)
        if view is not None:
            if form.get("client_id") and form["client_id"] != view.client_id:
                raise InvalidClient()
            return view
        client_id = form.get("client_id")
        if not client_id:
            return None
        known = await self.lookup(client_id[:64])
        if known is None or not known.active:
            raise InvalidClient()
        if not known.public:
            raise InvalidClient("This client must authenticate (HTTP Basic or client_secret).")
        return known
