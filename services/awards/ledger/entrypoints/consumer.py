"""Kafka: each fetched batch of enterprise events, decoded once, to the handlers of
services/awards/handlers.py's table, in one transaction: every handler once, with its
events in the log's order. Types the table does not name are not awards' concern."""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import asyncpg

from shared.contract.incoming import Event, decode
from shared.messaging import trace_context
from shared.messaging.consumer import BatchHandler, Record

EventsHandler = Callable[[asyncpg.Connection, list[Any]], Awaitable[None]]


def make_handler(table: Mapping[type[Event], EventsHandler]) -> BatchHandler:
    async def handle(conn: asyncpg.Connection, records: Sequence[Record]) -> None:
        by_handler: dict[EventsHandler, list[Event]] = {}
        for r in records:
            if r.value is None:
                continue
            event = decode(r.value)
            handler = table.get(type(event)) if event is not None else None
            if event is not None:
                # A payout's trace is found by its basis event's id (docs/operations.md).
                trace_context.tag_event(r, event.event_id)
            if event is not None and handler is not None:
                by_handler.setdefault(handler, []).append(event)
        for handler, events in by_handler.items():
            await handler(conn, events)

    return handle
