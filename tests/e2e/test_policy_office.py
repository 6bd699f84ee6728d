"""The policy office's tools agree with the APIs they summarise, to the yuan."""

import csv
import html
import io
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
import openpyxl
import pytest

from services.awards.disbursement.adapters import payout_export
from shared.contract import topics
from shared.contract.labels_zh import ROLE_ZH
from simulator.__main__ import publish as publish_simulation
from simulator.history import Options
from tests.support import factories as f
from tests.support.auth import READER
from tests.support.browser import ARTIFACTS, DASHBOARD_DRAWN, LOOKUP_LOADED, as_reader, rendered
from tests.support.kafka_io import publish, wait_quiet
from tests.support.stack import ROOT, Stack

pytestmark = pytest.mark.e2e

GROUPS = {
    "registration": [topics.INTAKE],
    "awards": [topics.ENTERPRISE_EVENTS],
    "reporting": [topics.ENTERPRISE_EVENTS, topics.CARRIER_EVENTS, topics.AWARD_EVENTS],
}
METRIC_KEYS = (
    "new_enterprises",
    "jobs",
    "region_bases",
    "service_platforms",
    "resident_enterprises",
    "resident_jobs",
    "college_student_founders",
    "prefectures_with_base",
)


@dataclass(frozen=True)
class Office:
    stack: Stack
    late: str  # certified 18 months after graduation, in 2018 (no other test uses 2018)
    moved: str  # its award moved from an XJEE to an earlier NEEQ listing: two reversals


async def _get(client: httpx.AsyncClient, url: str) -> Any:
    r = await client.get(url)
    assert r.status_code == 200, (url, r.status_code, r.text[:300])
    return r.json()


@pytest.fixture(scope="module")
async def office(stack: Stack) -> Office:
    await publish_simulation(Options(year=2015, enterprises=400, seed=7), stack.bootstrap)
    operator, inc = f.new_uscc("650102"), f.new_id()
    late, moved = f.new_uscc("650102"), f.new_uscc("650203")
    await publish(
        stack.bootstrap,
        [
            f.incubator(inc, operator_uscc=operator, recognized_on="2015-04-20"),
            f.enterprise(late, registered_on="2016-03-01"),
            f.admitted(late, inc, "2016-05-03"),
            f.graduated(late, inc, "2017-06-30"),
            f.certified(late, "2018-12-28"),
            f.enterprise(moved, registered_on="2015-04-01", division="650203"),
            f.admitted(moved, inc, "2015-05-04"),
            f.listed(moved, "XJEE", "2015-09-01"),
        ],
    )
    await wait_quiet(stack.bootstrap, GROUPS)
    await publish(stack.bootstrap, [f.listed(moved, "NEEQ", "2015-08-03", code="830099")])
    await wait_quiet(stack.bootstrap, GROUPS)
    return Office(stack, late, moved)


@pytest.mark.parametrize("division", [None, "650100"])
async def test_the_monthly_series_at_the_milestones_equals_progress(
    office: Office, division: str | None, client: httpx.AsyncClient
) -> None:
    base = office.stack.url("reporting")
    q = f"&division={division}" if division else ""
    monthly = await _get(client, f"{base}/v1/progress/monthly?year=2015{q}")
    at = {m: await _get(client, f"{base}/v1/progress?year=2015&milestone={m}{q}") for m in ("mid_term", "annual")}
    year_end = await _get(client, f"{base}/v1/progress?year=2015{q}")
    assert monthly["month_ends"][6] == "2015-07-31" and monthly["month_ends"][10] == "2015-11-30"
    assert len(monthly["months"]) == 12
    for idx, doc in ((6, at["mid_term"]), (10, at["annual"]), (11, year_end)):
        assert {k: v["actual"][idx] for k, v in monthly["metrics"].items()} == {
            k: v["actual"] for k, v in doc["metrics"].items()
        }
        aw = monthly["awards"]
        assert sum(aw["issued_cny"][: idx + 1]) - sum(aw["reversed_cny"][: idx + 1]) == doc["awards"]["net_amount_cny"]
        assert sum(aw["issued"][: idx + 1]) - sum(aw["reversed"][: idx + 1]) == doc["awards"]["payouts"]
        assert sum(aw["reversed"][: idx + 1]) == doc["awards"]["reversals"]
    assert monthly["metrics"]["new_enterprises"]["actual"][6] > 0
    for key, m in monthly["metrics"].items():
        assert m["actual"] == sorted(m["actual"]), key  # cumulative
        target = year_end["metrics"][key]["target"]
        assert m["target"] == target
        if target is None:
            assert m["pace"] == [None] * 12
        elif key != "college_student_founders":
            assert m["pace"][11] == target  # the line reaches the target on 12-31
    if division is None:
        assert sum(monthly["awards"]["reversed"]) >= 2  # the moved listing's two reversals


