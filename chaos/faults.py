"""The fault schedule of `make chaos`: real process faults on a local stack, each with the
action that puts it right (or none: the platform must recover by itself)."""

import asyncio
import os
import re
import signal
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

from chaos.office import Office, confirmation, paid_rows, tally
from shared.contract import topics
from stack import netns
from stack.handle import StackHandle, wait_gone

KILL_LEADER = "kill -9 busiest leader"  # the kill each Kafka partition fault is set beside


@dataclass(frozen=True)
class Fault:
    name: str
    inject: Callable[[StackHandle], Awaitable[None]]  # returns once the fault is over (restored)
    # After recovery, what the fault's own work came to: (lost, doubled, what was said).
    audit: Callable[[StackHandle], Awaitable[tuple[int, int, str]]] | None = None
    counterpart: str | None = None  # a partition's: how its matching kill fault's name starts


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


def partition(
    label: str, *, seconds: float, pick: Callable[[StackHandle], Awaitable[int]], how: str, kill: str = KILL_LEADER
) -> Fault:
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

    return Fault(f"{label}, {seconds:.0f} s", inject, counterpart=kill)


async def _busiest(stack: StackHandle) -> int:
    return (await busiest_leaders(stack))[0]


async def _services_machine(stack: StackHandle) -> int:
    """The node whose machine the second replica of every service shares (SERVICE_NETNS=1)."""
    machine = stack.layout.service_machine(2)
    if machine is None:
        raise RuntimeError("no service replica runs on a node's machine: SERVICE_NETNS=1 and SERVICE_REPLICAS=2")
    return machine


def import_cut_from_database(*, seconds: float, payouts: int = 20) -> Fault:
    """awards' replica on a node's machine imports the bank's confirmation file; inside its
    transaction (the failpoint holds it there: the lines booked, nothing committed) that
    machine is cut from PostgreSQL for `seconds`. Three seconds in, the treasurer, told
    nothing yet, sends the file to the other replica (as a load balancer would once the
    first says not ready); after recovery, once more to the first. Each payout must be
    booked once and answered `paid` once. The fault is over at the heal; the requests
    answer when they can (the audit waits for them and says when, from the cut)."""
    work: dict[str, Any] = {}

    async def inject(stack: StackHandle) -> None:
        office = Office(stack)
        owed = await office.released_batch(payouts)
        text = confirmation(owed, uuid.uuid4().hex[:8])
        machine = await _services_machine(stack)
        pause = stack.dir / "pause-confirmation-import"  # XJ_PAUSE_FILE of the chaos cluster
        pause.touch()
        first = asyncio.create_task(office.import_file(2, text))
        await asyncio.sleep(1.5)
        netns.cut_server(stack.layout, machine, stack.layout.bridge_address, stack.pg_port)
        office.since = time.monotonic()
        pause.unlink()
        await asyncio.sleep(3)
        other = asyncio.create_task(office.import_file(1, text))
        await asyncio.sleep(seconds - 3)
        netns.heal(stack.layout, machine)
        work.update(office=office, owed=owed, text=text, requests=[first, other])

    async def audit(stack: StackHandle) -> tuple[int, int, str]:
        office, owed, text = work["office"], work["owed"], work["text"]
        await asyncio.gather(*work["requests"], return_exceptions=True)
        await office.import_file(2, text)  # after recovery: all already paid
        booked = await paid_rows(stack, list(owed))
        answered = tally(office.said, list(owed))
        lost = sum(n == 0 for n in booked.values())
        doubled = sum(n > 1 for n in booked.values()) + sum(n > 1 for n in answered.values())
        said = "; ".join(
            f"{where} {status}" + "".join(f" {o}×{n}" for o, n in Counter(outcomes).items()) + f" at {at:.1f} s"
            for where, status, outcomes, at in office.said
        )
        return lost, doubled, f"cut at 0 s, healed at {seconds:.0f} s; {said}"

    name = f"PG cut from awards-2's machine mid-import, {seconds:.0f} s"
    return Fault(name, inject, audit, counterpart="kill -9 PG primary")


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
    kill_leader(rank=0, down_s=20, label=KILL_LEADER),
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
    # The minority: one node and the second replica of every service on its machine.
    partition("minority: a node + a replica of each service", seconds=20, pick=_services_machine, how="everyone"),
    import_cut_from_database(seconds=30),
)
