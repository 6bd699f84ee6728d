"""From owed to paid and back, over the real broker and database. Approvals by
named people (RS256 JWTs), four eyes on payment batches, the treasury's files and
confirmations, clawbacks, the append-only audit trail, reporting's view, and exactly
once under kill -9, redelivery and two replicas."""

import asyncio
import csv
import hashlib
import io
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import openpyxl
import pytest

from shared.contract import topics
from stack.handle import wait_gone
from tests.support.auth import bearer
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
    released_batch,
    second_person_confirms,
)
from tests.support.http import eventually
from tests.support.kafka_io import publish, read_all, value_json
from tests.support.stack import TEST_STACK, Stack

pytestmark = pytest.mark.e2e

REPLICA_PORT = 18022


@dataclass
class Flow:
    """What one disbursement's steps hand each other."""

    uscc: str
    operator: str
    mine: dict[str, Any]
    theirs: dict[str, Any]
    inc: str
    ids: list[str]
    unknown: str = field(default_factory=lambda: str(uuid.uuid4()))
    batch: dict[str, Any] = field(default_factory=dict)
    before: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    after: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    confirmation_sha256: str = ""


async def test_owed_approved_batched_paid_clawed_back_and_settled(stack: Stack, client: httpx.AsyncClient) -> None:
    uscc, operator, (mine, theirs), inc = await awarded(stack, "654002")
    flow = Flow(uscc, operator, mine, theirs, inc, [mine["payout_id"], theirs["payout_id"]])
    await _who_may_approve(stack, flow)
    await _a_batch_its_files_and_four_eyes(stack, flow)
    await _the_treasury_confirms_twice(stack, flow)
    await _a_paid_award_reversed_is_clawed_back_once(stack, flow)
    await _the_audit_trail_cannot_be_rewritten(stack, flow)
    await _reporting_dates_the_flows(stack, flow)
    await _dashboard_and_workbook_agree(stack, flow, client)


async def _who_may_approve(stack: Stack, flow: Flow) -> None:
    """Who may do what."""
    assert (await call(stack, "POST", "/v1/approvals", None, json={"payout_ids": flow.ids})).status_code == 401
    forbidden = await call(stack, "POST", "/v1/approvals", READER, json={"payout_ids": flow.ids})
    assert forbidden.status_code == 403
    assert forbidden.json()["message"] == "this needs the role approver; the token has ['reader']"
    forged = {"Authorization": "Bearer " + bearer("mallory", "approver")["Authorization"][7:-4] + "AAAA"}
    assert (await call(stack, "POST", "/v1/approvals", forged, json={"payout_ids": flow.ids})).status_code == 401

    r = await call(
        stack,
        "POST",
        "/v1/approvals",
        ALICE,
        json={"payout_ids": [*flow.ids, flow.unknown]},
        headers={"X-Request-ID": "r-1"},
    )
    assert r.headers["X-Request-ID"] == "r-1"
    assert [(x["payout_id"], x["outcome"]) for x in r.json()["results"]] == [
        (flow.ids[0], "approved"),
        (flow.ids[1], "approved"),
        (flow.unknown, "unknown_payout"),
    ]
    assert await approve(stack, flow.ids) == ["already_approved", "already_approved"]


