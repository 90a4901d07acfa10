"""Client registration and authentication (RFC 6749 §2.3.1).

Client secrets are 256-bit random values, so a fast keyed-free SHA-256 digest is the right store
(a slow hash buys nothing against a secret that cannot be guessed, and /introspect authenticates
the client on every call). Digests are compared in constant time. A verified client is cached in
Redis (and briefly in-process) so the introspection hot path runs no SQL.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from urllib.parse import unquote

import orjson
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc.clients.models import Client
from authsvc.clients.repository import ClientRepository
from authsvc.errors import InvalidClient
from authsvc.kv import Keys

CACHE_TTL = 300
LOCAL_TTL = 5.0


@dataclass(frozen=True, slots=True)
class ClientView:
    client_id: str
    name: str
    secret_hash: str
    active: bool


@dataclass(frozen=True, slots=True)
class IssuedClient:
    client_id: str
    client_secret: str
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
    def __init__(self, sessions: async_sessionmaker[AsyncSession], redis: Redis) -> None:
        self._sessions = sessions
        self._redis = redis
        self._local: dict[str, tuple[float, ClientView]] = {}

    async def create(self, session: AsyncSession, name: str) -> IssuedClient:
        name = name.strip()
        if not name or len(name) > 200:
            from authsvc.errors import AuthError

            raise AuthError("A client needs a name of 1 to 200 characters.", status=422)
        client_id = "c_" + secrets.token_hex(12)
        secret = secrets.token_urlsafe(32)
        await ClientRepository(session).add(
            Client(client_id=client_id, name=name, secret_hash=secret_digest(secret))
        )
        return IssuedClient(client_id=client_id, client_secret=secret, name=name)

    async def list(self, session: AsyncSession) -> list[Client]:
        return list(await ClientRepository(session).all())

    async def rotate_secret(self, session: AsyncSession, client_id: str) -> IssuedClient | None:
        """A new secret (the old one stops working at once); None for an unknown client."""
        repo = ClientRepository(session)
        client = await repo.get(client_id)
        if client is None:
            return None
        secret = secrets.token_urlsafe(32)
        await repo.set_secret_hash(client_id, secret_digest(secret))
        self._after_commit_forget(session, client_id)
        return IssuedClient(client_id=client_id, client_secret=secret, name=client.name)

    async def delete(self, session: AsyncSession, client_id: str) -> bool:
        deleted = await ClientRepository(session).delete(client_id)
        if deleted:
            self._after_commit_forget(session, client_id)
        return deleted

    def _after_commit_forget(self, session: AsyncSession, client_id: str) -> None:
        """Drop the cached view now and again after commit, so no reader re-fills the old one."""
        from authsvc.db import after_commit

        self._local.pop(client_id, None)

        async def forget() -> None:
            await self.forget(client_id)

        after_commit(session, forget)

    async def forget(self, client_id: str) -> None:
        self._local.pop(client_id, None)
        await self._redis.delete(Keys.client(client_id))

    async def lookup(self, client_id: str, cached: bytes | None = None) -> ClientView | None:
        """The client, from this process, then Redis (`cached` if the caller already read it),
        then the database."""
        now = time.monotonic()
        hit = self._local.get(client_id)
        if hit and hit[0] > now:
            return hit[1]
        view: ClientView | None = None
        if cached is None:
            cached = await self._redis.get(Keys.client(client_id))
        if cached:
            view = ClientView(**orjson.loads(cached))
        else:
            async with self._sessions() as session:
                client = await ClientRepository(session).get(client_id)
            if client is None:
                return None
            view = ClientView(client.client_id, client.name, client.secret_hash, client.is_active)
            await self._redis.set(
                Keys.client(client_id),
                orjson.dumps({"client_id": view.client_id, "name": view.name,
                              "secret_hash": view.secret_hash, "active": view.active}),
                ex=CACHE_TTL, nx=True,
            )
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
        expected = view.secret_hash if view else secret_digest("no-such-client")
        matches = hmac.compare_digest(secret_digest(secret), expected)
        if not matches or view is None or not view.active:
            raise InvalidClient()
        return view
