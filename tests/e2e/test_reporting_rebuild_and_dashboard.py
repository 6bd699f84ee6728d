"""G4: reporting rebuilt from offset 0 gives identical numbers; the dashboard shows them."""

import asyncio
import os
import re
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from services.reporting.entrypoints.progress_follow import follow
from shared.contract import topics
from shared.messaging.kafka_settings import KafkaSettings
from simulator.__main__ import publish as publish_simulation
from simulator.history import Options
from tests.support import factories as f
from tests.support.auth import READER
from tests.support.browser import ARTIFACTS, DASHBOARD_DRAWN, as_reader, rendered
from tests.support.http import http_client
from tests.support.kafka_io import publish, wait_quiet
from tests.support.stack import ROOT, TEST_STACK, Stack

pytestmark = pytest.mark.e2e

GROUPS = {
    "registration": [topics.INTAKE],
    "awards": [topics.ENTERPRISE_EVENTS],
    "reporting": [topics.ENTERPRISE_EVENTS, topics.CARRIER_EVENTS, topics.AWARD_EVENTS],
}


async def _snapshot(stack: Stack) -> dict[str, Any]:
    base = stack.url("reporting")
    views: dict[str, Any] = {}
    async with http_client(timeout=30, headers=READER) as client:
        for year in (2014, 2015, 2016):
            for q in ("", "&milestone=mid_term", "&milestone=annual", "&as_of=2015-06-30"):
                if year != 2015 and q.startswith("&as_of"):
                    continue
                views[f"progress {year}{q}"] = (await client.get(f"{base}/v1/progress?year={year}{q}")).json()
            views[f"divisions {year}"] = (await client.get(f"{base}/v1/progress/divisions?year={year}")).json()
        # Disbursement flows (test_disbursement's payments of 2016 and repayments of 2017).
        for year in (2015, 2016, 2017, date.today().year):
            views[f"disbursement {year}"] = (await client.get(f"{base}/v1/disbursement?year={year}")).json()
        for code in ("650100", "650400", "652101", "659001"):
            views[f"division {code}"] = (await client.get(f"{base}/v1/progress?year=2015&division={code}")).json()
        views["csv"] = (await client.get(f"{base}/v1/progress.csv?year=2015")).text
    return views


ProgressRows = dict[str, tuple[int, int | None, float | None, str]]


async def _api_rows(stack: Stack, years: set[int]) -> ProgressRows:
    """What /v1/progress and /v1/progress/divisions say, keyed as reporting.progress.v1 is."""
    rows: ProgressRows = {}
    async with http_client(timeout=30, headers=READER) as client:
        for year in years:
            p = (await client.get(f"{stack.url('reporting')}/v1/progress?year={year}")).json()
            for metric, m in p["metrics"].items():
                rows[f"{year}/{metric}/650000"] = (m["actual"], m["target"], m["ratio"], p["as_of"])
            d = (await client.get(f"{stack.url('reporting')}/v1/progress/divisions?year={year}")).json()
            for division in d["divisions"]:
                for metric, actual in division["metrics"].items():
                    rows[f"{year}/{metric}/{division['division_code']}"] = (actual, None, None, d["as_of"])
    return rows


async def _topic_rows(stack: Stack) -> ProgressRows:
    """The latest row of every key, read from offset 0 as a consumer starting now would."""
    latest = await follow(KafkaSettings(kafka_bootstrap_servers=stack.bootstrap), once=True, out=lambda _: None)
    return {k: (r["actual"], r["target"], r["ratio"], r["as_of"]) for k, r in latest.items()}


