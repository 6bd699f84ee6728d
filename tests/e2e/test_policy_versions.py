"""Policy versions through the running services: drafted and adopted over HTTP by two
people, applied to facts that arrive over Kafka afterwards, announced on the award log;
and awards refusing to start while an old policy variable is set.

The version here starts in 2025, a year no other test's facts reach, so the suite's other
ledgers stay under the 2015 plan alone (which is the point: a number typed in for the
future moves nothing in the past)."""

import asyncio
import os
import subprocess
import sys
from typing import Any

import asyncpg
import httpx
import pytest

from shared.contract import topics
from tests.support import factories as f
from tests.support.auth import bearer
from tests.support.http import eventually
from tests.support.kafka_io import publish, read_all, value_json
from tests.support.stack import ROOT, TEST_STACK, Stack, alive

pytestmark = pytest.mark.e2e
DORA = bearer("dora", "approver")
ADAM = bearer("adam", "approver")
AMENDMENT_2025 = {
    "jurisdiction": "650000",
    "effective_from": "2025-01-01",
    "amounts_cny": {
        "HIGH_TECH_CERTIFICATION": {"operator": 150_000, "enterprise": 150_000},
        "EQUITY_LISTING": {"operator": 200_000, "enterprise": 200_000},
        "BOARD_TRANSFER": {"operator": 100_000, "enterprise": 100_000},
    },
    "window_years": {"HIGH_TECH_CERTIFICATION": 1, "EQUITY_LISTING": 2},
    "document": {
        "issuer": "新疆维吾尔自治区人民政府办公厅",
        "title": "关于调整高新技术企业认定奖励的通知",
        "issued_on": "2024-12-01",
    },
}


async def awards_of(client: httpx.AsyncClient, stack: Stack, uscc: str) -> list[tuple[str, str, int, int]]:
    r = await client.get(f"{stack.url('awards')}/v1/enterprises/{uscc}/awards")
    if r.status_code != 200:
        return []
    return sorted(
        (p["rule"], p["recipient_role"], p["amount_cny"], p["policy_version"])
        for p in r.json()["payouts"]
        if p["status"] == "issued"
    )


