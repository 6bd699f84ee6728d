"""PostgreSQL's durability: a synchronous standby that takes over (`make failover`)
while intake flows and while a confirmation import is inside its transaction, the old
primary fenced; and the restore drill — the database destroyed and restored from a base
backup and the WAL archive, to its latest point and to a point in the middle, after which
the rules' side catches up from the log exactly (each consumer's positions are kept in its
own schema) and the office is told what to redo."""

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from shared.contract import topics
from stack.handle import ROOT, StackHandle
from tests.support import factories as f
from tests.support.auth import READER, sign_in_env
from tests.support.disbursement import (
    ALICE,
    CAROL,
    HEADER,
    approve,
    awarded_many,
    call,
    canonical_awarded,
    confirm,
    owed,
    released_batch,
)
from tests.support.http import eventually, http_client, metrics
from tests.support.kafka_io import publish, read_all, value_json
from tests.support.stack import Stack, on

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
DIR = ROOT / ".local" / "test-durable"
PG_PORT = 27432
GAUGES = ("postgres_standby_expected", "postgres_standbys_connected")
SERVICES = ("registration", "awards", "reporting")


@pytest.fixture(scope="module")
def durable() -> Iterator[StackHandle]:
    h = StackHandle(
        DIR,
        kafka_port=27092,
        service_port=27800,
        pg_port=PG_PORT,
        env={"PG_STANDBY": "1", "XJ_PAUSE_FILE": str(DIR / "pause-{point}"), **sign_in_env("durable")},
    )
    if DIR.exists():
        h.cli("down")
        shutil.rmtree(DIR)
    h.cli("up")
    try:
        yield h
    finally:
        h.cli("down")


def primary_port(h: StackHandle) -> int:
    name = (h.dir / "pg" / "primary").read_text().strip() if (h.dir / "pg" / "primary").exists() else "pg-a"
    return PG_PORT + (0 if name == "pg-a" else 1)


async def admin(h: StackHandle) -> asyncpg.Connection:
    return await asyncpg.connect(f"postgresql://xj:xj@127.0.0.1:{primary_port(h)}/xj")


async def standbys(h: StackHandle) -> tuple[float, float]:
    """(expected, connected) as awards reports them: the gauges PrimaryWithoutStandby reads."""
    text = await metrics(h.url("awards"), h.dir)
    found = [re.search(rf'^{name}{{service="awards"}} (\S+)$', text, re.M) for name in GAUGES]
    return (float(found[0].group(1)) if found[0] else -1.0, float(found[1].group(1)) if found[1] else -1.0)


async def issued_per_enterprise(s: Stack, usccs: set[str]) -> Counter[str]:
    """PayoutIssued event ids per enterprise, each id once; the same id again must say the
    same (re-derived after a restore it is emitted anew: only `occurred_at` differs)."""
    seen: dict[str, dict[str, Any]] = {}
    for r in await read_all(s.bootstrap, topics.AWARD_EVENTS):
        e = value_json(r)
        if r.key and r.key.decode() in usccs and e["event_type"] == "PayoutIssued":
            assert seen.setdefault(e["event_id"], e["data"]) == e["data"]
    return Counter(d["enterprise_uscc"] for d in seen.values())


