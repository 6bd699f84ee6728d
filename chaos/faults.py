"""The fault schedule of `make chaos`: real process faults on a local stack, each with the
action that puts it right (or none: the platform must recover by itself)."""

import asyncio
import os
import re
import signal
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient

from shared import topics
from stack import netns
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


async def quorum_leader(stack: StackHandle) -> int:
    """The active controller: the node whose Raft log says it became the quorum's leader at
    the highest epoch (the client protocol does not name it in KRaft)."""
    became = re.compile(r"\[RaftManager id=(\d+)\] Completed transition to Leader\(.*?epoch=(\d+),")
    best = (-1, 0)
    for log in sorted((stack.dir / "logs").glob("kafka-*/*.log")):
        for node, epoch in became.findall(log.read_text(errors="replace")):
            best = max(best, (int(epoch), int(node)))
    if best[0] < 0:
        raise RuntimeError("no node has logged becoming the quorum's leader")
    return best[1]


def partition(label: str, *, seconds: float, pick: Callable[[StackHandle], Awaitable[int]], how: str) -> Fault:
    """A node (chosen by `pick`) cut off in its network namespace for `seconds`, then healed:
    `how` = "from peers" (both ways), "to peers" (its packets out only), "everyone" (clients
    too) or "loss" (30 % of its packets, both ways)."""

    async def inject(stack: StackHandle) -> None:
        layout = stack.layout
        node = await pick(stack)
        peers = [n for n in layout.node_ids if n != node]
        if how == "everyone":
            netns.isolate(layout, node)
        elif how == "loss":
            netns.lose(layout, node, 0.3)
        else:
            for peer in peers:
                netns.cut(layout, node, peer, both_ways=how == "from peers")
        await asyncio.sleep(seconds)
        for n in layout.node_ids:
            netns.heal(layout, n)

    return Fault(f"{label}, {seconds:.0f} s", inject)


async def _busiest(stack: StackHandle) -> int:
    return (await busiest_leaders(stack))[0]


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
# Each next to its kill counterpart in CLUSTER (the busiest leader killed for 20 s).
PARTITIONS = (
    partition("busiest leader cut from its followers", seconds=20, pick=_busiest, how="from peers"),
    partition("active controller cut from the quorum", seconds=20, pick=quorum_leader, how="from peers"),
    partition("one-way: busiest leader's packets to followers lost", seconds=20, pick=_busiest, how="to peers"),
    partition("30 % packet loss on the busiest leader", seconds=20, pick=_busiest, how="loss"),
    partition("busiest leader cut from everyone", seconds=20, pick=_busiest, how="everyone"),
)
