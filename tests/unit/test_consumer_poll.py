"""The consumers' poll: an empty poll goes straight back to waiting inside `getmany`, with no
pause after it (FastStream's batch subscriber sleeps its timeout there; ours would spin idle
services or hold a fact for the length of the sleep). A FastStream upgrade that stops calling
the subscriber's `get_msg` from its loop fails here."""

from typing import Any

import pytest
from aiokafka.errors import ConsumerStoppedError
from faststream.kafka import KafkaBroker
from faststream.kafka.subscriber import usecase

from shared.messaging.consumer import _poll_without_pause


class EmptyTopic:
    """What an idle consumer's `getmany` returns: nothing, twice; then the consumer stops."""

    def __init__(self) -> None:
        self.polls: list[dict[str, Any]] = []

    async def getmany(self, **kwargs: Any) -> dict[Any, Any]:
        self.polls.append(kwargs)
        if len(self.polls) > 2:
            raise ConsumerStoppedError
        return {}


async def test_an_empty_poll_goes_straight_back_to_getmany(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(usecase.anyio, "sleep", sleep)
    subscriber: Any = KafkaBroker().subscriber("t", batch=True, max_records=7, batch_timeout_ms=10)
    _poll_without_pause(subscriber, 500)
    subscriber.running = True
    consumer = EmptyTopic()
    await subscriber._run_consume_loop(consumer)  # returns when the consumer stops
    assert consumer.polls == [{"timeout_ms": 500, "max_records": 7}] * 3
    assert slept == []
