"""Reporting's projection and queries on the real PostgreSQL: exact numbers at window
edges, and identical progress for shuffled, duplicated, differently batched streams (G3)."""

import io
import random
import shutil
import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import openpyxl
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.reporting.domain.progress import milestone_date, window
from services.reporting.domain.projection import UNKNOWN_PREFECTURE
from services.reporting.service_layer.progress_queries import progress
from services.reporting.service_layer.projection import project
from shared.contract.incoming import Event, decode
from shared.process import db
from tests.support import factories as f
from tests.support.stack import ROOT, Infra

pytestmark = pytest.mark.integration
MIGRATIONS = ROOT / "services" / "reporting" / "migrations"
TODAY = date(2026, 11, 28)


async def _schema_pool(dsn: str) -> tuple[str, asyncpg.Pool]:
    schema = f"rpt_{uuid.uuid4().hex[:10]}"
    await db.migrate(dsn, schema=schema, directory=Path(MIGRATIONS))
    return schema, await db.create_pool(dsn, schema=schema, max_size=2)


@pytest.fixture
async def pools(infra: Infra) -> AsyncIterator[list[asyncpg.Pool]]:
    made = [await _schema_pool(infra.dsn) for _ in range(2)]
    yield [p for _, p in made]
    for schema, pool in made:
        await pool.close()
        conn = await asyncpg.connect(infra.dsn)
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn.close()


def envs(events: Iterable[dict[str, Any]]) -> list[Event]:
    """As the consumer reads them: decoded, the types reporting does not read left out."""
    return [e for e in (decode(orjson.dumps(event)) for event in events) if e is not None]


def award(event_type: str, uscc: str, payout_id: uuid.UUID, basis: str, amount: int, role: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "payout_id": str(payout_id),
        "rule": "HIGH_TECH_CERTIFICATION",
        "recipient_role": role,
        "recipient_uscc": uscc,
        "enterprise_uscc": uscc,
        "amount_cny": amount,
        "basis_event_id": str(uuid.uuid4()),
    }
    if event_type == "PayoutIssued":
        data |= {"recipient_name": "x", "incubator_id": "INC", "basis_date": basis}
    else:
        data |= {"reason_code": "OUTSIDE_WINDOW", "explanation": "…"}
    return f.envelope(event_type, data)


async def doc(pool: asyncpg.Pool, year: int, as_of: date | None, division: str | None = None) -> dict[str, Any]:
    return await progress(pool, window(year, as_of=as_of, today=TODAY), division)


