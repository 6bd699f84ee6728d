"""HTTP clients for the stacks' services, and polling helpers: the platform is eventually
consistent, tests wait for exact values."""

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import certifi
import httpx

from tests.support.auth import READER

T = TypeVar("T")

# One TLS context for every test client: httpx builds one per client otherwise, loading
# certifi's bundle each time (27 CPU-seconds of a suite run, for services spoken to over HTTP).
TLS = ssl.create_default_context(cafile=certifi.where())


def http_client(**options: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(verify=TLS, **options)


async def eventually(probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], *, timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    value = await probe()
    while not done(value) and time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        value = await probe()
    return value


def metrics_token(stack_dir: Path) -> str:
    """The token the stack's Prometheus scrapes /metrics with (stack/service_processes.py)."""
    return (stack_dir / "metrics-token").read_text().strip()


async def metrics(base: str, stack_dir: Path) -> str:
    """A service's /metrics, scraped as the stack's Prometheus does."""
    async with http_client(timeout=10) as client:
        r = await client.get(f"{base}/metrics", headers={"Authorization": f"Bearer {metrics_token(stack_dir)}"})
    assert r.status_code == 200, r.text
    return r.text


async def get_json(url: str) -> tuple[int, object]:
    async with http_client(timeout=10, headers=READER) as client:
        r = await client.get(url)
        return r.status_code, (r.json() if r.headers.get("content-type", "").startswith("application/json") else r.text)
