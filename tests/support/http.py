"""Polling helpers: the platform is eventually consistent, tests wait for exact values."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx

from tests.support.auth import READER

T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], *, timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    value = await probe()
    while not done(value) and time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        value = await probe()
    return value


async def get_json(url: str) -> tuple[int, object]:
    async with httpx.AsyncClient(timeout=10, headers=READER) as client:
        r = await client.get(url)
        return r.status_code, (r.json() if r.headers.get("content-type", "").startswith("application/json") else r.text)