async def test_a_failover_while_intake_flows_loses_and_doubles_nothing_and_fences_the_old_primary(
    durable: StackHandle,
) -> None:
    h, s = durable, on(durable)
    pids = {svc: h.pid(svc) for svc in SERVICES}
    tag = uuid.uuid4().hex[:8]
    made = [(f.new_uscc("650104"), f.new_uscc("650104"), f.new_id("INC-FO")) for _ in range(30)]
    events = [
        e for i, (u, op, inc) in enumerate(made) for e in canonical_awarded(u, inc, op, "650104", f"{tag}企业{i}")
    ]

    async def paced() -> None:
        for chunk in (events[i::10] for i in range(10)):
            await publish(s.bootstrap, chunk, topic=topics.ENTERPRISE_EVENTS)
            await asyncio.sleep(0.4)

    watched = await eventually(lambda: standbys(h), lambda v: v == (1.0, 1.0), timeout=30)
    flowing = asyncio.create_task(paced())
    await asyncio.sleep(1.0)
    said = await asyncio.to_thread(h.cli, "failover")
    await flowing
    seen = await eventually(lambda: owed(s, q=tag), lambda d: d["count"] == 60, timeout=120)
    issued = await issued_per_enterprise(s, {u for u, _, _ in made})
    refused = subprocess.run(
        [sys.executable, "-c", "from stack.postgres import NODES, start_node; start_node(NODES[0])"],
        cwd=ROOT,
        env=h.process_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    again = h.cli("up")  # idempotent after a failover: the fenced node stays down
    old = h.dir / "pg" / "data"
    fenced = ((old / "FENCED").exists(), (old / "postmaster.pid").exists())
    alone = await eventually(lambda: standbys(h), lambda v: v == (1.0, 0.0), timeout=30)  # PrimaryWithoutStandby
    h.cli("pg-rejoin")  # the old primary rebuilt as the new one's synchronous standby
    rejoined = await eventually(lambda: standbys(h), lambda v: v == (1.0, 1.0), timeout=30)
    conn = await admin(h)
    try:
        standby = await conn.fetch("SELECT application_name, sync_state FROM pg_stat_replication")
    finally:
        await conn.close()
    assert "promoting pg-b; pg-a fenced" in said
    assert (seen["count"], seen["total_cny"]) == (60, 6_000_000)
    assert issued == dict.fromkeys((u for u, _, _ in made), 2)  # nothing lost, nothing twice
    assert {svc: h.pid(svc) for svc in SERVICES} == pids  # every service came back on its own
    assert refused.returncode != 0 and "pg-a was the primary before a failover and is fenced" in refused.stderr
    assert "pg-a is fenced (the old primary)" in again and fenced == (True, False)
    assert [(r["application_name"], r["sync_state"]) for r in standby] == [("pg-a", "sync")]
    assert (watched, alone, rejoined) == ((1.0, 1.0), (1.0, 0.0), (1.0, 1.0))


async def test_a_failover_inside_a_confirmation_import_pays_each_payout_once(durable: StackHandle) -> None:
    h, s = durable, on(durable)
    tag, _ = await awarded_many(s, 10)
    ids = [p["payout_id"] for p in (await owed(s, q=tag, limit=100))["payouts"]]
    assert await approve(s, ids) == ["approved"] * 20
    await released_batch(s, ids)
    text = HEADER + "".join(f"{pid},paid,100000,2016-12-05,BANK-FO-{i}\n" for i, pid in enumerate(ids))
    pause = h.dir / "pause-confirmation-import"
    pause.touch()
    importing = asyncio.create_task(call(s, "POST", "/v1/confirmations", CAROL, content=text.encode()))
    await asyncio.sleep(1.5)
    held = not importing.done()  # the lines are booked inside the open transaction, not committed
    said = await asyncio.to_thread(h.cli, "failover")
    pause.unlink()
    first = await importing

    async def imported() -> httpx.Response:
        return await call(s, "POST", "/v1/confirmations", CAROL, content=text.encode())

    retried = await eventually(imported, lambda r: r.status_code == 200, timeout=60)
    third = await confirm(s, text)
    paid = await call(s, "GET", "/v1/disbursement/payouts", READER, params={"stage": "paid", "limit": 1000})

    async def paid_events() -> dict[str, str]:  # event id -> payout, once the outbox relay has sent them
        return {
            e["event_id"]: e["data"]["payout_id"]
            for e in map(value_json, await read_all(s.bootstrap, topics.AWARD_EVENTS))
            if e["event_type"] == "PayoutPaid" and e["data"]["payout_id"] in ids
        }

    published = await eventually(paid_events, lambda p: len(set(p.values())) == 20)
    h.cli("pg-rejoin")
    assert held and "promoting" in said
    # Its transaction died with the old primary: nothing booked, and it says sending again is safe.
    assert (first.status_code, first.json()["error_code"]) == (503, "DATABASE_UNAVAILABLE")
    assert [x["outcome"] for x in retried.json()["lines"]] == ["paid"] * 20
    assert [x["outcome"] for x in third["lines"]] == ["already_paid"] * 20
    assert Counter(p["payout_id"] for p in paid.json()["payouts"] if p["payout_id"] in ids) == dict.fromkeys(ids, 1)
    assert Counter(published.values()) == dict.fromkeys(ids, 1)


async def books(s: Stack, usccs: set[str]) -> dict[str, Any]:
    """What an auditor compares: the tag's payouts by stage, the audit trail, reporting."""
    stages = {}
    for stage in ("owed", "approved", "batched", "paid"):
        r = await call(s, "GET", "/v1/disbursement/payouts", READER, params={"stage": stage, "limit": 1000})
        stages[stage] = sorted(p["payout_id"] for p in r.json()["payouts"] if p["enterprise_uscc"] in usccs)
    audit = (await call(s, "GET", "/v1/audit", READER, params={"limit": 1000})).json()["entries"]
    async with http_client(timeout=30, headers=READER) as c:
        progress = (await c.get(f"{s.url('reporting')}/v1/progress", params={"year": 2016})).json()
        flows = (await c.get(f"{s.url('reporting')}/v1/disbursement", params={"year": 2016})).json()
    return {
        "stages": stages,
        "audit": [(e["seq"], e["action"], e["subject"], e["actor"]) for e in audit],
        "progress": progress["counters"],
        "awards": progress["awards"],
        "flows": flows["rows"],
    }


async def archive_everything(h: StackHandle) -> None:
    """The current WAL segment closed and archived: what a restore to the latest point replays."""
    conn = await admin(h)
    try:
        segment = await conn.fetchval("SELECT pg_walfile_name(pg_switch_wal())")
        deadline = time.monotonic() + 60
        while (await conn.fetchval("SELECT last_archived_wal FROM pg_stat_archiver") or "") < segment:
            assert time.monotonic() < deadline, "the archiver did not catch up"
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


def destroy_the_database(h: StackHandle) -> None:
    pg = h.dir / "pg"
    for data in (pg / "data", pg / "data-b"):
        pid_file = data / "postmaster.pid"
        if pid_file.exists():
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
    time.sleep(1)
    subprocess.run(["pkill", "-9", "-f", f"postgres -D {pg}"], check=False)
    for data in (pg / "data", pg / "data-b"):
        shutil.rmtree(data, ignore_errors=True)


def redo(h: StackHandle) -> list[str]:
    env = {**h.process_env(), **h.stack_env()}
    out = subprocess.run(
        [sys.executable, "-m", "services.awards", "redo"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.splitlines()


async def test_the_restore_drill_to_the_latest_point_and_to_a_point_in_the_middle(durable: StackHandle) -> None:
    h, s = durable, on(durable)
    h.cli("backup")
    tag, made = await awarded_many(s, 5)
    mine = {u for u, _, _ in made}
    ids = [p["payout_id"] for p in (await owed(s, q=tag, limit=100))["payouts"]]
    assert await approve(s, ids) == ["approved"] * 10
    await released_batch(s, ids)
    await confirm(s, HEADER + "".join(f"{pid},paid,100000,2016-12-06,BANK-R-{i}\n" for i, pid in enumerate(ids)))
    before = await books(s, mine)
    assert before["stages"]["paid"] == sorted(ids)

    # The database lost, restored from the base backup and the archive to its latest point.
    await archive_everything(h)
    destroy_the_database(h)
    h.cli("restore")
    latest = await eventually(lambda: books(s, mine), lambda b: b == before, timeout=120)
    assert latest == before

    # A point in the middle: what came after it is replayed from the log or listed to redo.
    middle = datetime.now(UTC)
    at_middle = await books(s, mine)
    await asyncio.sleep(1.5)
    tag_b, made_b = await awarded_many(s, 3)
    mine_b = {u for u, _, _ in made_b}
    ids_b = sorted(p["payout_id"] for p in (await owed(s, q=tag_b))["payouts"])
    assert await approve(s, ids_b) == ["approved"] * 6
    after_b = await books(s, mine_b)
    await archive_everything(h)
    h.cli("restore", "--at", middle.isoformat())
    # The rules' side catches up from the log: the later enterprises' payouts are owed again.
    caught_up = await eventually(lambda: owed(s, q=tag_b), lambda d: d["count"] == 6, timeout=120)
    issued = await issued_per_enterprise(s, {u for u, _, _ in made_b})
    listed = redo(h)
    restored = await books(s, mine)
    for pid in ids_b:  # the office redoes what the list says
        assert await approve(s, [pid], ALICE) == ["approved"]
    redone = await eventually(lambda: books(s, mine_b), lambda b: b["stages"] == after_b["stages"], timeout=60)
    assert (caught_up["count"], caught_up["total_cny"]) == (6, 600_000)
    assert issued == dict.fromkeys((u for u, _, _ in made_b), 2)  # re-derived under the same ids
    assert sorted(line.split()[1] for line in listed[:-1] if line.startswith("approve")) == ids_b
    assert listed[-1].startswith("6 act(s) to redo")
    assert restored["stages"] == at_middle["stages"] and restored["audit"] == at_middle["audit"]
    assert (redone["progress"], redone["flows"]) == (after_b["progress"], after_b["flows"])
    assert redo(h)[-1].startswith("0 act(s) to redo")
    verified = subprocess.run(
        [sys.executable, "-m", "services.awards", "verify-audit"],
        cwd=ROOT,
        env={**h.process_env(), **h.stack_env()},
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout
    assert Path(h.dir / "pg" / "backups").exists()