async def _a_batch_its_files_and_four_eyes(stack: Stack, flow: Flow) -> None:
    """A batch prepared by bob: its files, their hashes, and four eyes."""
    r = await call(stack, "POST", "/v1/payment-batches", BOB, json={"payout_ids": flow.ids})
    assert r.status_code == 201
    flow.batch = r.json()
    assert (flow.batch["prepared_by"], flow.batch["payouts"], flow.batch["total_cny"], flow.batch["released"]) == (
        "bob",
        2,
        200_000,
        False,
    )
    unreleased = await call(stack, "GET", f"/v1/payment-batches/{flow.batch['batch_id']}/file.csv", CAROL)
    assert unreleased.status_code == 409
    assert unreleased.json()["message"] == (
        "the batch is not released: another approver must release it before its file goes out"
    )
    early = await confirm(stack, HEADER + f"{flow.ids[0]},paid,100000,2016-10-08,BANK-1\n")
    assert [x["outcome"] for x in early["lines"]] == ["not_released"]
    assert early["exceptions_opened"] == 1
    own = await call(stack, "POST", f"/v1/payment-batches/{flow.batch['batch_id']}/approval", BOB)
    assert own.status_code == 403
    assert own.json()["message"] == "four eyes: bob prepared this batch and cannot also approve it"
    released = await call(stack, "POST", f"/v1/payment-batches/{flow.batch['batch_id']}/approval", ALICE)
    assert (released.json()["approved_by"], released.json()["released"]) == ("alice", True)
    by_reader = await call(stack, "GET", f"/v1/payment-batches/{flow.batch['batch_id']}/file.csv", READER)
    assert by_reader.status_code == 403  # a payment instruction is the treasury's
    csv_file = await call(stack, "GET", f"/v1/payment-batches/{flow.batch['batch_id']}/file.csv", CAROL)
    digest = hashlib.sha256(csv_file.content).hexdigest()
    assert csv_file.headers["X-Content-SHA256"] == digest == flow.batch["csv_sha256"]
    rows = list(csv.reader(io.StringIO(csv_file.text)))
    by_recipient = sorted([(flow.mine["recipient_uscc"], flow.ids[0]), (flow.operator, flow.ids[1])])
    assert rows == [
        [
            "batch_id",
            "line",
            "payout_id",
            "recipient_uscc",
            "recipient_name",
            "amount_cny",
            "enterprise_uscc",
            "rule",
            "recipient_role",
            "funding",
        ],
        *[
            [
                flow.batch["batch_id"],
                str(n),
                pid,
                who,
                _name(flow.mine, flow.theirs, pid),
                "100000",
                flow.uscc,
                "HIGH_TECH_CERTIFICATION",
                _role(flow.mine, flow.theirs, pid),
                "650000",  # the region's budget pays it
            ]
            for n, (who, pid) in enumerate(by_recipient, start=1)
        ],
        [flow.batch["batch_id"], "TOTAL", "", "", "2 payouts", "200000", "", "", "", ""],
    ]
    xlsx_file = await call(stack, "GET", f"/v1/payment-batches/{flow.batch['batch_id']}/file.xlsx", CAROL)
    assert (
        hashlib.sha256(xlsx_file.content).hexdigest()
        == xlsx_file.headers["X-Content-SHA256"]
        == flow.batch["xlsx_sha256"]
    )
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_file.content), read_only=True)["payments"]
    assert [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)] == rows


async def _the_treasury_confirms_twice(stack: Stack, flow: Flow) -> None:
    """The treasury's confirmation, twice."""
    flow.before = await disbursement_rows(stack, 2016)
    confirmation = (
        HEADER
        + f"{flow.ids[0]},paid,100000,2016-10-08,BANK-1\n"
        + f"{flow.ids[1]},paid,100000,2016-10-08,BANK-2\n"
        + f"{flow.unknown},paid,100000,2016-10-08,BANK-3\n"
        + "garbage\n"
    )
    first = await confirm(stack, confirmation)
    flow.confirmation_sha256 = first["file_sha256"]
    assert [(x["line"], x["outcome"]) for x in first["lines"]] == [
        (2, "paid"),
        (3, "paid"),
        (4, "unknown_payout"),
        (5, "invalid_line"),
    ]
    assert first["changed"] == 2
    assert first["file_sha256"] == hashlib.sha256(confirmation.encode()).hexdigest()
    again = await confirm(stack, confirmation)
    assert [x["outcome"] for x in again["lines"]] == ["already_paid", "already_paid", "unknown_payout", "invalid_line"]
    assert again["lines"][0]["message"] == "paid before (reference BANK-1); nothing changed"
    assert again["changed"] == 0


async def _a_paid_award_reversed_is_clawed_back_once(stack: Stack, flow: Flow) -> None:
    """A paid award reversed: a clawback each, once, even when the reversing fact comes twice."""
    graduation = graduated_early(flow.uscc, flow.inc, flow.operator, "654002")
    await publish(stack.bootstrap, [graduation, graduation], topic=topics.ENTERPRISE_EVENTS)

    async def clawbacks() -> int:
        return (await award_events(stack, flow.uscc))["ClawbackRaised"]

    assert await eventually(clawbacks, lambda n: n == 2) == 2
    await publish(stack.bootstrap, [graduation], topic=topics.ENTERPRISE_EVENTS)
    settle = HEADER + f"{flow.ids[0]},recovered,100000,2017-01-09,BANK-9\n"
    held = await confirm(stack, settle)
    assert [x["outcome"] for x in held["lines"]] == ["settlement_held"]
    assert await second_person_confirms(stack, held) == ["settled"]
    assert [x["outcome"] for x in (await confirm(stack, settle))["lines"]] == ["already_settled"]
    assert (await call(stack, "GET", f"/v1/recipients/{flow.uscc}/position", READER)).json() == {
        "recipient_uscc": flow.uscc,
        "paid_cny": 100_000,
        "clawed_back_cny": 100_000,
        "recovered_cny": 100_000,
        "outstanding_clawback_cny": 0,
        "held_for_confirmation_cny": 0,
        "net_cny": 0,
    }
    assert (await call(stack, "GET", f"/v1/recipients/{flow.operator}/position", READER)).json()["net_cny"] == 100_000

    events = await award_events(stack, flow.uscc, settle=2.0)
    assert {k: events[k] for k in ("PayoutIssued", "PayoutApproved", "PayoutPaid", "PayoutReversed")} == dict.fromkeys(
        ("PayoutIssued", "PayoutApproved", "PayoutPaid", "PayoutReversed"), 2
    )
    assert (events["ClawbackRaised"], events["ClawbackSettled"]) == (2, 1)


