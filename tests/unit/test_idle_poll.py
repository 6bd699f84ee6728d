"""An idle consumer waits in its poll, not in a pause after it: a record that arrives
during the wait is handed over at once, and an early empty answer does not spin."""

import asyncio
import time
from types import SimpleNamespace
from typing import Any

from shared.messaging.consumer import _long_poll


class Fetcher:
    """aiokafka's `getmany` as far as the poll uses it: records as soon as they arrive."""

    def __init__(self, arrive_after_s: float | None, answer_early: bool = False) -> None:
        self.arrive_after_s = arrive_after_s
        self.answer_early = answer_early
        self.calls: list[tuple[int, int]] = []

    async def getmany(self, *, timeout_ms: int, max_records: int) -> dict[str, list[Any]]:
        self.calls.append((timeout_ms, max_records))
        if self.answer_early:
            return {}
        if self.arrive_after_s is None or self.arrive_after_s > timeout_ms / 1000:
            await asyncio.sleep(timeout_ms / 1000)
            return {}
        await asyncio.sleep(self.arrive_after_s)
        return {"tp0": ["r1", "r2"], "tp1": ["r3"]}


async def test_a_record_that_arrives_during_the_wait_is_handed_over_at_once() -> None:
    fetcher = Fetcher(arrive_after_s=0.05)
    poll = _long_poll(SimpleNamespace(max_records=2000), wait_ms=2000)
    started = time.monotonic()
    assert await poll(fetcher) == ("r1", "r2", "r3")
    assert time.monotonic() - started < 1.0  # not the whole 2 s wait
    assert fetcher.calls == [(2000, 2000)]


async def test_an_idle_poll_waits_once_and_returns_nothing() -> None:
    fetcher = Fetcher(arrive_after_s=None)
    poll = _long_poll(SimpleNamespace(max_records=7), wait_ms=500)
    started = time.monotonic()
    assert await poll(fetcher) == ()
    waited = time.monotonic() - started
    assert 0.5 <= waited < 0.95  # FastStream would pause as long again after it
    assert fetcher.calls == [(500, 7)]


async def test_an_early_empty_answer_is_waited_out_not_spun_on() -> None:
    fetcher = Fetcher(arrive_after_s=None, answer_early=True)
    poll = _long_poll(SimpleNamespace(max_records=7), wait_ms=200)
    started = time.monotonic()
    assert await poll(fetcher) == ()
    assert time.monotonic() - started >= 0.2
    assert fetcher.calls == [(200, 7)]