async def test_the_milestone_workbook_holds_the_apis_numbers(office: Office, client: httpx.AsyncClient) -> None:
    base = office.stack.url("reporting")
    for milestone, query in (("mid_term", "&milestone=mid_term"), ("annual", "&milestone=annual"), ("to_date", "")):
        r = await client.get(f"{base}/v1/reports/2015/{milestone}.xlsx")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
        progress = await _get(client, f"{base}/v1/progress?year=2015{query}")
        divisions = await _get(client, f"{base}/v1/progress/divisions?year=2015{query}")
        book = openpyxl.load_workbook(io.BytesIO(r.content))
        assert book.sheetnames == ["目标完成情况", "各地州市", "奖励发放", "奖励兑付", "资金来源"]

        targets = book["目标完成情况"]
        assert targets.freeze_panes == "A2"
        rows = list(targets.iter_rows(values_only=True))
        assert rows[0] == ("指标", "指标代码", "目标", "完成", "完成率", "统计起", "统计止")
        assert {row[1]: row[2:] for row in rows[1:]} == {
            k: (v["target"], v["actual"], v["ratio"], v["period"]["from"], v["period"]["to"])
            for k, v in progress["metrics"].items()
        }
        assert targets["E2"].number_format == "0.0%"

        by_division = list(book["各地州市"].iter_rows(values_only=True))
        assert by_division[0][:3] == ("地州市代码", "地州市", "地级")
        assert by_division[0][3:11] == tuple(progress["metrics"][k]["label_zh"] for k in METRIC_KEYS)
        assert by_division[0][11:] == ("高新技术企业认定", "新疆股权交易中心挂牌", "新三板挂牌", "转板", "毕业出孵")
        expected = {
            d["division_code"]: (
                d["name_zh"],
                "是" if d["prefecture_level"] else "否",
                *(d["metrics"][k] for k in METRIC_KEYS),
                d["counters"]["high_tech_certifications"],
                d["counters"]["listings"]["XJEE"],
                d["counters"]["listings"]["NEEQ"],
                d["counters"]["board_transfers"],
                d["counters"]["graduations"],
            )
            for d in divisions["divisions"]
        }
        assert {row[0]: row[1:] for row in by_division[1:]} == expected

        awards = list(book["奖励发放"].iter_rows(values_only=True))
        assert awards[0] == (
            "奖励类型",
            "规则代码",
            "领取方",
            "月份",
            "发放笔数",
            "发放金额(元)",
            "撤销笔数",
            "撤销金额(元)",
            "净发放金额(元)",
        )
        net: dict[str, dict[str, int]] = {}
        payouts = reversals = 0
        for _, rule, role_zh, month, issued, issued_cny, reversed_, reversed_cny, net_cny in awards[1:]:
            assert re.fullmatch(r"2015-\d\d", month) and month <= progress["as_of"][:7]
            assert net_cny == issued_cny - reversed_cny
            role = {"孵化器运营方": "operator", "入孵企业": "enterprise"}[role_zh]
            net.setdefault(rule, {"operator": 0, "enterprise": 0})[role] += net_cny
            payouts += issued - reversed_
            reversals += reversed_
        assert net == progress["awards"]["by_rule"]
        assert (payouts, reversals) == (progress["awards"]["payouts"], progress["awards"]["reversals"])