async def _the_audit_trail_cannot_be_rewritten(stack: Stack, flow: Flow) -> None:
    """The audit trail of the enterprise's own payout, and that it cannot be rewritten."""
    trail = (await call(stack, "GET", "/v1/audit", READER, params={"subject": flow.ids[0]})).json()["entries"]
    asked = [(e["action"], e["actor"], e["request_id"] if e["action"] == "payout.approve" else "") for e in trail]
    assert asked == [
        ("payout.approve", "alice", "r-1"),
        ("payout.paid", "carol", ""),
        ("clawback.raise", "awards-rules", ""),
        ("bank_line.hold", "carol", ""),
        ("clawback.settle", "alice", ""),
    ]
    assert trail[0]["roles"] == ["approver"] and trail[0]["path"] == "/v1/approvals"
    assert trail[1]["detail"] == {
        "amount_cny": 100_000,
        "reference": "BANK-1",
        "file_sha256": flow.confirmation_sha256,
        "line": 2,
    }
    conn = await asyncpg.connect(stack.dsn, server_settings={"search_path": "awards"})
    try:
        for sql in ("UPDATE audit_log SET actor = 'nobody'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="audit_log is append-only"):
                await conn.execute(sql)
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE actor = 'nobody'") == 0
    finally:
        await conn.close()


async def _reporting_dates_the_flows(stack: Stack, flow: Flow) -> None:
    """Reporting: paid in 2016-10 and recovered in 2017-01, in Ili (654000); owed is gone."""

    async def paid_row() -> dict[tuple[str, str], dict[str, int]]:
        return await disbursement_rows(stack, 2016)

    flow.after = await eventually(paid_row, lambda d: d.get(("2016-10", "654000"), {}).get("paid_cny") == 200_000)
    assert flow.after[("2016-10", "654000")]["paid_cny"] - flow.before.get(("2016-10", "654000"), {}).get(
        "paid_cny", 0
    ) == (200_000)
    assert flow.after.get(("2016-09", "654000"), {}).get("owed_cny", 0) == 0  # both payouts reversed
    recovered = await eventually(
        lambda: disbursement_rows(stack, 2017), lambda d: ("2017-01", "654000") in d, timeout=20
    )
    assert recovered[("2017-01", "654000")]["recovered_cny"] == 100_000


async def _dashboard_and_workbook_agree(stack: Stack, flow: Flow, client: httpx.AsyncClient) -> None:
    """The dashboard and the milestone workbook show the same row."""
    dom = await rendered(as_reader(f"{stack.url('reporting')}/?year=2016"), DASHBOARD_DRAWN)
    row = re.search(r'<tr data-month="2016-10" data-prefecture="654000">(.*?)</tr>', dom)
    assert row is not None
    assert re.findall(r'<td data-kind="(\w+)">([\d,]+)</td>', row.group(1)) == [
        (k, f"{flow.after[('2016-10', '654000')][k + '_cny']:,}")
        for k in ("owed", "approved", "cancelled", "paid", "clawed_back", "recovered")
    ]
    book = (await client.get(f"{stack.url('reporting')}/v1/reports/2016/to_date.xlsx")).content
    sheet = openpyxl.load_workbook(io.BytesIO(book), read_only=True)["奖励兑付"]
    lines = {(r[0], r[1]): r[2:] for r in sheet.iter_rows(min_row=2, values_only=True)}
    money = flow.after[("2016-10", "654000")]
    assert lines[("2016-10", "654000")] == (
        "伊犁哈萨克自治州",
        *(money[f"{k}_cny"] for k in ("owed", "approved", "cancelled", "paid", "clawed_back", "recovered")),
    )


def _name(mine: dict[str, Any], theirs: dict[str, Any], pid: str) -> str:
    return str((mine if mine["payout_id"] == pid else theirs)["recipient_name"])


def _role(mine: dict[str, Any], theirs: dict[str, Any], pid: str) -> str:
    return str((mine if mine["payout_id"] == pid else theirs)["recipient_role"])


def _crash_and_recover(stack: Stack, before: int) -> None:
    flag = TEST_STACK / "crash-awards-disbursement"
    assert not flag.exists(), "the failpoint fired: awards was killed after its commit"
    wait_gone(before)  # the failpoint removes its flag, then kills: a moment apart under load
    stack.up()  # restarts just the killed service
    assert stack.pid("awards") != before
    stack.wait_ready("awards")


async def test_kill9_between_committing_and_emitting_loses_and_doubles_nothing(stack: Stack) -> None:
    uscc, operator, payouts, inc = await awarded(stack, "653101")
    ids = [p["payout_id"] for p in payouts]

    (TEST_STACK / "crash-awards-disbursement").write_text("once")
    pid = stack.pid("awards")
    with pytest.raises(httpx.TransportError):
        await approve(stack, ids)
    _crash_and_recover(stack, pid)
    assert await approve(stack, ids) == ["already_approved", "already_approved"]
    await released_batch(stack, ids)

    (TEST_STACK / "crash-awards-disbursement").write_text("once")
    pid = stack.pid("awards")
    confirmation = HEADER + "".join(f"{p},paid,100000,2016-12-05,BANK-K{n}\n" for n, p in enumerate(ids))
    with pytest.raises(httpx.TransportError):
        await confirm(stack, confirmation)
    _crash_and_recover(stack, pid)
    assert [x["outcome"] for x in (await confirm(stack, confirmation))["lines"]] == ["already_paid", "already_paid"]

    async def emitted() -> Counter[str]:
        return await award_events(stack, uscc)

    await eventually(emitted, lambda e: e["PayoutPaid"] == 2, timeout=30)

    # The rules' consumer killed after committing the clawbacks, before its offsets: the
    # reversing fact is delivered again after the restart and raises nothing more.
    crash = TEST_STACK / "crash-awards"
    crash.write_text("once")
    pid = stack.pid("awards")
    await publish(stack.bootstrap, [graduated_early(uscc, inc, operator, "653101")], topic=topics.ENTERPRISE_EVENTS)
    gone = await eventually(lambda: asyncio.sleep(0, not crash.exists()), bool, timeout=30)
    assert gone, "awards never reached the consumer's failpoint"
    wait_gone(pid)
    stack.up()
    assert stack.pid("awards") != pid
    await eventually(emitted, lambda e: e["ClawbackRaised"] == 2, timeout=30)
    events = await award_events(stack, uscc, settle=2.0)
    assert (events["PayoutApproved"], events["PayoutPaid"], events["ClawbackRaised"]) == (2, 2, 2)
    trail = (await call(stack, "GET", "/v1/audit", READER, params={"action": "clawback.raise"})).json()["entries"]
    assert sorted(e["subject"] for e in trail if e["subject"] in ids) == sorted(ids)


async def test_two_replicas_approve_and_pay_each_payout_once(stack: Stack) -> None:
    enterprises = [await awarded(stack, "650202") for _ in range(3)]
    ids = [p["payout_id"] for _, _, payouts, _ in enterprises for p in payouts]
    replica = stack.start_replica("awards", REPLICA_PORT)
    try:
        stack.wait_ready("awards", port=REPLICA_PORT)
        base = f"http://127.0.0.1:{REPLICA_PORT}"
        approvals = await asyncio.gather(
            call(stack, "POST", "/v1/approvals", ALICE, json={"payout_ids": ids}),
            call(stack, "POST", "/v1/approvals", ALICE, base, json={"payout_ids": list(reversed(ids))}),
        )
        outcomes = Counter(x["outcome"] for r in approvals for x in r.json()["results"])
        assert outcomes == {"approved": 6, "already_approved": 6}
        await released_batch(stack, ids)
        confirmation = HEADER + "".join(f"{p},paid,100000,2016-12-20,BANK-R{n}\n" for n, p in enumerate(ids))
        answers = await asyncio.gather(confirm(stack, confirmation), confirm(stack, confirmation, base))
        per_payout = Counter((x["payout_id"], x["outcome"]) for a in answers for x in a["lines"])
        assert per_payout == Counter({(p, "paid"): 1 for p in ids} | {(p, "already_paid"): 1 for p in ids})
    finally:
        replica.terminate()
        replica.wait(timeout=30)
    await asyncio.sleep(2.0)
    records = await read_all(stack.bootstrap, topics.AWARD_EVENTS)
    mine = {u.encode() for u, _, _, _ in enterprises}
    paid = Counter(value_json(r)["data"]["payout_id"] for r in records if r.key in mine and _type(r) == "PayoutPaid")
    approved = Counter(
        value_json(r)["data"]["payout_id"] for r in records if r.key in mine and _type(r) == "PayoutApproved"
    )
    assert paid == approved == dict.fromkeys(ids, 1)


def _type(record: Any) -> str:
    return str(value_json(record)["event_type"])
