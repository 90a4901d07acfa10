"""Pre-create tokens for the benchmark, in-process through TokenService (no bcrypt: a password
login per token would take hours at cost 12). Settings come from the environment run.py sets.

    python benchmarks/seed_tokens.py --emails FILE --refresh N --access N --out-refresh F --out-access F

Writes one urlencoded form body a line: `grant_type=refresh_token&refresh_token=...` for the
rotation pool, `token=...&token_type_hint=access_token` for introspection. Every token is bound
to the benchmark's User-Agent, as a login from wrk would be.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from urllib.parse import urlencode

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "src")]

from authsvc.caller import Caller  # noqa: E402
from authsvc.composition import build, close  # noqa: E402
from authsvc.config import load_settings  # noqa: E402
from authsvc.db import transaction  # noqa: E402
from authsvc.identity.repository import UserRepository  # noqa: E402

BATCH = 250
TASKS = 4


async def seed(args: argparse.Namespace) -> None:
    state = await build(load_settings())
    client = Caller(user_agent=args.user_agent, ip="127.0.0.1", client_id=None)
    try:
        with open(args.emails, encoding="utf-8") as fh:
            emails = [line.strip() for line in fh if line.strip()]
        users = []
        async with state.sessions() as session:
            for email in emails:
                user = await UserRepository(session).get_by_email(email)
                assert user is not None, email
                users.append(user)

        async def issue(count: int, offset: int) -> list[dict[str, str]]:
            bodies = []
            done = 0
            while done < count:
                n = min(BATCH, count - done)
                async for session in transaction(state.sessions):
                    for i in range(n):
                        user = users[(offset + done + i) % len(users)]
                        bodies.append(await state.tokens.issue_for_user(
                            session, user, amr=["pwd"], client=client))
                done += n
            return bodies

        async def issue_parallel(count: int) -> list[dict[str, str]]:
            share = [count // TASKS + (1 if k < count % TASKS else 0) for k in range(TASKS)]
            parts = await asyncio.gather(*(issue(n, k * 1000) for k, n in enumerate(share)))
            return [body for part in parts for body in part]

        if args.access:
            bodies = await issue_parallel(args.access)
            with open(args.out_access, "w", encoding="utf-8") as fh:
                for body in bodies:
                    fh.write(urlencode({"token": body["access_token"],
                                        "token_type_hint": "access_token"}) + "\n")
        if args.refresh:
            bodies = await issue_parallel(args.refresh)
            with open(args.out_refresh, "w", encoding="utf-8") as fh:
                for body in bodies:
                    fh.write(urlencode({"grant_type": "refresh_token",
                                        "refresh_token": body["refresh_token"]}) + "\n")
    finally:
        await close(state)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--emails", required=True)
    parser.add_argument("--user-agent", default="authsvc-bench")
    parser.add_argument("--access", type=int, default=0)
    parser.add_argument("--refresh", type=int, default=0)
    parser.add_argument("--out-access")
    parser.add_argument("--out-refresh")
    asyncio.run(seed(parser.parse_args()))


if __name__ == "__main__":
    main()