async def test_exact_numbers_at_window_edges(pools: list[asyncpg.Pool]) -> None:
    pool = pools[0]
    a, b, c, op = f.new_uscc(), f.new_uscc("652101"), f.new_uscc(), f.new_uscc()
    p1, p2 = uuid.uuid4(), uuid.uuid4()
    events = [
        f.employment(a, 25, "2015-09-01"),  # arrives before the earlier report
        f.enterprise(a, registered_on="2015-03-01", employees=10, founders=2),
        f.employment(a, 15, "2015-06-01"),
        f.enterprise(b, registered_on="2015-12-31", division="652101", employees=4, founders=1),
        f.enterprise(c, registered_on="2016-01-01", employees=3),
        f.admitted(a, "INC-1", "2015-07-01") | {},
        f.incubator("INC-1", operator_uscc=op, level="region", recognized_on="2015-04-20"),
        f.incubator("INC-2", operator_uscc=op, level="county", division="652101", recognized_on="2015-08-01"),
        f.platform("PF-1", operator_uscc=op, recognized_on="2015-05-01"),
        f.certified(a, "2015-09-01"),
        f.listed(a, "XJEE", "2015-10-01"),
        award("PayoutIssued", a, p1, "2015-09-01", 100_000, "operator"),
        award("PayoutIssued", a, p2, "2015-09-01", 100_000, "enterprise"),
        award("PayoutReversed", a, p2, "2015-09-01", 100_000, "enterprise"),
    ]
    async with pool.acquire() as conn, conn.transaction():
        await project(conn, envs(events))

    mid = await doc(pool, 2015, milestone_date(2015, "mid_term"))
    assert mid["as_of"] == "2015-07-31"
    assert {k: v["actual"] for k, v in mid["metrics"].items()} == {
        "new_enterprises": 1,
        "jobs": 15,
        "region_bases": 1,
        "service_platforms": 1,
        "resident_enterprises": 1,
        "resident_jobs": 15,
        "college_student_founders": 2,
        "prefectures_with_base": 1,
    }
    assert mid["metrics"]["new_enterprises"] | {"actual": 1} == {
        "label_zh": "新增小微企业",
        "target": 3000,
        "actual": 1,
        "ratio": 0.0003,
        "period": {"from": "2015-01-01", "to": "2015-07-31"},
    }
    assert mid["awards"] == {
        "payouts": 0,
        "reversals": 0,
        "reversed_amount_cny": 0,
        "net_amount_cny": 0,
        "by_rule": {},
        "by_funding": {},
    }

    end = await doc(pool, 2015, None)
    assert {k: v["actual"] for k, v in end["metrics"].items()} == {
        "new_enterprises": 2,
        "jobs": 29,
        "region_bases": 1,
        "service_platforms": 1,
        "resident_enterprises": 1,
        "resident_jobs": 25,
        "college_student_founders": 3,
        "prefectures_with_base": 2,
    }
    assert end["counters"] == {
        "high_tech_certifications": 1,
        "listings": {"XJEE": 1, "NEEQ": 0},
        "board_transfers": 0,
        "graduations": 0,
    }
    assert end["awards"] == {
        "payouts": 1,
        "reversals": 1,
        "reversed_amount_cny": 100_000,
        "net_amount_cny": 100_000,
        "by_rule": {"HIGH_TECH_CERTIFICATION": {"operator": 100_000, "enterprise": 0}},
        "by_funding": {"650000": {"payouts": 1, "net_amount_cny": 100_000}},
    }

    turpan = await doc(pool, 2015, None, "650400")  # 652101 rolls up to 吐鲁番市
    assert turpan["metrics"]["new_enterprises"]["actual"] == 1 and turpan["metrics"]["jobs"]["actual"] == 4
    assert turpan["metrics"]["new_enterprises"]["target"] is None

    y2016 = await doc(pool, 2016, None)
    assert y2016["metrics"]["new_enterprises"]["actual"] == 1 and y2016["metrics"]["jobs"]["actual"] == 3
    assert y2016["metrics"]["college_student_founders"]["actual"] == 3  # the 2015-2017 period
    assert y2016["metrics"]["jobs"]["target"] is None