async def test_the_payout_exports_add_up_to_the_summary(office: Office, client: httpx.AsyncClient) -> None:
    base = office.stack.url("awards")
    summary = await _get(client, f"{base}/v1/summary")
    r = await client.get(f"{base}/v1/payouts.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    xlsx = await client.get(f"{base}/v1/payouts.xlsx")
    listing = await client.get(f"{base}/v1/payouts.csv?rule=EQUITY_LISTING&status=reversed")
    year_2015 = await client.get(f"{base}/v1/payouts.csv?from=2015-01-01&to=2015-12-31&status=issued")
    backwards = await client.get(f"{base}/v1/payouts.csv?from=2016-01-01&to=2015-12-31")
    bad_rule = await client.get(f"{base}/v1/payouts.xlsx?rule=LOTTERY")
    assert len(rows) == summary["payouts_issued"]
    assert Counter(r["status"] for r in rows) == {
        "issued": summary["payouts_issued"] - summary["payouts_reversed"],
        "reversed": summary["payouts_reversed"],
    }
    assert sum(int(r["amount_cny"]) for r in rows if r["status"] == "issued") == summary["net_amount_cny"]
    reversed_cny = sum(v["reversed_cny"] for roles in summary["by_rule"].values() for v in roles.values())
    assert sum(int(r["amount_cny"]) for r in rows if r["status"] == "reversed") == reversed_cny
    moved = [r for r in rows if r["enterprise_uscc"] == office.moved]
    assert sorted((r["status"], r["basis_date"], r["recipient_role"]) for r in moved) == [
        ("issued", "2015-08-03", "enterprise"),
        ("issued", "2015-08-03", "operator"),
        ("reversed", "2015-09-01", "enterprise"),
        ("reversed", "2015-09-01", "operator"),
    ]
    assert [r for r in rows if not (r["explanation"] and r["recipient_name"])] == []
    assert all(r["reversal_reason"] for r in rows if r["status"] == "reversed")

    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True)["奖励发放明细"]
    cells = list(sheet.iter_rows(values_only=True))
    assert cells[0][:3] == ("付款编号", "领取方名称", "领取方统一社会信用代码")
    assert len(cells) - 1 == summary["payouts_issued"]
    assert sum(c[8] for c in cells[1:] if c[10] == "已发放") == summary["net_amount_cny"]
    assert {c[0] for c in cells[1:]} == {r["payout_id"] for r in rows}

    assert {c[3] for c in cells[1:]} == set(ROLE_ZH.values())  # codes shown in Chinese
    empty = await client.get(f"{base}/v1/payouts.xlsx?from=1990-01-01&to=1990-12-31")
    book = openpyxl.load_workbook(io.BytesIO(empty.content))["奖励发放明细"]
    assert [list(r) for r in book.iter_rows(values_only=True)] == [[zh for _, zh, _ in payout_export.COLUMNS]]
    assert (book.freeze_panes, book["A1"].font.b, book.column_dimensions["I"].width > 12) == ("A2", True, True)

    listed = list(csv.DictReader(io.StringIO(listing.content.decode("utf-8-sig"))))
    assert len(listed) == sum(v["reversed"] for v in summary["by_rule"]["EQUITY_LISTING"].values())
    in_2015 = list(csv.DictReader(io.StringIO(year_2015.content.decode("utf-8-sig"))))
    assert in_2015 and all(r["basis_date"].startswith("2015-") and r["status"] == "issued" for r in in_2015)
    assert len(in_2015) == sum(1 for r in rows if r["basis_date"].startswith("2015-") and r["status"] == "issued")
    assert backwards.status_code == 422 and "after" in backwards.json()["message"]
    assert bad_rule.status_code == 422


async def test_what_if_leaves_the_ledger_alone_and_answers_exactly(office: Office, client: httpx.AsyncClient) -> None:
    base = office.stack.url("awards")
    before = await _get(client, f"{base}/v1/summary")
    record = await _get(client, f"{base}/v1/enterprises/{office.late}/awards")
    same = (await client.post(f"{base}/v1/what-if", json={})).json()
    wider = (await client.post(f"{base}/v1/what-if", json={"high_tech_window_years": 2})).json()
    generous = (
        await client.post(
            f"{base}/v1/what-if",
            json={"listing_window_years": 3, "high_tech_window_years": 3, "effective_from": "2015-01-01"},
        )
    ).json()
    dearer = (await client.post(f"{base}/v1/what-if", json={"listing_cny": 300_000})).json()
    bad = await client.post(
        f"{base}/v1/what-if", json={"listing_window_years": -1, "high_tech_cny": -1, "effective_from": "2015-13-01"}
    )
    after = await _get(client, f"{base}/v1/summary")
    assert after == before

    assert [d["reason_code"] for d in record["declines"]] == ["OUTSIDE_WINDOW"]
    assert all(r["what_if"] == r["ledger"] for r in same["rows"])
    assert same["totals"]["what_if"] == same["totals"]["ledger"]
    assert same["totals"]["ledger"] == {
        "payouts": before["payouts_issued"] - before["payouts_reversed"],
        "amount_cny": before["net_amount_cny"],
    }

    in_2018 = {(r["rule"], r["recipient_role"]): r for r in wider["rows"] if r["basis_year"] == 2018}
    assert {k: (v["what_if"], v["ledger"]) for k, v in in_2018.items()} == {
        ("HIGH_TECH_CERTIFICATION", role): ({"payouts": 1, "amount_cny": 100_000}, {"payouts": 0, "amount_cny": 0})
        for role in ("operator", "enterprise")
    }
    # Counterfactual numbers apply to every region version; version 1 is the 2015 plan.
    assert wider["policy"][0]["window_years"]["HIGH_TECH_CERTIFICATION"] == 2
    assert wider["current_policy"][0]["window_years"]["HIGH_TECH_CERTIFICATION"] == 1

    def per_rule(doc: dict[str, Any], side: str) -> Counter[str]:
        out: Counter[str] = Counter()
        for r in doc["rows"]:
            out[r["rule"]] += r[side]["payouts"]
        return out

    for doc in (wider, generous):
        assert doc["totals"]["what_if"]["payouts"] >= doc["totals"]["ledger"]["payouts"]
        wide, led = per_rule(doc, "what_if"), per_rule(doc, "ledger")
        for rule in ("HIGH_TECH_CERTIFICATION", "EQUITY_LISTING"):
            assert wide[rule] >= led[rule], rule
    assert (
        per_rule(generous, "what_if")["HIGH_TECH_CERTIFICATION"]
        > per_rule(generous, "ledger")["HIGH_TECH_CERTIFICATION"]
    )
    for r in dearer["rows"]:
        expected = (
            300_000 if r["rule"] == "EQUITY_LISTING" else r["ledger"]["amount_cny"] // max(r["ledger"]["payouts"], 1)
        )
        assert r["what_if"]["payouts"] == r["ledger"]["payouts"]
        assert r["what_if"]["amount_cny"] == r["what_if"]["payouts"] * expected

    assert bad.status_code == 422
    assert sorted(e["loc"] for e in bad.json()["errors"]) == [
        "body.effective_from",
        "body.high_tech_cny",
        "body.listing_window_years",
    ]


