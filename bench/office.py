"""The policy office's tools at province scale: a what-if over a 300,000-
enterprise ledger and a 100,000-row payout export, timed, with the export's peak memory;
and the approvals' first screen and filter changes over every owed payout of that ledger
(under 300 ms each, server time).

A synthetic ledger (every enterprise incubated; some graduate, certify, list, transfer,
partly outside the windows) is written into a scratch awards schema and decided by the
service's own `decide_and_reconcile`, so the what-if compares against a real ledger.

    OFFICE_ENTERPRISES=300000 python -m bench.office     # or as part of `make bench`
"""

import asyncio
import dataclasses
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import orjson
from tqdm import tqdm

from bench.bench_stack import DSN, stack
from services.awards.audit.domain.audit import Actor
from services.awards.disbursement.adapters.payout_export import csv_chunks, write_workbook
from services.awards.disbursement.domain.owed_filter import OwedFilter
from services.awards.disbursement.service_layer.disbursement_queries import owed
from services.awards.handlers import follow_up
from services.awards.ledger.service_layer.rules import decide_and_reconcile
from services.awards.office.domain.what_if import PolicyOverrides
from services.awards.office.service_layer.policy_office import draft
from services.awards.office.service_layer.what_if_budget import tally_under, what_if
from services.awards.policy.adapters.policy_versions import AdoptedCache
from services.awards.policy.domain.policy import PLAN_2015, THE_2015_PLAN, PolicyDocument, PolicyVersion
from shared.contract.enums import RecipientRole, Rule
from shared.process import db
from stack.layout import ROOT

SCHEMA = "awards_scale"


Registered = tuple[str, str, str, date]
Fact = tuple[uuid.UUID, str, str, str]


def synthetic(n: int, seed: int = 10) -> tuple[list[Registered], list[Fact]]:
    rng = random.Random(seed)
    start = date(2015, 1, 1)
    enterprises: list[Registered] = []
    facts: list[Fact] = []

    def fact(uscc: str, kind: str, data: dict[str, object]) -> None:
        facts.append((uuid.UUID(int=rng.getrandbits(128)), uscc, kind, orjson.dumps({"uscc": uscc, **data}).decode()))

    for i in range(n):
        uscc = f"91650100{i:09d}X"
        registered = start + timedelta(days=rng.randrange(365))
        enterprises.append((uscc, f"企业 {i}", "650102", registered))
        inc = rng.randrange(400)
        admitted = registered + timedelta(days=rng.randrange(60))
        fact(
            uscc,
            "EnterpriseAdmitted",
            {
                "incubator_id": f"INC-{inc}",
                "admitted_on": admitted.isoformat(),
                "operator_uscc": f"9165010000{inc:07d}Y",
                "operator_name": f"运营方 {inc}",
            },
        )
        if rng.random() < 0.6:
            fact(
                uscc,
                "EnterpriseGraduated",
                {
                    "incubator_id": f"INC-{inc}",
                    "graduated_on": (admitted + timedelta(rng.randrange(90, 700))).isoformat(),
                },
            )
        if rng.random() < 0.15:
            fact(uscc, "HighTechCertified", {"certified_on": (admitted + timedelta(rng.randrange(1100))).isoformat()})
        if rng.random() < 0.08:
            board = "XJEE" if rng.random() < 0.6 else "NEEQ"
            listed = admitted + timedelta(rng.randrange(1100))
            fact(uscc, "ListedOnBoard", {"board": board, "listed_on": listed.isoformat()})
            if board == "XJEE" and rng.random() < 0.3:
                fact(
                    uscc,
                    "BoardTransferred",
                    {"transferred_on": (listed + timedelta(rng.randrange(30, 400))).isoformat()},
                )
    return enterprises, facts


async def office_scale(dsn: str, enterprises: int) -> dict[str, float]:
    conn = await asyncpg.connect(dsn)
    await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    await conn.close()
    await db.migrate(dsn, schema=SCHEMA, directory=ROOT / "services" / "awards" / "migrations")
    pool = await db.create_pool(dsn, schema=SCHEMA, max_size=2)
    await build_ledger(pool, enterprises)
    out: dict[str, float] = {}
    out |= await what_ifs(pool)
    out |= await owed_screens(pool)
    out |= await exports(pool)
    await pool.close()
    return out


async def build_ledger(pool: asyncpg.Pool, enterprises: int) -> None:
    """Synthetic enterprises and facts, decided by the rules into a ledger."""
    policy = AdoptedCache()
    t0 = time.monotonic()
    registered, facts = synthetic(enterprises)
    async with pool.acquire() as c:
        await c.copy_records_to_table("enterprises", records=registered, schema_name=SCHEMA)
        await c.copy_records_to_table(
            "facts", records=facts, columns=["event_id", "uscc", "event_type", "data"], schema_name=SCHEMA
        )
    usccs = [e[0] for e in registered]
    with tqdm(total=len(usccs), desc="deciding the ledger", unit=" enterprises", file=sys.stderr) as bar:
        for i in range(0, len(usccs), 2000):
            async with pool.acquire() as c, c.transaction():
                await decide_and_reconcile(c, usccs[i : i + 2000], policy, follow_up)
            bar.update(len(usccs[i : i + 2000]))
    async with pool.acquire() as c:
        await c.execute("ANALYZE")
        payouts = await c.fetchval("SELECT count(*) FROM payouts")
    print(
        f"  ledger: {enterprises:,} enterprises, {len(facts):,} facts, {payouts:,} payouts "
        f"(built in {time.monotonic() - t0:.0f}s)"
    )