async def test_a_version_drafted_and_adopted_over_http_rates_the_facts_that_follow(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    operator, inc = f.new_uscc("650102"), f.new_id()
    early, late = f.new_uscc("650102"), f.new_uscc("650102")
    await publish(
        stack.bootstrap,
        [
            f.incubator(inc, operator_uscc=operator, recognized_on="2015-04-20"),
            f.enterprise(early, registered_on="2024-01-02"),
            f.enterprise(late, registered_on="2024-01-02"),
            f.admitted(early, inc, "2024-06-01"),
            f.admitted(late, inc, "2024-06-01"),
            f.certified(early, "2024-12-31"),
        ],
    )
    before = await eventually(lambda: awards_of(client, stack, early), lambda a: len(a) == 2)
    assert before == [
        ("HIGH_TECH_CERTIFICATION", "enterprise", 100_000, 1),
        ("HIGH_TECH_CERTIFICATION", "operator", 100_000, 1),
    ]

    awards = stack.url("awards")
    drafted = await client.post(f"{awards}/v1/policy/versions", json=AMENDMENT_2025, headers=DORA)
    assert drafted.status_code == 201, drafted.text
    version = drafted.json()["version_id"]
    assert drafted.json()["status"] == "draft" and drafted.json()["drafted_by"] == "dora"
    # A reader may not draft; the drafter may not adopt; a prefecture code it is not is named.
    assert (await client.post(f"{awards}/v1/policy/versions", json=AMENDMENT_2025)).status_code == 403
    bad = await client.post(
        f"{awards}/v1/policy/versions", json={**AMENDMENT_2025, "jurisdiction": "659001"}, headers=DORA
    )
    assert bad.status_code == 422 and bad.json()["errors"] == [
        {"loc": "jurisdiction", "msg": "659001 is neither the region (650000) nor one of its 14 prefectures"},
        {"loc": "window_years", "msg": "a prefecture's awards follow the region's decision: it sets no window"},
    ]
    preview = await client.post(f"{awards}/v1/what-if", json={"draft_version": version}, headers=ADAM)
    assert preview.status_code == 200, preview.text
    digest = preview.json()["summary"]["digest"]
    assert preview.json()["summary"]["affected"] == 0  # nothing dated from 2025 yet
    own = await client.post(
        f"{awards}/v1/policy/versions/{version}/adoption", json={"seen_digest": digest}, headers=DORA
    )
    assert own.status_code == 403 and "four eyes" in own.json()["message"]
    adopted = await client.post(
        f"{awards}/v1/policy/versions/{version}/adoption", json={"seen_digest": digest}, headers=ADAM
    )
    assert adopted.status_code == 200, adopted.text
    assert adopted.json()["version"]["adopted_by"] == "adam"

    await publish(stack.bootstrap, [f.certified(late, "2025-01-02"), f.listed(early, "XJEE", "2025-02-01")])
    assert await eventually(lambda: awards_of(client, stack, late), lambda a: len(a) == 2) == [
        ("HIGH_TECH_CERTIFICATION", "enterprise", 150_000, version),
        ("HIGH_TECH_CERTIFICATION", "operator", 150_000, version),
    ]
    assert await eventually(lambda: awards_of(client, stack, early), lambda a: len(a) == 4) == [
        ("EQUITY_LISTING", "enterprise", 200_000, version),
        ("EQUITY_LISTING", "operator", 200_000, version),
        ("HIGH_TECH_CERTIFICATION", "enterprise", 100_000, 1),  # 2024: not re-rated
        ("HIGH_TECH_CERTIFICATION", "operator", 100_000, 1),
    ]

    async def announced() -> list[dict[str, Any]]:
        records = await read_all(stack.bootstrap, topics.AWARD_EVENTS)
        return [
            value_json(r) | {"key": r.key.decode() if r.key else None}
            for r in records
            if value_json(r).get("event_type") == "PolicyVersionAdopted"
        ]

    [event] = [e for e in await eventually(announced, bool) if e["data"]["version_id"] == version]
    assert event["key"] == "650000"
    assert (event["data"]["effective_from"], event["data"]["drafted_by"], event["data"]["adopted_by"]) == (
        "2025-01-01",
        "dora",
        "adam",
    )
    listed = (await client.get(f"{awards}/v1/policy/versions")).json()
    assert [(v["version_id"], v["status"]) for v in listed["versions"]][:1] == [(1, "adopted")]
    assert (version, "adopted") in [(v["version_id"], v["status"]) for v in listed["versions"]]


def test_awards_refuses_to_start_while_a_policy_variable_is_set() -> None:
    env = {**os.environ, "AWARD_HIGH_TECH_CNY": "150000", "AWARDS_PORT": "18992"}
    run = subprocess.run(
        [sys.executable, "-m", "services.awards"],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0
    assert "AWARD_HIGH_TECH_CNY no longer set the policy" in run.stderr
    assert "python -m services.awards policy-from-env" in run.stderr


async def test_awards_killed_during_an_adoptions_re_decisions_finishes_them_after_the_restart_each_payout_once(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    """A plan for 喀什 (653100) from 2023-01-01 adds 40,000 to each listing: 300 enterprises
    listed in 2023 are re-decided in batches of 50; awards is killed after the first batch
    commits, and finishes the rest once restarted."""
    operator, inc = f.new_uscc("653101"), f.new_id()
    usccs = [f.new_uscc("653101") for _ in range(300)]
    events = [f.incubator(inc, operator_uscc=operator, division="653101", recognized_on="2022-01-04")]
    for u in usccs:
        events += [
            f.enterprise(u, registered_on="2022-03-01", division="653101"),
            f.admitted(u, inc, "2022-06-01"),
            f.listed(u, "XJEE", "2023-03-01"),
        ]
    await publish(stack.bootstrap, events)

    async def region_paid() -> int:
        conn = await asyncpg.connect(stack.dsn)
        try:
            n: int = await conn.fetchval(
                "SELECT count(*) FROM awards.payouts WHERE enterprise_uscc = ANY($1) AND status = 'issued'", usccs
            )
            return n
        finally:
            await conn.close()

    assert await eventually(region_paid, lambda n: n == 600, timeout=90) == 600
    plan = {
        "jurisdiction": "653100",
        "effective_from": "2023-01-01",
        "amounts_cny": {"EQUITY_LISTING": {"operator": 40_000, "enterprise": 40_000}},
        "document": {
            "issuer": "喀什地区行政公署",
            "title": "喀什地区大众创业万众就业实施方案",
            "issued_on": "2022-12-01",
        },
    }
    awards = stack.url("awards")
    drafted = (await client.post(f"{awards}/v1/policy/versions", json=plan, headers=DORA)).json()
    preview = (
        await client.post(f"{awards}/v1/what-if", json={"draft_version": drafted["version_id"]}, headers=ADAM)
    ).json()
    assert (preview["summary"]["new_awards"], preview["summary"]["new_awards_cny"]) == (600, 24_000_000)
    flag = TEST_STACK / "crash-awards-redecision"
    flag.write_text("once")
    old_pid = stack.pid("awards")
    adopted = await client.post(
        f"{awards}/v1/policy/versions/{drafted['version_id']}/adoption",
        json={"seen_digest": preview["summary"]["digest"]},
        headers=ADAM,
    )
    assert adopted.status_code == 200 and adopted.json()["queued_redecisions"] == 300

    async def gone() -> bool:
        return not flag.exists()

    assert await eventually(gone, bool, timeout=30), "awards never reached the failpoint"
    # The failpoint removes its flag, then kills its own process: a moment apart under load.
    assert await eventually(lambda: asyncio.sleep(0, not alive(old_pid)), bool, timeout=10)
    stack.up()

    async def local_payouts() -> tuple[int, int, int]:
        conn = await asyncpg.connect(stack.dsn)
        try:
            row = await conn.fetchrow(
                "SELECT count(*) FILTER (WHERE funding = '653100' AND status = 'issued') AS local, "
                "count(*) FILTER (WHERE status = 'reversed') AS reversed, "
                "(SELECT count(*) FROM awards.policy_redecisions) AS queued "
                "FROM awards.payouts WHERE enterprise_uscc = ANY($1)",
                usccs,
            )
            return row["local"], row["reversed"], row["queued"]
        finally:
            await conn.close()

    assert await eventually(local_payouts, lambda r: r == (600, 0, 0), timeout=90) == (600, 0, 0)
    reporting = stack.url("reporting")

    async def by_funding() -> dict[str, Any]:
        r = await client.get(f"{reporting}/v1/progress", params={"year": 2023, "division": "653100"})
        return dict(r.json()["awards"]["by_funding"]) if r.status_code == 200 else {}

    want = {
        "650000": {"payouts": 600, "net_amount_cny": 120_000_000},
        "653100": {"payouts": 600, "net_amount_cny": 24_000_000},
    }
    assert await eventually(by_funding, lambda b: b == want, timeout=60) == want
