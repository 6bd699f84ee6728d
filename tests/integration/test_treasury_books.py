"""The books follow the money, through awards' own routes and consumer in this process,
against the real PostgreSQL (tests/support/awards_app.py): a replacement waits for the
bank's answer to a recall; a second debit is an overpayment with a clawback; every line
that is not a plain match opens one exception that two people close, and the file is kept
as received; a batch with a line reversed since preparation is voided, not released; an
owed payout of a recipient who owes is flagged.

What only processes show stays end to end in tests/e2e/test_treasury_truth.py: the
reporting side of a recall paid anyway, and events once under kill -9."""

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from services.awards.treasury.service_layer import treasury_exceptions
from tests.support import factories as f
from tests.support.awards_app import InProcessAwards, in_process_awards
from tests.support.disbursement import (
    ALICE,
    BOB,
    CAROL,
    HEADER,
    READER,
    approve,
    awarded,
    call,
    canonical_awarded,
    confirm,
    graduated_early,
    released_batch,
    second_person_confirms,
)
from tests.support.stack import Infra

pytestmark = pytest.mark.integration


@pytest.fixture
async def stack(infra: Infra, schema: str, tmp_path: Path) -> AsyncIterator[InProcessAwards]:
    async with in_process_awards(infra.dsn, schema, tmp_path) as awards:
        yield awards


async def at_stage(stack: InProcessAwards, stage: str) -> set[str]:
    r = await call(stack, "GET", "/v1/disbursement/payouts", READER, params={"stage": stage, "limit": 1000})
    return {p["payout_id"] for p in r.json()["payouts"]}


async def position(stack: InProcessAwards, uscc: str) -> dict[str, Any]:
    r = await call(stack, "GET", f"/v1/recipients/{uscc}/position", READER)
    body: dict[str, Any] = r.json()
    return body


async def exceptions_of(stack: InProcessAwards, sha256: str, status: str | None = None) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"limit": 1000} | ({"status": status} if status else {})
    r = await call(stack, "GET", "/v1/treasury-exceptions", READER, params=params)
    return [e for e in r.json()["exceptions"] if e["file_sha256"] == sha256]


async def test_a_replacement_is_held_until_the_bank_answers_the_recall(stack: InProcessAwards) -> None:
    division = "654201"
    uscc, _operator, payouts, _inc = await awarded(stack, division)
    old = [p["payout_id"] for p in payouts]
    assert await approve(stack, old) == ["approved", "approved"]
    await released_batch(stack, old)
    earlier = f.certified(uscc, "2016-08-01", certificate_no="GR201665000009")  # a new basis: SUPERSEDED
    await stack.take([earlier])

    async def live() -> list[dict[str, Any]]:
        r = await call(stack, "GET", f"/v1/enterprises/{uscc}/awards", READER)
        return [p for p in r.json()["payouts"] if p["status"] == "issued"]

    new = sorted(await live(), key=lambda p: p["recipient_role"])
    assert len(new) == 2
    fresh = [p["payout_id"] for p in new]
    assert set(fresh).isdisjoint(old)
    assert set(old) <= await at_stage(stack, "recall_requested")

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


async def test_a_second_debit_in_a_later_file_or_the_same_file_is_an_overpayment(stack: InProcessAwards) -> None:
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

    events = await stack.announced(uscc)
    assert (events["PayoutPaid"], events["ClawbackRaised"], events["ClawbackSettled"]) == (4, 2, 1)


async def test_every_line_that_is_not_a_plain_match_opens_one_exception_closed_by_two_people(
    stack: InProcessAwards,
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
    await stack.take([graduated_early(cancelled_uscc, inc, operator, "652301")])
    assert cancelled_id in await at_stage(stack, "cancelled")

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

    await treasury_exceptions.refresh_gauge(stack.pool)  # what awards' background job does
    assert REGISTRY.get_sample_value("treasury_exceptions_open") == 7  # all but the one closed


async def test_a_batch_with_a_line_reversed_since_preparation_is_voided_and_prepared_again(
    stack: InProcessAwards,
) -> None:
    reversed_uscc, operator, reversed_payouts, inc = await awarded(stack, "654301")
    _, _, kept_payouts, _ = await awarded(stack, "654301")
    gone = [p["payout_id"] for p in reversed_payouts]
    kept = [p["payout_id"] for p in kept_payouts]
    assert await approve(stack, gone + kept) == ["approved"] * 4
    prepared = await call(stack, "POST", "/v1/payment-batches", BOB, json={"payout_ids": gone + kept})
    batch_id = prepared.json()["batch_id"]
    await stack.take([graduated_early(reversed_uscc, inc, operator, "654301")])
    assert set(gone) <= await at_stage(stack, "cancelled")

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


async def test_an_owed_payout_of_a_recipient_who_owes_is_flagged(stack: InProcessAwards) -> None:
    division = "659001"
    uscc, operator, payouts, inc = await awarded(stack, division)
    ids = [p["payout_id"] for p in payouts]
    assert await approve(stack, ids) == ["approved", "approved"]
    await released_batch(stack, ids)
    await confirm(stack, HEADER + "".join(f"{p},paid,100000,2016-12-12,BANK-N{n}\n" for n, p in enumerate(ids)))
    await stack.take([graduated_early(uscc, inc, operator, division)])
    assert (await position(stack, operator))["outstanding_clawback_cny"] == 100_000

    second = f.new_uscc(division)  # the same operator's incubator, another enterprise
    await stack.take(canonical_awarded(second, inc, operator, division))

    async def owed_to_operator() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        params: dict[str, Any] = {"stage": "owed", "limit": 1000}
        while True:  # every page
            doc = (await call(stack, "GET", "/v1/disbursement/payouts", READER, params=params)).json()
            found += [p for p in doc["payouts"] if p["enterprise_uscc"] == second]
            if not doc["next_cursor"]:
                return found
            params["cursor"] = doc["next_cursor"]

    owed = sorted(await owed_to_operator(), key=lambda p: p["recipient_role"])
    assert [(p["recipient_role"], p["recipient_owes_cny"]) for p in owed] == [("enterprise", 0), ("operator", 100_000)]
