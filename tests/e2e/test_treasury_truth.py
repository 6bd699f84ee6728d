"""The books follow the money through the running services: a released line is recalled,
never cancelled, and a recalled payout the bank paid anyway is clawed back, as reporting
and the dashboard show; cancellations and recalls are events once, even under kill -9.
The treasury's use cases are proven in-process in tests/integration/test_treasury_books.py."""

import asyncio
import io
import re
import time
from typing import Any

import httpx
import openpyxl
import pytest

from shared.contract import topics
from stack.handle import wait_gone
from tests.support.browser import DASHBOARD_DRAWN, as_reader, rendered
from tests.support.disbursement import (
    ALICE,
    BOB,
    CAROL,
    HEADER,
    READER,
    approve,
    award_events,
    awarded,
    call,
    confirm,
    disbursement_rows,
    graduated_early,
    held_ids,
    released_batch,
    second_person_confirms,
)
from tests.support.http import eventually
from tests.support.kafka_io import publish
from tests.support.stack import TEST_STACK, Stack

pytestmark = pytest.mark.e2e
KINDS = ("owed", "approved", "cancelled", "paid", "clawed_back", "recovered")


async def at_stage(stack: Stack, stage: str) -> set[str]:
    r = await call(stack, "GET", "/v1/disbursement/payouts", READER, params={"stage": stage, "limit": 1000})
    return {p["payout_id"] for p in r.json()["payouts"]}


async def position(stack: Stack, uscc: str) -> dict[str, Any]:
    r = await call(stack, "GET", f"/v1/recipients/{uscc}/position", READER)
    body: dict[str, Any] = r.json()
    return body


async def exceptions_of(stack: Stack, sha256: str, status: str | None = None) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"limit": 1000} | ({"status": status} if status else {})
    r = await call(stack, "GET", "/v1/treasury-exceptions", READER, params=params)
    return [e for e in r.json()["exceptions"] if e["file_sha256"] == sha256]


async def recalled(stack: Stack, division: str) -> tuple[str, str, list[dict[str, Any]], str]:
    """An award approved, batched and released, then reversed by a late graduation."""
    uscc, operator, payouts, inc = await awarded(stack, division)
    ids = [p["payout_id"] for p in payouts]
    assert await approve(stack, ids) == ["approved", "approved"]
    await released_batch(stack, ids)
    await publish(stack.bootstrap, [graduated_early(uscc, inc, operator, division)], topic=topics.ENTERPRISE_EVENTS)
    assert set(ids) <= await eventually(lambda: at_stage(stack, "recall_requested"), lambda s: set(ids) <= s)
    return uscc, operator, payouts, inc


