"""The baseline for benchmarks/smoke_wall.py: the same smoke requests, in parallel, plain httpx.

Usage: python benchmarks/_plain_smoke.py BASE_URL
"""

from __future__ import annotations

import asyncio
import sys

import httpx

REQUESTS = [
    ("GET", "/healthz", None), ("GET", "/readyz", None), ("GET", "/version", None),
    ("GET", "/", None), ("GET", "/search?q=milk", None), ("GET", "/p/MLK-001", None),
    ("POST", "/api/quote", {"pincode": "560001", "items": [{"sku": "MLK-001", "qty": 1}]}),
]


async def main(base_url: str) -> int:
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
        responses = await asyncio.gather(*(client.request(m, p, json=j) for m, p, j in REQUESTS))
    return 0 if all(r.status_code == 200 for r in responses) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1])))