def _what_if_cli(office: Office, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.awards", "what-if", *flags],
        cwd=ROOT,
        env=office.stack.process_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_what_if_cli_prints_the_same_totals(office: Office) -> None:
    out = _what_if_cli(office, "--high-tech-window-years", "2")
    assert out.returncode == 0, out.stderr
    url = f"{office.stack.url('awards')}/v1/what-if"
    api = httpx.post(url, json={"high_tech_window_years": 2}, headers=READER, timeout=120).json()
    t = api["totals"]
    total = next(line for line in out.stdout.splitlines() if line.startswith("total"))
    assert total.split()[1:] == [
        f"{t['what_if']['payouts']:,}",
        f"{t['what_if']['amount_cny']:,}",
        f"{t['ledger']['payouts']:,}",
        f"{t['ledger']['amount_cny']:,}",
    ]
    assert (
        "HIGH_TECH_CERTIFICATION   operator      2018          1         100,000         0               0"
        in out.stdout
    )
    assert "enterprises" in out.stderr  # the progress bar counts enterprises against a total
    bad = _what_if_cli(office, "--listing-window-years", "11")
    assert bad.returncode == 2
    assert bad.stderr.strip() == "--listing-window-years: Input should be less than or equal to 10"


async def test_the_dashboard_draws_the_trend_charts(office: Office) -> None:
    url = office.stack.url("reporting")
    dom = await rendered(as_reader(f"{url}/"), DASHBOARD_DRAWN, size=(1280, 2800), shot="dashboard-trends.png")
    assert 'data-trends="true"' in dom
    charts = set(re.findall(r'id="trend-(\w+)"[^>]*data-rendered="true"', dom))
    assert charts == set(METRIC_KEYS)
    assert re.search(r'id="award-chart"[^>]*data-rendered="true"', dom)
    assert dom.count("<svg") >= len(METRIC_KEYS) + 1
    assert dom.count("年中 07-31") >= len(METRIC_KEYS)  # the milestone marks, as SVG text
    assert f'href="{office.stack.url("awards")}/lookup"' in dom
    assert 'href="/v1/reports/2015/to_date.xlsx"' in dom
    assert (ARTIFACTS / "dashboard-trends.png").stat().st_size > 50_000


async def test_the_lookup_page_explains_an_enterprise(office: Office, client: httpx.AsyncClient) -> None:
    base = office.stack.url("awards")
    moved = await _get(client, f"{base}/v1/enterprises/{office.moved}/record")
    late = await _get(client, f"{base}/v1/enterprises/{office.late}/record")
    assert moved["enterprise"]["division_code"] == "650203"
    assert [s["admitted_on"] for s in moved["stints"]] == ["2015-05-04"]
    assert [(x["event_type"], x["on"]) for x in moved["facts"]] == [
        ("EnterpriseAdmitted", "2015-05-04"),
        ("ListedOnBoard", "2015-08-03"),
        ("ListedOnBoard", "2015-09-01"),
    ]
    assert moved["net_amount_cny"] == {"operator": 200_000, "enterprise": 200_000}

    dom = await rendered(
        as_reader(f"{base}/lookup?uscc={office.moved}"), LOOKUP_LOADED, size=(1280, 1400), shot="lookup.png"
    )
    assert 'data-loaded="true"' in dom
    for p in moved["payouts"]:
        assert html.escape(p["explanation"], quote=False) in dom
        if p["reversal_explanation"]:
            assert html.escape(p["reversal_explanation"], quote=False) in dom
    assert '<b data-net="operator">200,000</b>' in dom
    dom = await rendered(as_reader(f"{base}/lookup?uscc={office.late}"), LOOKUP_LOADED)
    assert html.escape(late["declines"][0]["explanation"], quote=False) in dom