async def what_ifs(pool: asyncpg.Pool) -> dict[str, float]:
    """The what-if beside the ledger, and the rules' tally under two versions beside one."""
    out: dict[str, float] = {}
    # A second region version from 2016 (High-Tech at 150,000), drafted, to preview beside the plan.
    amended = PolicyVersion(
        0,
        PLAN_2015.jurisdiction,
        date(2016, 1, 1),
        {**PLAN_2015.amounts, **{(Rule.HIGH_TECH_CERTIFICATION, r): 150_000 for r in RecipientRole}},
        PLAN_2015.window_years,
        PolicyDocument("bench", "an amendment from 2016", date(2015, 12, 1)),
    )
    drafted = await draft(pool, Actor("bench", "bench", ("approver",), "bench"), amended)
    for label, key, p in (
        ("policy unchanged", "same", PolicyOverrides()),
        ("listing window 3 years", "wider", PolicyOverrides(listing_window_years=3)),
        (
            "a drafted 2016 amendment previewed, its affected awards listed",
            "preview",
            PolicyOverrides(draft_version=drafted["version_id"]),
        ),
    ):
        t = time.monotonic()
        result = await what_if(pool, p)
        took = time.monotonic() - t
        tot = result["totals"]
        print(
            f"  what-if ({label}): {took:.1f}s for {result['enterprises']:,} enterprises; "
            f"what-if {tot['what_if']['payouts']:,} payouts {tot['what_if']['amount_cny']:,} CNY, "
            f"ledger {tot['ledger']['payouts']:,} payouts {tot['ledger']['amount_cny']:,} CNY"
            + (f"; {result['summary']['affected']:,} awards changed" if "summary" in result else "")
        )
        out[f"what_if_{key}_s"] = took
    # The rules' tally across two versions beside one, in the same run (best of three each).
    one, two = THE_2015_PLAN, THE_2015_PLAN.with_version(dataclasses.replace(amended, version_id=2))
    timed: dict[str, float] = {}
    for name, versions in (("one version", one), ("two versions", two)) * 3:
        async with pool.acquire() as c, c.transaction(isolation="repeatable_read", readonly=True):
            t = time.monotonic()
            await tally_under(c, versions)
            timed[name] = min(timed.get(name, float("inf")), time.monotonic() - t)
    ratio = timed["two versions"] / timed["one version"]
    print(
        f"  what-if tally, one version {timed['one version']:.2f}s, two versions {timed['two versions']:.2f}s: "
        f"{ratio:.2f}x"
    )
    out["what_if_two_versions_ratio"] = ratio
    return out


async def exports(pool: asyncpg.Pool) -> dict[str, float]:
    """The payout export as CSV and XLSX: time, size and the most Python memory held."""
    args = (None, None, None, None)

    async def csv_bytes() -> int:
        return sum([len(chunk) async for chunk in csv_chunks(pool, args)])

    async def xlsx_rows() -> tuple[int, float]:
        with tempfile.TemporaryDirectory() as tmp:
            rows = await write_workbook(pool, args, Path(tmp) / "payouts.xlsx")
            return rows, (Path(tmp) / "payouts.xlsx").stat().st_size / 1e6

    t = time.monotonic()
    size = await csv_bytes()
    csv_s = time.monotonic() - t
    t = time.monotonic()
    rows, xlsx_mb = await xlsx_rows()
    xlsx_s = time.monotonic() - t
    # Again under tracemalloc (slower): the most Python memory either export held at once.
    tracemalloc.start()
    await csv_bytes()
    _, csv_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    await xlsx_rows()
    _, xlsx_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"  payout export, {rows:,} rows: CSV {size / 1e6:.1f} MB in {csv_s:.1f}s, peak Python heap "
        f"{csv_peak / 1e6:.1f} MB; XLSX {xlsx_mb:.1f} MB in {xlsx_s:.1f}s, peak Python heap {xlsx_peak / 1e6:.1f} MB"
    )
    return {"export_rows": rows, "csv_peak_mb": csv_peak / 1e6, "xlsx_peak_mb": xlsx_peak / 1e6}


async def owed_screens(pool: asyncpg.Pool) -> dict[str, float]:
    """The approvals page's queries (count, total and the first 100 rows), median of 7."""
    screens = {
        "first screen (all owed)": OwedFilter(),
        "filter: rule": OwedFilter(rule=Rule.EQUITY_LISTING),
        "filter: role + basis month": OwedFilter(recipient_role=RecipientRole.OPERATOR, basis_month="2016-03"),
        "filter: amount range": OwedFilter(min_amount_cny=150_000, max_amount_cny=250_000),
        "search: part of a name": OwedFilter(text="企业 1234"),
        "search: part of a code": OwedFilter(text="00012345"),
        # Under three characters there is no trigram to look up: the search reads every row.
        "search: two characters": OwedFilter(text="天山"),
    }
    out = {}
    for label, f in screens.items():
        timings, doc = [], {}
        for _ in range(7):
            t = time.perf_counter()
            doc = await owed(pool, f, after=0, limit=100)
            timings.append((time.perf_counter() - t) * 1000)
        ms = statistics.median(timings)
        print(f"  approvals, {label}: {ms:.0f} ms for {doc['count']:,} owed payouts, {doc['total_cny']:,} CNY")
        out[f"owed_{label}_ms"] = ms
    return out


def main() -> None:
    stack("infra")
    try:
        asyncio.run(office_scale(DSN, int(os.environ.get("OFFICE_ENTERPRISES", "300000"))))
    finally:
        stack("down")


if __name__ == "__main__":
    main()
