"""The books follow the money, over the real broker and database. A released
line is recalled, never cancelled; whatever the bank pays is booked (after a recall, or
twice, with a clawback); every line that is not a plain match opens one exception that
two people close; the file is kept as received; a batch with a reversed line is voided,
not released; cancellations and recalls are events once, even under kill -9."""

import asyncio
import hashlib
import io
import re
import time
from typing import Any

import httpx
import openpyxl
import pytest

from shared.contract import topics
from tests.support import factories as f
from tests.support.browser import as_reader, chromium
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
    canonical_awarded,
    confirm,
    disbursement_rows,
    graduated_early,
    held_ids,
    released_batch,
    second_person_confirms,
)
from tests.support.http import eventually, metrics
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
    dom = chromium("--dump-dom", as_reader(f"{stack.url('reporting')}/?year={year}"))
    shown = re.search(rf'<tr data-month="{today}" data-prefecture="652900">(.*?)</tr>', dom)
    assert shown is not None
    assert re.findall(r'<td data-kind="(\w+)">([\d,]+)</td>', shown.group(1)) == [
        (k, f"{row[k + '_cny']:,}") for k in KINDS
    ]
    book = (await client.get(f"{stack.url('reporting')}/v1/reports/{year}/to_date.xlsx")).content
    sheet = openpyxl.load_workbook(io.BytesIO(book), read_only=True)["奖励兑付"]
    lines = {(r[0], r[1]): r[2:] for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert lines[(today, "652900")] == ("阿克苏地区", *(row[f"{k}_cny"] for k in KINDS))


async def test_a_replacement_is_held_until_the_bank_answers_the_recall(stack: Stack) -> None:
    division = "654201"
    uscc, _operator, payouts, _inc = await awarded(stack, division)
    old = [p["payout_id"] for p in payouts]
    assert await approve(stack, old) == ["approved", "approved"]
    await released_batch(stack, old)
    earlier = f.certified(uscc, "2016-08-01", certificate_no="GR201665000009")  # a new basis: SUPERSEDED
    await publish(stack.bootstrap, [earlier], topic=topics.ENTERPRISE_EVENTS)

    async def live() -> list[dict[str, Any]]:
        r = await call(stack, "GET", f"/v1/enterprises/{uscc}/awards", READER)
        return [p for p in r.json()["payouts"] if p["status"] == "issued"]

    new = sorted(await eventually(live, lambda p: len(p) == 2), key=lambda p: p["recipient_role"])
    fresh = [p["payout_id"] for p in new]
    assert set(fresh).isdisjoint(old)
    assert set(old) <= await eventually(lambda: at_stage(stack, "recall_requested"), lambda s: set(old) <= s)

    held = await call(stack, "POST", "/v1/approvals", ALICE, json={"payout_ids": fresh})
    assert [(x["outcome"], x["message"]) for x in held.json()["results"]] == [
        (
            "held_for_recall",
            "held: an earlier payout of this award awaits the bank's answer to a recall; nothing changed",
        )
    ] * 2
    returned = await confirm(stack, HEADER + f"{old[0]},returned,100000,2016-11-03,RET-H1\n")
    assert await approve(stack, fresh) == ["held_for_recall"] * 2  # the return awaits a second person
    assert await second_person_confirms(stack, returned) == ["returned"]
    assert await approve(stack, fresh) == ["approved", "held_for_recall"]
    await confirm(stack, HEADER + f"{old[1]},paid,100000,2016-11-03,BANK-H1\n")
    assert await approve(stack, fresh) == ["already_approved", "approved"]


async def test_a_second_debit_in_a_later_file_or_the_same_file_is_an_overpayment(stack: Stack) -> None:
    uscc, _operator, payouts, _ = await awarded(stack, "653201")
    mine, theirs = (p["payout_id"] for p in payouts)
    assert await approve(stack, [mine, theirs]) == ["approved", "approved"]
    await released_batch(stack, [mine, theirs])

    first = await confirm(stack, HEADER + f"{mine},paid,100000,2016-12-01,BANK-D1\n")
    assert [x["outcome"] for x in first["lines"]] == ["paid"]
    later = HEADER + f"{mine},paid,100000,2016-12-02,BANK-D2\n"
    second = await confirm(stack, later)
    assert [(x["outcome"], x["message"]) for x in second["lines"]] == [
        (
            "second_debit",
            "a second debit: paid before under BANK-D1; 100000 CNY booked as an overpayment, "
            f"clawback overpayment:{mine}:BANK-D2 raised, an exception is open",
        )
    ]
    assert second["exceptions_opened"] == 1
    again = await confirm(stack, later)
    assert ([x["outcome"] for x in again["lines"]], again["exceptions_opened"]) == (["already_paid"], 0)

    same_file = await confirm(
        stack, HEADER + f"{theirs},paid,100000,2016-12-01,BANK-D3\n{theirs},paid,100000,2016-12-01,BANK-D4\n"
    )
    assert [x["outcome"] for x in same_file["lines"]] == ["paid", "second_debit"]
    assert same_file["exceptions_opened"] == 1

    assert await position(stack, uscc) == {
        "recipient_uscc": uscc,
        "paid_cny": 200_000,
        "clawed_back_cny": 100_000,
        "recovered_cny": 0,
        "outstanding_clawback_cny": 100_000,
        "held_for_confirmation_cny": 0,
        "net_cny": 200_000,
    }
    named = (
        "payout_id,direction,amount_cny,value_date,reference,clawback_id\n"
        f"{mine},recovered,100000,2017-01-05,BACK-D2,overpayment:{mine}:BANK-D2\n"
    )
    held = await confirm(stack, named)
    assert [x["outcome"] for x in held["lines"]] == ["settlement_held"]
    assert await second_person_confirms(stack, held) == ["settled"]
    assert (await position(stack, uscc))["net_cny"] == 100_000  # what it may keep

    events = await award_events(stack, uscc, settle=1.5)
    assert (events["PayoutPaid"], events["ClawbackRaised"], events["ClawbackSettled"]) == (4, 2, 1)


async def test_every_line_that_is_not_a_plain_match_opens_one_exception_closed_by_two_people(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    _, _, released_payouts, _ = await awarded(stack, "652301")
    paid_id, released_id = (p["payout_id"] for p in released_payouts)
    assert await approve(stack, [paid_id, released_id]) == ["approved", "approved"]
    await released_batch(stack, [paid_id, released_id])
    await confirm(stack, HEADER + f"{paid_id},paid,100000,2016-12-05,BANK-E0\n")
    _, _, approved_payouts, _ = await awarded(stack, "652301")
    approved_id = approved_payouts[0]["payout_id"]
    assert await approve(stack, [approved_id]) == ["approved"]
    cancelled_uscc, operator, cancelled_payouts, inc = await awarded(stack, "652301")
    cancelled_id = cancelled_payouts[0]["payout_id"]
    assert await approve(stack, [cancelled_id]) == ["approved"]
    await publish(
        stack.bootstrap, [graduated_early(cancelled_uscc, inc, operator, "652301")], topic=topics.ENTERPRISE_EVENTS
    )
    assert cancelled_id in await eventually(lambda: at_stage(stack, "cancelled"), lambda s: cancelled_id in s)

    unknown = "00000000-0000-4000-8000-0000000000e1"
    text = (
        HEADER
        + f"{unknown},paid,100000,2016-12-06,BANK-E1\n"  # 2 unknown_payout
        + f"{approved_id},paid,100000,2016-12-06,BANK-E2\n"  # 3 not_released
        + f"{released_id},paid,90000,2016-12-06,BANK-E3\n"  # 4 amount_mismatch
        + f"{cancelled_id},paid,100000,2016-12-06,BANK-E4\n"  # 5 cancelled
        + f"{paid_id},paid,100000,2016-12-06,BANK-E5\n"  # 6 second_debit
        + f"{released_id},recovered,100000,2016-12-06,BACK-E6\n"  # 7 no_clawback
        + f"{released_id},returned,100000,2016-12-06,RET-E7\n"  # 8 not_recalled
        + "this is not a line\n"  # 9 invalid_line
    )
    raw = "\ufeff".encode() + text.encode()
    sha256 = hashlib.sha256(raw).hexdigest()
    answer = await confirm(stack, raw)
    assert answer["file_sha256"] == sha256
    reasons = [
        "unknown_payout",
        "not_released",
        "amount_mismatch",
        "cancelled",
        "second_debit",
        "no_clawback",
        "not_recalled",
        "invalid_line",
    ]
    assert [x["outcome"] for x in answer["lines"]] == reasons
    assert answer["exceptions_opened"] == 8
    opened = await exceptions_of(stack, sha256, "open")
    assert [(e["line"], e["reason"]) for e in opened] == list(zip(range(2, 10), reasons, strict=True))
    assert (opened[2]["amount_cny"], opened[2]["expected_cny"], opened[2]["reference"]) == (90_000, 100_000, "BANK-E3")

    again = await confirm(stack, raw)
    assert (again["exceptions_opened"], len(await exceptions_of(stack, sha256))) == (0, 8)
    kept = await call(stack, "GET", f"/v1/confirmations/{sha256}", READER)
    assert (kept.status_code, kept.content) == (200, raw)
    assert (await call(stack, "GET", f"/v1/confirmations/{'0' * 64}", READER)).status_code == 404

    first, second = opened[0]["exception_id"], opened[1]["exception_id"]
    path = f"/v1/treasury-exceptions/{first}"
    resolved = await call(stack, "POST", f"{path}/resolution", CAROL, json={"note": "the bank says: not ours"})
    assert (resolved.json()["status"], resolved.json()["resolved_by"]) == ("resolved", "carol")
    assert (await call(stack, "POST", f"{path}/confirmation", CAROL)).status_code == 403  # not an approver
    twice = await call(stack, "POST", f"{path}/resolution", BOB, json={"note": "again"})
    assert twice.status_code == 409
    confirmed = await call(stack, "POST", f"{path}/confirmation", ALICE)
    assert (confirmed.json()["status"], confirmed.json()["confirmed_by"]) == ("closed", "alice")

    other = f"/v1/treasury-exceptions/{second}"
    await call(stack, "POST", f"{other}/resolution", BOB, json={"note": "recovered by hand"})
    own = await call(stack, "POST", f"{other}/confirmation", BOB)
    assert (own.status_code, own.json()["message"]) == (
        403,
        "four eyes: bob resolved this exception and cannot also confirm it",
    )
    assert [e["exception_id"] for e in await exceptions_of(stack, sha256, "closed")] == [first]
    assert [e["exception_id"] for e in await exceptions_of(stack, sha256, "resolved")] == [second]

    async def gauge() -> float:
        text = await metrics(stack.url("awards"), TEST_STACK)
        found = re.search(r"^treasury_exceptions_open (\S+)$", text, re.M)
        return float(found.group(1)) if found else -1.0

    assert await eventually(gauge, lambda n: n >= 7) >= 7  # seven of this file's are not closed


async def test_a_batch_with_a_line_reversed_since_preparation_is_voided_and_prepared_again(stack: Stack) -> None:
    reversed_uscc, operator, reversed_payouts, inc = await awarded(stack, "654301")
    _, _, kept_payouts, _ = await awarded(stack, "654301")
    gone = [p["payout_id"] for p in reversed_payouts]
    kept = [p["payout_id"] for p in kept_payouts]
    assert await approve(stack, gone + kept) == ["approved"] * 4
    prepared = await call(stack, "POST", "/v1/payment-batches", BOB, json={"payout_ids": gone + kept})
    batch_id = prepared.json()["batch_id"]
    await publish(
        stack.bootstrap, [graduated_early(reversed_uscc, inc, operator, "654301")], topic=topics.ENTERPRISE_EVENTS
    )
    assert set(gone) <= await eventually(lambda: at_stage(stack, "cancelled"), lambda s: set(gone) <= s)

    refused = await call(stack, "POST", f"/v1/payment-batches/{batch_id}/approval", ALICE)
    assert (refused.status_code, refused.json()["message"]) == (
        409,
        f"lines reversed since the batch was prepared: {', '.join(sorted(gone))}; "
        "void this batch and prepare a new one",
    )
    assert (await call(stack, "GET", f"/v1/payment-batches/{batch_id}/file.csv", CAROL)).status_code == 409
    voided = await call(stack, "POST", f"/v1/payment-batches/{batch_id}/void", BOB)
    assert (voided.status_code, voided.json()["voided_by"], voided.json()["released"]) == (200, "bob", False)
    assert set(kept) <= await at_stage(stack, "approved")
    assert (await call(stack, "POST", f"/v1/payment-batches/{batch_id}/approval", ALICE)).status_code == 409
    file_of_voided = await call(stack, "GET", f"/v1/payment-batches/{batch_id}/file.xlsx", CAROL)
    assert file_of_voided.json()["message"] == "the batch was voided by bob: its file must not go to the bank"

    batch = await released_batch(stack, kept)
    assert batch["payouts"] == 2
    assert (await call(stack, "GET", f"/v1/payment-batches/{batch['batch_id']}/file.csv", CAROL)).status_code == 200
    trail = (await call(stack, "GET", "/v1/audit", READER, params={"subject": batch_id})).json()["entries"]
    assert [(e["action"], e["actor"], e["detail"].get("lines_back_to_approved")) for e in trail] == [
        ("batch.prepare", "bob", None),
        ("batch.void", "bob", 2),
    ]


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
    time.sleep(0.5)
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
    time.sleep(0.5)
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
    time.sleep(0.5)
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


async def test_an_owed_payout_of_a_recipient_who_owes_is_flagged(stack: Stack) -> None:
    division = "659001"
    uscc, operator, payouts, inc = await awarded(stack, division)
    ids = [p["payout_id"] for p in payouts]
    assert await approve(stack, ids) == ["approved", "approved"]
    await released_batch(stack, ids)
    await confirm(stack, HEADER + "".join(f"{p},paid,100000,2016-12-12,BANK-N{n}\n" for n, p in enumerate(ids)))
    await publish(stack.bootstrap, [graduated_early(uscc, inc, operator, division)], topic=topics.ENTERPRISE_EVENTS)
    await eventually(lambda: position(stack, operator), lambda p: p["outstanding_clawback_cny"] == 100_000)

    second = f.new_uscc(division)  # the same operator's incubator, another enterprise
    await publish(stack.bootstrap, canonical_awarded(second, inc, operator, division), topic=topics.ENTERPRISE_EVENTS)

    async def owed_to_operator() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        params: dict[str, Any] = {"stage": "owed", "limit": 1000}
        while True:  # every page: the stack's ledger holds other tests' owed payouts too
            doc = (await call(stack, "GET", "/v1/disbursement/payouts", READER, params=params)).json()
            found += [p for p in doc["payouts"] if p["enterprise_uscc"] == second]
            if not doc["next_cursor"]:
                return found
            params["cursor"] = doc["next_cursor"]

    owed = sorted(await eventually(owed_to_operator, lambda p: len(p) == 2), key=lambda p: p["recipient_role"])
    assert [(p["recipient_role"], p["recipient_owes_cny"]) for p in owed] == [("enterprise", 0), ("operator", 100_000)]