async def test_a_recalled_payout_paid_anyway_is_clawed_back_and_one_returned_is_cancelled(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    uscc, operator, payouts, _ = await recalled(stack, "652901")
    mine, theirs = (p["payout_id"] for p in payouts)  # the enterprise's, the operator's
    assert await at_stage(stack, "cancelled") & {mine, theirs} == set()

    answer = await confirm(
        stack,
        HEADER + f"{mine},paid,100000,2016-11-02,BANK-T1\n{theirs},returned,100000,2016-11-02,RET-T1\n",
    )
    assert [(x["outcome"], x["message"]) for x in answer["lines"]] == [
        ("paid_after_recall", f"100000 CNY paid although recalled; clawback reversal:{mine} raised"),
        (
            "return_held",
            "the bank says it stopped the payment: held until a second person confirms; the recall stands",
        ),
    ]
    assert (answer["changed"], answer["held_for_confirmation"], answer["exceptions_opened"]) == (1, 1, 0)
    assert theirs in await at_stage(stack, "recall_requested")  # one treasurer alone ends no recall
    assert await second_person_confirms(stack, answer) == ["returned"]
    assert await position(stack, uscc) == {
        "recipient_uscc": uscc,
        "paid_cny": 100_000,
        "clawed_back_cny": 100_000,
        "recovered_cny": 0,
        "outstanding_clawback_cny": 100_000,
        "held_for_confirmation_cny": 0,
        "net_cny": 100_000,
    }
    assert (await position(stack, operator))["paid_cny"] == 0  # returned: nothing counted paid
    assert theirs in await at_stage(stack, "cancelled")

    # bob (treasurer and approver) imports the repayment: alone he settles nothing.
    repaid = HEADER + f"{mine},recovered,100000,2017-01-10,BACK-T1\n"
    settle = await confirm(stack, repaid, who=BOB)
    assert [x["outcome"] for x in settle["lines"]] == ["settlement_held"]
    alone = await position(stack, uscc)
    assert [alone[k] for k in ("recovered_cny", "outstanding_clawback_cny", "held_for_confirmation_cny")] == [
        0,
        100_000,
        100_000,
    ]
    (held,) = held_ids(settle)
    own = await call(stack, "POST", f"/v1/held-lines/{held}/confirmation", BOB)
    assert (own.status_code, own.json()["message"]) == (
        403,
        "four eyes: bob imported this line and cannot also decide it",
    )
    assert (await call(stack, "POST", f"/v1/held-lines/{held}/confirmation", CAROL)).status_code == 403  # no approver
    assert (await confirm(stack, repaid, who=BOB))["lines"][0]["outcome"] == "already_held"
    assert await second_person_confirms(stack, settle) == ["settled"]
    twice = await call(stack, "POST", f"/v1/held-lines/{held}/confirmation", ALICE)
    assert (twice.status_code, twice.json()["message"]) == (409, f"held line {held} was confirmed by alice already")
    again = await confirm(stack, repaid, who=BOB)
    assert ([x["outcome"] for x in again["lines"]], again["changed"], again["held_for_confirmation"]) == (
        ["already_settled"],
        0,
        0,
    )
    assert (await position(stack, uscc))["net_cny"] == 0
    trail = (await call(stack, "GET", "/v1/audit", READER, params={"subject": mine, "limit": 100})).json()["entries"]
    settled = [e for e in trail if e["action"] == "clawback.settle"]
    assert [(e["actor"], e["detail"]["imported_by"], e["detail"]["confirmed_by"]) for e in settled] == [
        ("alice", "bob", "alice")
    ]

    events = await award_events(stack, uscc, settle=1.5)
    assert {k: events[k] for k in ("PayoutRecallRequested", "PayoutPaid", "ClawbackRaised", "PayoutCancelled")} == {
        "PayoutRecallRequested": 2,
        "PayoutPaid": 1,
        "ClawbackRaised": 1,
        "PayoutCancelled": 1,
    }
    assert events["ClawbackSettled"] == 1

    # Reporting: paid in 2016-11 in Aksu (652900); the cancellation on its own day, in the
    # current year, and the dashboard and the workbook agree with /v1/disbursement.
    paid = await eventually(
        lambda: disbursement_rows(stack, 2016), lambda d: d.get(("2016-11", "652900"), {}).get("paid_cny") == 100_000
    )
    assert paid[("2016-11", "652900")]["paid_cny"] == 100_000
    today = time.strftime("%Y-%m", time.gmtime(time.time() + 8 * 3600))  # the region's month
    year = int(today[:4])
    now = await eventually(
        lambda: disbursement_rows(stack, year), lambda d: d.get((today, "652900"), {}).get("cancelled_cny") == 100_000
    )
    row = now[(today, "652900")]
    assert (row["approved_cny"], row["cancelled_cny"]) == (200_000, 100_000)
    dom = await rendered(as_reader(f"{stack.url('reporting')}/?year={year}"), DASHBOARD_DRAWN)
    shown = re.search(rf'<tr data-month="{today}" data-prefecture="652900">(.*?)</tr>', dom)
    assert shown is not None
    assert re.findall(r'<td data-kind="(\w+)">([\d,]+)</td>', shown.group(1)) == [
        (k, f"{row[k + '_cny']:,}") for k in KINDS
    ]
    book = (await client.get(f"{stack.url('reporting')}/v1/reports/{year}/to_date.xlsx")).content
    sheet = openpyxl.load_workbook(io.BytesIO(book), read_only=True)["奖励兑付"]
    lines = {(r[0], r[1]): r[2:] for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert lines[(today, "652900")] == ("阿克苏地区", *(row[f"{k}_cny"] for k in KINDS))


async def test_recalls_and_cancellations_are_events_once_even_when_the_rules_are_killed(stack: Stack) -> None:
    division = "653001"
    uscc, operator, payouts, inc = await awarded(stack, division)
    ids = [p["payout_id"] for p in payouts]
    assert await approve(stack, ids) == ["approved", "approved"]
    await released_batch(stack, ids)
    crash = TEST_STACK / "crash-awards"
    crash.write_text("once")
    pid = stack.pid("awards")
    await publish(stack.bootstrap, [graduated_early(uscc, inc, operator, division)], topic=topics.ENTERPRISE_EVENTS)
    gone = await eventually(lambda: asyncio.sleep(0, not crash.exists()), bool, timeout=30)
    assert gone, "awards never reached the consumer's failpoint"
    wait_gone(pid)  # the failpoint removes its flag, then kills: a moment apart under load
    stack.up()  # restarts just the killed service
    assert stack.pid("awards") != pid
    stack.wait_ready("awards")
    assert set(ids) <= await eventually(lambda: at_stage(stack, "recall_requested"), lambda s: set(ids) <= s)

    flag = TEST_STACK / "crash-awards-disbursement"
    flag.write_text("once")
    pid = stack.pid("awards")
    returns = HEADER + "".join(f"{p},returned,100000,2016-12-09,RET-K{n}\n" for n, p in enumerate(ids))
    with pytest.raises(httpx.TransportError):
        await confirm(stack, returns)
    assert not flag.exists(), "the failpoint fired: awards was killed after its commit"
    wait_gone(pid)
    stack.up()
    assert stack.pid("awards") != pid
    stack.wait_ready("awards")
    assert [x["outcome"] for x in (await confirm(stack, returns))["lines"]] == ["already_held"] * 2
    listed = (await call(stack, "GET", "/v1/held-lines", READER, params={"status": "held", "limit": 1000})).json()
    holds = [h["held_id"] for h in listed["held_lines"] if h["payout_id"] in ids]
    assert len(holds) == 2

    # The second person's confirmation, killed after its commit: confirmed once, emitted once.
    flag.write_text("once")
    pid = stack.pid("awards")
    with pytest.raises(httpx.TransportError):
        await call(stack, "POST", f"/v1/held-lines/{holds[0]}/confirmation", ALICE)
    assert not flag.exists(), "the failpoint fired: awards was killed after its commit"
    wait_gone(pid)
    stack.up()
    assert stack.pid("awards") != pid
    stack.wait_ready("awards")
    retried = await call(stack, "POST", f"/v1/held-lines/{holds[0]}/confirmation", ALICE)
    assert (retried.status_code, retried.json()["message"]) == (
        409,
        f"held line {holds[0]} was confirmed by alice already",
    )
    second = await call(stack, "POST", f"/v1/held-lines/{holds[1]}/confirmation", ALICE)
    assert second.json()["outcome"] == "returned"
    assert [x["outcome"] for x in (await confirm(stack, returns))["lines"]] == ["already_returned"] * 2

    async def emitted() -> Any:
        return await award_events(stack, uscc)

    await eventually(emitted, lambda e: e["PayoutCancelled"] == 2, timeout=30)
    events = await award_events(stack, uscc, settle=2.0)
    assert (events["PayoutRecallRequested"], events["PayoutCancelled"], events["PayoutPaid"]) == (2, 2, 0)
