"""Approvals, server side: owed payouts filtered (rule, role, prefecture, basis
month, amount, part of a name or code) with their count and total; "approve all that
match" carries the count and total the officer saw, and the server refuses — approving
nothing — when the matching set changed in between (a payout reversed after the preview)."""

import uuid
from typing import Any

import httpx
import pytest

from shared.contract import topics
from tests.support.disbursement import ALICE, DIVISION, READER, awarded_many, call, graduated_early, owed
from tests.support.http import eventually
from tests.support.kafka_io import publish
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


async def approve_all(stack: Stack, seen: dict[str, Any], **query: Any) -> httpx.Response:
    matching = {**query, "count": seen["count"], "total_cny": seen["total_cny"]}
    return await call(stack, "POST", "/v1/approvals", ALICE, json={"all_matching": matching})


async def test_fifty_payouts_filtered_previewed_and_approved_in_one_action(stack: Stack) -> None:
    tag, made = await awarded_many(stack, 25)
    first = await owed(stack, q=tag, limit=20)
    assert (first["count"], first["total_cny"], len(first["payouts"])) == (50, 5_000_000, 20)
    second = await owed(stack, q=tag, limit=20, cursor=first["next_cursor"])
    third = await owed(stack, q=tag, limit=20, cursor=second["next_cursor"])
    assert (len(second["payouts"]), len(third["payouts"]), third["next_cursor"]) == (20, 10, None)
    ids = {p["payout_id"] for page in (first, second, third) for p in page["payouts"]}
    assert len(ids) == 50
    narrowed = {
        "operators": await owed(stack, q=tag, recipient_role="operator"),
        "prefecture": await owed(stack, q=tag, prefecture="650400"),
        "other prefecture": await owed(stack, q=tag, prefecture="650100"),
        "basis month": await owed(stack, q=tag, basis_month="2016-09"),
        "another month": await owed(stack, q=tag, basis_month="2016-10"),
        "rule": await owed(stack, q=tag, rule="HIGH_TECH_CERTIFICATION"),
        "amount": await owed(stack, q=tag, min_amount_cny=100_001),
        "one name": await owed(stack, q=f"{tag}企业7"),  # 企业7, not 企业17: names end in the number
        "one code": await owed(stack, q=made[3][0][4:16].lower()),
    }
    assert {k: (v["count"], v["total_cny"]) for k, v in narrowed.items()} == {
        "operators": (25, 2_500_000),
        "prefecture": (50, 5_000_000),
        "other prefecture": (0, 0),
        "basis month": (50, 5_000_000),
        "another month": (0, 0),
        "rule": (50, 5_000_000),
        "amount": (0, 0),
        "one name": (2, 200_000),
        "one code": (2, 200_000),
    }

    r = await approve_all(stack, first, q=tag)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert sorted(x["payout_id"] for x in results) == sorted(ids)
    assert {x["outcome"] for x in results} == {"approved"}
    assert (await owed(stack, q=tag))["count"] == 0
    trail = (await call(stack, "GET", "/v1/audit", READER, params={"action": "payout.approve", "limit": 1000})).json()
    assert sorted(e["subject"] for e in trail["entries"] if e["subject"] in ids and e["actor"] == "alice") == sorted(
        ids
    )


async def test_a_payout_reversed_after_the_preview_refuses_the_approval_of_all(stack: Stack) -> None:
    tag, made = await awarded_many(stack, 3)
    seen = await owed(stack, q=tag)
    assert (seen["count"], seen["total_cny"]) == (6, 600_000)
    uscc, operator, inc = made[0]
    await publish(stack.bootstrap, [graduated_early(uscc, inc, operator, DIVISION)], topic=topics.ENTERPRISE_EVENTS)
    await eventually(lambda: owed(stack, q=tag), lambda d: d["count"] == 4)

    refused = await approve_all(stack, seen, q=tag)
    assert (refused.status_code, refused.json()) == (
        409,
        {
            "error_code": "CONFLICT",
            "message": "the filter now matches 4 payouts totalling 400,000 CNY, not the 6 totalling 600,000 CNY "
            "you saw; nothing was approved: look again and confirm",
            "errors": [],
        },
    )
    now = await owed(stack, q=tag)
    assert (now["count"], now["total_cny"]) == (4, 400_000)  # nothing approved
    accepted = await approve_all(stack, now, q=tag)
    assert [x["outcome"] for x in accepted.json()["results"]] == ["approved"] * 4


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"payout_ids": [str(uuid.uuid4())], "all_matching": {"count": 1, "total_cny": 1}},
        {"all_matching": {"q": "x"}},  # what the officer saw is required
        {"all_matching": {"count": 1, "total_cny": 1, "colour": "red"}},
        {"all_matching": {"count": 1, "total_cny": 1, "prefecture": "650101"}},  # a county, not a prefecture
    ],
)
async def test_an_approval_must_name_its_payouts_one_way_and_completely(stack: Stack, body: dict[str, Any]) -> None:
    r = await call(stack, "POST", "/v1/approvals", ALICE, json=body)
    assert (r.status_code, r.json()["error_code"]) == (422, "INVALID_REQUEST")
