"""The fault schedule of `make chaos`: real process faults on a local stack, each with the
action that puts it right (or none: the platform must recover by itself)."""

import asyncio
import os
import signal
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient

from shared import topics
from stack.handle import StackHandle, wait_gone


@dataclass(frozen=True)
class Fault:
    name: str
    inject: Callable[[StackHandle], Awaitable[None]]  # returns once the fault is over (restored)


async def _up(stack: StackHandle) -> None:
    await asyncio.to_thread(stack.cli, "up")  # `make up` restarts what died


def kill(process: str, *, down_s: float) -> Fault:
    async def inject(stack: StackHandle) -> None:
        stack.kill9(process)
        await asyncio.sleep(down_s)
        await _up(stack)

    return Fault(f"kill -9 {process}, {down_s:.0f} s down", inject)


def kill_postgres(*, down_s: float) -> Fault:
    async def inject(stack: StackHandle) -> None:
        pids = stack.postgres_pids()
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        for pid in pids:
            wait_gone(pid)
        await asyncio.sleep(down_s)
        await _up(stack)

    return Fault(f"kill -9 postgres, {down_s:.0f} s down", inject)


def pause(process: str, *, seconds: float) -> Fault:
    async def inject(stack: StackHandle) -> None:
        pids = stack.postgres_pids() if process == "postgres" else [stack.pid(process)]
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        await asyncio.sleep(seconds)
        for pid in pids:
            os.kill(pid, signal.SIGCONT)

    return Fault(f"SIGSTOP {process} {seconds:.0f} s", inject)


async def busiest_leaders(stack: StackHandle) -> list[int]:
    """Broker ids by how many intake and canonical partitions they lead, most first."""
    admin = AIOKafkaAdminClient(**stack.kafka().client_options(), request_timeout_ms=10_000)
    await admin.start()
    try:
        described = await admin.describe_topics([topics.INTAKE, topics.ENTERPRISE_EVENTS])
    finally:
        await admin.close()
    led = Counter(p["leader"] for t in described for p in t["partitions"] if p["leader"] >= 0)
    return [node for node, _ in led.most_common()]


def kill_leader(*, rank: int, down_s: float, label: str) -> Fault:
    """kill -9 the broker leading the most (rank 0) or the next most (rank 1) partitions."""

    async def inject(stack: StackHandle) -> None:
        ranked = await busiest_leaders(stack)
        stack.kill9(f"kafka-{ranked[min(rank, len(ranked) - 1)]}")
        await asyncio.sleep(down_s)
        await _up(stack)

    return Fault(f"{label}, {down_s:.0f} s down", inject)


def rolling_restart(nodes: int) -> Fault:
    """Each broker in turn: SIGTERM (a controlled shutdown moves its leaders away), start."""

    async def inject(stack: StackHandle) -> None:
        for node in range(1, nodes + 1):
            pid = stack.pid(f"kafka-{node}")
            os.killpg(pid, signal.SIGTERM)
            await asyncio.to_thread(wait_gone, pid, 60)
            await _up(stack)

    return Fault(f"rolling restart of {nodes} brokers", inject)


def postgres_failover(*, crash: bool) -> Fault:
    """The primary lost (kill -9 of every process of it) or taken down on purpose, then
    `make failover`: the standby promoted, the old primary fenced; after the run
    `make pg-rejoin` rebuilds the pair. The services are not touched."""

    async def inject(stack: StackHandle) -> None:
        if crash:
            pids = stack.postgres_pids()
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            for pid in pids:
                wait_gone(pid)
        await asyncio.to_thread(stack.cli, "failover")
        await asyncio.to_thread(stack.cli, "pg-rejoin")

    return Fault("kill -9 PG primary, failover" if crash else "PG failover (planned)", inject)


SINGLE_NODE = (
    kill("kafka", down_s=5),
    kill_postgres(down_s=5),
    kill("registration", down_s=2),
    kill("awards", down_s=2),
    kill("reporting", down_s=2),
    pause("kafka", seconds=12),
    pause("postgres", seconds=12),
)
CLUSTER = (
    kill_leader(rank=0, down_s=20, label="kill -9 busiest leader"),
    kill_leader(rank=1, down_s=10, label="kill -9 second broker"),
    rolling_restart(3),
)
POSTGRES_PAIR = (postgres_failover(crash=False), postgres_failover(crash=True))
