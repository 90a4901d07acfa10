"""Serve an app factory the way `authsvc serve` does (uvicorn, uvloop, httptools, N workers),
for the ceiling app and the benchmark-only variants.

    python benchmarks/serve.py benchmarks.bare_app:create_app --port 8101 --workers 2
"""

from __future__ import annotations

import argparse
import os
import sys

import uvicorn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("factory")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    sys.path[:0] = [ROOT, os.path.join(ROOT, "src")]
    uvicorn.run(
        args.factory, factory=True, host=args.host, port=args.port, workers=args.workers,
        loop="uvloop", http="httptools", proxy_headers=False, server_header=False,
        log_level="warning", timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