def random_history(rng: random.Random, n: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    divisions = ["650102", "652101", "650402", "653101", "659001", "652201"]
    op = f.new_uscc()
    for i in range(4):
        events.append(
            f.incubator(
                f"INC-R{i}",
                operator_uscc=op,
                level=rng.choice(["region", "county"]),
                division=rng.choice(divisions[:4]),
                recognized_on=f"2015-0{i + 1}-15",
            )
        )
    for _ in range(n):
        u = f.new_uscc()
        reg = date(2015, 1, 1) + timedelta(days=rng.randint(0, 700))
        events.append(
            f.enterprise(
                u,
                registered_on=reg.isoformat(),
                division=rng.choice(divisions),
                employees=rng.randint(0, 50),
                founders=rng.randint(0, 2),
            )
        )
        for _ in range(rng.randint(0, 3)):
            d = reg + timedelta(days=rng.randint(-30, 400))
            events.append(f.employment(u, rng.randint(0, 80), d.isoformat()))
        for _ in range(rng.randint(0, 2)):
            events.append(
                f.admitted(u, f"INC-R{rng.randint(0, 3)}", (reg + timedelta(days=rng.randint(0, 300))).isoformat())
            )
        if rng.random() < 0.3:
            events.append(f.certified(u, (reg + timedelta(days=rng.randint(0, 500))).isoformat()))
        if rng.random() < 0.3:
            pid = uuid.uuid4()
            basis = (reg + timedelta(days=rng.randint(0, 300))).isoformat()
            events.append(award("PayoutIssued", u, pid, basis, 200_000, "enterprise"))
            if rng.random() < 0.5:
                events.append(award("PayoutReversed", u, pid, basis, 200_000, "enterprise"))
    return events


async def _feed(pool: asyncpg.Pool, events: list[dict[str, Any]], sizes: list[int]) -> None:
    i, k = 0, 0
    while i < len(events):
        size = sizes[k % len(sizes)]
        async with pool.acquire() as conn, conn.transaction():
            await project(conn, envs(events[i : i + size]))
        i, k = i + size, k + 1


async def _reset(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        tables = [
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            if r["tablename"] not in ("targets", "outbox") and not r["tablename"].startswith(("_yoyo", "yoyo"))
        ]
        await conn.execute(f"TRUNCATE {', '.join(tables)}")


async def test_a_redelivered_event_counts_once_without_dedup_marks(pools: list[asyncpg.Pool]) -> None:
    """The stored rows are the dedup: the same events again, in the same batch or a later
    one, change no number."""
    pool = pools[0]
    op, ent = f.new_uscc(), f.new_uscc()
    inc, plat = f.new_id(), f.new_id("PLT")
    pid = uuid.uuid4()
    events = [
        f.incubator(inc, operator_uscc=op, recognized_on="2015-05-01"),
        f.platform(plat, operator_uscc=op, recognized_on="2015-05-02"),
        f.enterprise(ent, registered_on="2015-05-04", employees=7),
        f.employment(ent, 9, "2015-06-01"),
        f.admitted(ent, inc, "2015-05-10"),
        f.certified(ent, "2015-07-01"),
        award("PayoutIssued", ent, pid, "2015-07-01", 100_000, "enterprise"),
    ]
    async with pool.acquire() as conn, conn.transaction():
        await project(conn, envs(events + events))  # a redelivery inside one batch
    once = await doc(pool, 2015, None)
    for _ in range(2):  # and in later batches
        async with pool.acquire() as conn, conn.transaction():
            await project(conn, envs(reversed(events)))
    assert await doc(pool, 2015, None) == once
    assert {k: once["metrics"][k]["actual"] for k in ("region_bases", "service_platforms", "new_enterprises")} == {
        "region_bases": 1,
        "service_platforms": 1,
        "new_enterprises": 1,
    }
    assert once["metrics"]["jobs"]["actual"] == 9
    assert once["metrics"]["resident_enterprises"]["actual"] == 1
    assert once["counters"]["high_tech_certifications"] == 1
    assert once["awards"]["net_amount_cny"] == 100_000


HISTORY = random_history(random.Random(2015), 30)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_shuffled_duplicated_rebatched_streams_give_identical_progress(
    pools: list[asyncpg.Pool], data: st.DataObject
) -> None:
    events = HISTORY
    streams = []
    for _ in range(2):
        extra = data.draw(st.lists(st.sampled_from(events), max_size=20), label="duplicates")
        order = data.draw(st.permutations(events + extra), label="order")  # registrations may come last
        sizes = data.draw(st.lists(st.integers(1, 80), min_size=1, max_size=5), label="batch sizes")
        streams.append((order, sizes))
    for pool, (order, sizes) in zip(pools, streams, strict=True):
        await _reset(pool)
        await _feed(pool, order, sizes)
    for year in (2015, 2016):
        for as_of in (None, milestone_date(year, "mid_term"), milestone_date(year, "annual")):
            for division in (None, "650400", "659001", "650100"):
                assert await doc(pools[0], year, as_of, division) == await doc(pools[1], year, as_of, division)
    total = await doc(pools[0], 2015, None)
    assert total["metrics"]["new_enterprises"]["actual"] == sum(
        1 for e in events if e["event_type"] == "EnterpriseRegistered" and e["data"]["registered_on"] < "2016"
    )


async def test_contributions_of_the_old_shape_are_carried_over(
    infra: Infra, schema: str, schema_conn: asyncpg.Connection, tmp_path: Path
) -> None:
    """Upgrade: one row per (enterprise, metric, cohort, day) becomes one row per enterprise."""
    before = tmp_path / "before"
    before.mkdir()
    for sql in sorted(MIGRATIONS.glob("*.sql")):
        if sql.name < "0011_contributions_one_row_per_enterprise.sql":
            shutil.copy(sql, before / sql.name)
    await db.migrate(infra.dsn, schema=schema, directory=before)
    conn = schema_conn
    a, b = f.new_uscc(), f.new_uscc()
    await conn.copy_records_to_table(
        "enterprise_contributions",
        records=[
            (a, "650100", "jobs", 2015, date(2015, 6, 1), 2),
            (a, "650100", "new_enterprises", 2015, date(2015, 5, 4), 1),
            (a, "650100", "jobs", 2015, date(2015, 5, 4), 7),
            (b, UNKNOWN_PREFECTURE, "high_tech_certifications", 2015, date(2015, 7, 1), 1),
        ],
    )
    await db.migrate(infra.dsn, schema=schema, directory=MIGRATIONS)
    rows = await conn.fetch("SELECT uscc, prefecture, entries FROM contributions")
    assert sorted((r["uscc"], r["prefecture"], orjson.loads(r["entries"])) for r in rows) == sorted(
        [
            (
                a,
                "650100",
                [
                    ["jobs", 2015, "2015-05-04", 7],
                    ["jobs", 2015, "2015-06-01", 2],
                    ["new_enterprises", 2015, "2015-05-04", 1],
                ],
            ),
            (b, UNKNOWN_PREFECTURE, [["high_tech_certifications", 2015, "2015-07-01", 1]]),
        ]
    )
    assert await conn.fetchval("SELECT to_regclass('enterprise_contributions')") is None


async def test_awards_split_by_funding_top_ups_count_in_their_year_and_recoveries_come_off(
    pools: list[asyncpg.Pool],
) -> None:
    """An old PayoutIssued without funding reads as the region's; a prefecture's payout
    counts under its code; a top-up adds CNY (not a payout) to its award's basis year; a
    policy recovery takes its CNY off there, once however often it is delivered."""
    pool = pools[0]
    a = f.new_uscc()
    old, local, top_up = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    issued_local = award("PayoutIssued", a, local, "2015-11-02", 50_000, "operator")
    issued_local["data"] |= {"funding": "650100", "policy_version": 3}
    issued_top_up = award("PayoutIssued", a, top_up, "2015-09-01", 50_000, "operator")
    issued_top_up["data"] |= {"policy_version": 2, "top_up_of": str(old)}
    recovery = f.envelope(
        "ClawbackRaised",
        {
            "payout_id": str(old),
            "rule": "HIGH_TECH_CERTIFICATION",
            "recipient_role": "operator",
            "recipient_uscc": a,
            "enterprise_uscc": a,
            "amount_cny": 30_000,
            "reason_code": "AMENDED",
            "raised_on": "2016-03-01",
            "clawback_id": f"amended:4:{old}",
        },
    )
    events = [
        f.enterprise(a, registered_on="2015-03-01", employees=10),
        award("PayoutIssued", a, old, "2015-09-01", 100_000, "operator"),  # as written before versions
        issued_local,
        issued_top_up,
        recovery,
        recovery,
    ]
    async with pool.acquire() as conn, conn.transaction():
        await project(conn, envs(events))
    end = await doc(pool, 2015, None)
    assert end["awards"] == {
        "payouts": 2,
        "reversals": 0,
        "reversed_amount_cny": 0,
        "net_amount_cny": 170_000,
        "by_rule": {"HIGH_TECH_CERTIFICATION": {"operator": 170_000, "enterprise": 0}},
        "by_funding": {
            "650000": {"payouts": 1, "net_amount_cny": 120_000},
            "650100": {"payouts": 1, "net_amount_cny": 50_000},
        },
    }
    # The disbursement flows, split by whose budget pays: the prefecture's owes only its own.
    from services.reporting.service_layer.progress_queries import disbursement, milestone_report

    local_only = await disbursement(pool, 2015, None, "650100")
    assert [(r["month"], r["owed_cny"]) for r in local_only["rows"]] == [("2015-11", 50_000)]
    assert local_only["totals"]["owed_cny"] == 50_000
    book = openpyxl.load_workbook(io.BytesIO(await milestone_report(pool, window(2015, as_of=None, today=TODAY))))
    assert list(book["资金来源"].iter_rows(values_only=True)) == [
        ("资金来源代码", "资金来源", "发放笔数", "净发放金额(元)"),
        ("650000", "自治区", 1, 120_000),
        ("650100", "乌鲁木齐市", 1, 50_000),
    ]
