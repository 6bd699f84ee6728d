"""G4: reporting rebuilt from offset 0 gives identical numbers; the dashboard shows them."""

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared import topics
from simulator.__main__ import publish as publish_simulation
from simulator.history import Options
from tests.conftest import ROOT, Stack
from tests.support.browser import chromium, screenshot
from tests.support.kafka_io import wait_quiet

pytestmark = pytest.mark.e2e

GROUPS = {
    "registration": [topics.INTAKE],
    "awards": [topics.ENTERPRISE_EVENTS],
    "reporting": [topics.ENTERPRISE_EVENTS, topics.CARRIER_EVENTS, topics.AWARD_EVENTS],
}


async def _snapshot(stack: Stack) -> dict[str, Any]:
    base = stack.url("reporting")
    views: dict[str, Any] = {}
    async with httpx.AsyncClient(timeout=30) as client:
        for year in (2014, 2015, 2016):
            for q in ("", "&milestone=mid_term", "&milestone=annual", "&as_of=2015-06-30"):
                if year != 2015 and q.startswith("&as_of"):
                    continue
                views[f"progress {year}{q}"] = (await client.get(f"{base}/v1/progress?year={year}{q}")).json()
            views[f"divisions {year}"] = (await client.get(f"{base}/v1/progress/divisions?year={year}")).json()
        for code in ("650100", "650400", "652101", "659001"):
            views[f"division {code}"] = (await client.get(f"{base}/v1/progress?year=2015&division={code}")).json()
        views["csv"] = (await client.get(f"{base}/v1/progress.csv?year=2015")).text
    return views


@pytest.fixture(scope="module")
async def simulated(stack: Stack) -> Stack:
    await publish_simulation(Options(year=2015, enterprises=400, seed=7), stack.bootstrap)
    await wait_quiet(stack.bootstrap, GROUPS)
    return stack


async def test_rebuild_from_offset_zero_gives_identical_numbers(simulated: Stack) -> None:
    stack = simulated
    before = await _snapshot(stack)
    assert before["progress 2015"]["metrics"]["new_enterprises"]["actual"] >= 400

    pid = stack.pid("reporting")
    os.killpg(pid, signal.SIGTERM)
    while Path(f"/proc/{pid}").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z":
        await asyncio.sleep(0.1)
    out = subprocess.run(
        [sys.executable, "-m", "services.reporting", "rebuild"],
        cwd=ROOT,
        env={**os.environ, **stack.env},
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


async def test_dashboard_renders_the_numbers_of_the_api(simulated: Stack) -> None:
    url = simulated.url("reporting")
    dom = chromium("--dump-dom", f"{url}/")
    assert 'data-loaded="true"' in dom
    shown = {
        m: int(v.replace(",", ""))
        for m, v in re.findall(r'<span class="actual" data-metric="(\w+)">([\d,]+)</span>', dom)
    }
    async with httpx.AsyncClient(timeout=30) as client:
        api = (await client.get(f"{url}/v1/progress?year=2015")).json()
    assert shown == {k: v["actual"] for k, v in api["metrics"].items()}
    awards = {k: int(v.replace(",", "")) for k, v in re.findall(r'<b data-award="(\w+)">([\d,]+)</b>', dom)}
    assert awards["payouts"] == api["awards"]["payouts"]
    assert awards["net_amount_cny"] == api["awards"]["net_amount_cny"]
    assert awards["high_tech_certifications"] == api["counters"]["high_tech_certifications"]
    rows = re.findall(r'<tr data-division="(\d{6})">', dom)
    assert len(rows) == 23 and len(set(rows)) == 23  # 14 prefectures + 9 region-level cities
    for name, size in (("dashboard-desktop.png", "1280,2800"), ("dashboard-phone.png", "390,4200")):
        assert screenshot(f"{url}/", name, size).stat().st_size > 10_000