async def _converged(stack: Stack, timeout: float = 30) -> ProgressRows:
    """Wait until the topic says what the API says, for every year it carries."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        topic = await _topic_rows(stack)
        api = await _api_rows(stack, {int(k.split("/")[0]) for k in topic})
        if topic and topic == api:
            return topic
        if asyncio.get_running_loop().time() > deadline:
            assert topic == api
        await asyncio.sleep(0.5)


@pytest.fixture(scope="module")
async def simulated(stack: Stack) -> Stack:
    await publish_simulation(Options(year=2015, enterprises=400, seed=7), stack.bootstrap)
    await wait_quiet(stack.bootstrap, GROUPS)
    return stack


async def test_rebuild_from_offset_zero_gives_identical_numbers(simulated: Stack) -> None:
    stack = simulated
    before = await _snapshot(stack)
    assert before["progress 2015"]["metrics"]["new_enterprises"]["actual"] >= 400
    topic_before = await _converged(stack)
    assert (
        topic_before["2015/new_enterprises/650000"][0]
        == before["progress 2015"]["metrics"]["new_enterprises"]["actual"]
    )

    pid = stack.pid("reporting")
    os.killpg(pid, signal.SIGTERM)
    while Path(f"/proc/{pid}").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z":
        await asyncio.sleep(0.1)
    # As the operator: stack.env's database role is the migration role, which owns the schema.
    operator = dict(line.split("=", 1) for line in (TEST_STACK / "stack.env").read_text().splitlines())
    out = subprocess.run(
        [sys.executable, "-m", "services.reporting", "rebuild"],
        cwd=ROOT,
        env={**stack.process_env(), "DATABASE_URL": operator["DATABASE_URL"]},
        capture_output=True,
        text=True,
        check=True,
    )
    assert re.search(r"offsets of \d+ partitions reset to 0", out.stdout)
    stack.up()
    await wait_quiet(stack.bootstrap, {"reporting": GROUPS["reporting"]})

    after = await _snapshot(stack)
    assert after.keys() == before.keys()
    for view in before:
        assert after[view] == before[view], view
    # reporting.progress.v1 republished from scratch and converged to the same rows.
    assert await _converged(stack) == topic_before


async def test_the_follower_prints_a_line_when_a_number_changes(simulated: Stack) -> None:
    """Live: one more 2015 registration moves the region's new_enterprises by one, and the
    running follower prints that row."""
    rows = await _converged(simulated)
    before, jobs = rows["2015/new_enterprises/650000"][0], rows["2015/jobs/650000"][0]
    follower = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "services.reporting", "follow", "--year", "2015", "--division", "650000"],
        cwd=ROOT,
        env={**os.environ, **simulated.env},
        stdout=asyncio.subprocess.PIPE,
    )
    assert follower.stdout is not None

    async def line() -> list[str]:
        assert follower.stdout is not None
        return (await asyncio.wait_for(follower.stdout.readline(), timeout=60)).decode().split()

    try:
        table = []
        while (row := await line())[:2] != ["--", "following"]:  # the current table, then the marker
            table.append(row)
        assert [row[:4] for row in table if row[2] == "new_enterprises"] == [
            ["2015", "650000", "new_enterprises", f"{before:,}"]
        ]
        await publish(simulated.bootstrap, [f.enterprise(f.new_uscc(), registered_on="2015-05-04")])
        changed = [await line() for _ in range(2)]  # its jobs row moves too (10 employees)
        assert sorted(row[:4] for row in changed) == [
            ["2015", "650000", "jobs", f"{jobs + 10:,}"],
            ["2015", "650000", "new_enterprises", f"{before + 1:,}"],
        ]
    finally:
        follower.terminate()
        await follower.wait()


async def test_a_late_consumer_reads_the_latest_progress_of_every_key(
    simulated: Stack, client: httpx.AsyncClient
) -> None:
    """The example follower, started after everything was published, prints the region's
    2015 rows exactly as /v1/progress has them; the topic is compacted."""
    expected = await _converged(simulated)
    years = {int(k.split("/")[0]) for k in expected}
    assert {2015, 2016, 2017} <= years  # the targets' years (college students run 2015–2017)
    assert len(expected) == len(years) * 8 * 24  # 8 targeted metrics x (region + 23 divisions)
    out = subprocess.run(
        [sys.executable, "-m", "services.reporting", "follow", "--year", "2015", "--division", "650000", "--once"],
        cwd=ROOT,
        env={**os.environ, **simulated.env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.splitlines()
    progress = (await client.get(f"{simulated.url('reporting')}/v1/progress?year=2015")).json()
    want = sorted(progress["metrics"])
    assert [line.split()[:3] for line in out] == [["2015", "650000", m] for m in want]
    for line, metric in zip(out, want, strict=True):
        m = progress["metrics"][metric]
        assert line.split()[3] == f"{m['actual']:,}"
        assert line.split()[5] == f"{m['target']:,}"
        assert line.split()[6] == f"{m['ratio']:.1%}"
    admin = AIOKafkaAdminClient(bootstrap_servers=simulated.bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topics.PROGRESS)])
        configs = {entry[0]: entry[1] for resource in described.resources for entry in resource[4]}
    finally:
        await admin.close()
    assert configs["cleanup.policy"] == "compact"


async def test_dashboard_renders_the_numbers_of_the_api(simulated: Stack, client: httpx.AsyncClient) -> None:
    url = simulated.url("reporting")
    dom = await rendered(as_reader(f"{url}/"), DASHBOARD_DRAWN, size=(1280, 2800), shot="dashboard-desktop.png")
    assert 'data-loaded="true"' in dom
    shown = {
        m: int(v.replace(",", ""))
        for m, v in re.findall(r'<span class="actual" data-metric="(\w+)">([\d,]+)</span>', dom)
    }
    api = (await client.get(f"{url}/v1/progress?year=2015")).json()
    assert shown == {k: v["actual"] for k, v in api["metrics"].items()}
    awards = {k: int(v.replace(",", "")) for k, v in re.findall(r'<b data-award="(\w+)">([\d,]+)</b>', dom)}
    assert awards["payouts"] == api["awards"]["payouts"]
    assert awards["net_amount_cny"] == api["awards"]["net_amount_cny"]
    assert awards["high_tech_certifications"] == api["counters"]["high_tech_certifications"]
    rows = re.findall(r'<tr data-division="(\d{6})">', dom)
    assert len(rows) == 23 and len(set(rows)) == 23  # 14 prefectures + 9 region-level cities
    await rendered(as_reader(f"{url}/"), DASHBOARD_DRAWN, size=(390, 4200), shot="dashboard-phone.png")
    for name in ("dashboard-desktop.png", "dashboard-phone.png"):
        assert (ARTIFACTS / name).stat().st_size > 10_000


async def test_without_sign_in_the_dashboard_shows_the_targets_and_no_money(
    simulated: Stack, client: httpx.AsyncClient
) -> None:
    """The local stack opens aggregate progress (PUBLIC_PROGRESS=true); money stays a reader's."""
    url = simulated.url("reporting")
    async with http_client(timeout=30) as anonymous:
        public = (await anonymous.get(f"{url}/v1/progress?year=2015")).json()
        monthly = (await anonymous.get(f"{url}/v1/progress/monthly?year=2015")).json()
        money = await anonymous.get(f"{url}/v1/disbursement?year=2015")
        workbook = await anonymous.get(f"{url}/v1/reports/2015/to_date.xlsx")
    signed_in = (await client.get(f"{url}/v1/progress?year=2015")).json()
    assert public == {**signed_in, "awards": None}
    assert signed_in["awards"]["payouts"] > 0
    assert monthly["awards"] is None
    assert (money.status_code, workbook.status_code) == (401, 401)
    dom = await rendered(f"{url}/", DASHBOARD_DRAWN)
    assert 'data-loaded="true"' in dom and 'data-trends="true"' in dom
    shown = {
        m: int(v.replace(",", ""))
        for m, v in re.findall(r'<span class="actual" data-metric="(\w+)">([\d,]+)</span>', dom)
    }
    assert shown == {k: v["actual"] for k, v in public["metrics"].items()}
    kpis = set(re.findall(r'<b data-award="(\w+)">', dom))
    assert kpis == {"high_tech_certifications", "listings_xjee", "listings_neeq", "board_transfers"}
    body = dom.split("<script", 1)[0]  # the rendered page, not the script's own text
    for where in ('id="awards"', 'id="award-chart"', 'id="disbursement"'):  # each shows the lock, not money
        after = body.split(where, 1)[1].split("</section>", 1)[0]
        assert "登录后显示金额" in after, where
    assert "未登录 not signed in" in dom
