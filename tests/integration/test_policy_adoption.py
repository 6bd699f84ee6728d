"""Policy versions through awards' use cases against the real PostgreSQL: drafting and
adoption by two people, the preview's digest, re-decisions that survive a crash, a
prefecture's plan paid from its own budget in its own batch, and a version reaching back
that moves only the difference whatever stage a payout has reached."""

import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import asyncpg
import pytest

from services.awards.audit.domain.audit import Actor
from services.awards.disbursement.domain.owed_filter import OwedFilter
from services.awards.disbursement.service_layer import disbursement, disbursement_queries
from services.awards.handlers import follow_up
from services.awards.ledger.service_layer.rules import Fact, take_facts
from services.awards.office.domain.what_if import PolicyOverrides
from services.awards.office.service_layer import policy_office
from services.awards.office.service_layer.what_if_budget import what_if
from services.awards.policy.adapters.policy_versions import AdoptedCache
from services.awards.policy.domain.policy import PLAN_2015, REGION, PolicyDocument, PolicyVersion, each_role
from services.awards.treasury.service_layer import confirmations
from shared.contract import incoming
from shared.contract.enums import RecipientRole, Rule
from shared.contract.errors import Conflict, Invalid, NotAllowed
from shared.process import db
from tests.support.stack import ROOT, Infra

pytestmark = pytest.mark.integration
MIGRATIONS = ROOT / "services" / "awards" / "migrations"
DRAFTER = Actor("dora", "Dora", ("approver",), "policy")
ADOPTER = Actor("adam", "Adam", ("approver",), "policy")
TREASURER = Actor("tess", "Tess", ("treasurer",), "policy")
OPERATOR = "91650100MA7700010X"
NOTICE = PolicyDocument("新疆维吾尔自治区人民政府办公厅", "关于调整高新技术企业认定奖励的通知", date(2015, 12, 1))
URUMQI = PolicyDocument("乌鲁木齐市人民政府", "乌鲁木齐市大众创业万众就业实施方案", date(2015, 9, 1))
CSV_HEADER = "payout_id,direction,amount_cny,value_date,reference,clawback_id\n"


@pytest.fixture
async def pool(infra: Infra, schema: str) -> AsyncIterator[asyncpg.Pool]:
    await db.migrate(infra.dsn, schema=schema, directory=MIGRATIONS)
    p = await db.create_pool(infra.dsn, schema=schema, max_size=3)
    yield p
    await p.close()


def uscc(n: int) -> str:
    return f"9165010{n:010d}X"


def enterprise(
    n: int, *, division: str = "650102", certified: date | None = None, listed: date | None = None
) -> list[Fact]:
    u = uscc(n)
    out: list[Fact] = [
        incoming.EnterpriseRegistered(uuid.uuid4(), u, f"企业{n}", division, date(2015, 4, 1), employees=3),
        incoming.EnterpriseAdmitted(uuid.uuid4(), u, "INC-1", date(2015, 5, 1), OPERATOR, "运营方"),
    ]
    if certified:
        out.append(incoming.HighTechCertified(uuid.uuid4(), u, certified))
    if listed:
        out.append(incoming.ListedOnBoard(uuid.uuid4(), u, "XJEE", listed))
    return out


async def take(pool: asyncpg.Pool, events: list[Fact]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await take_facts(conn, events, AdoptedCache(), follow_up)


async def live(pool: asyncpg.Pool, n: int) -> list[tuple[str, str, str, int, bool]]:
    """(funding, rule, role, CNY, top-up) of an enterprise's live payouts."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT funding, rule, recipient_role, amount_cny, top_up_of IS NOT NULL AS top_up FROM payouts "
            "WHERE enterprise_uscc = $1 AND status = 'issued' ORDER BY 1, 2, 3, 4",
            uscc(n),
        )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def amendment(start: date = date(2016, 1, 1), high_tech: int = 150_000, **extra: Any) -> PolicyVersion:
    amounts = {**PLAN_2015.amounts, **each_role({Rule.HIGH_TECH_CERTIFICATION: high_tech})}
    return PolicyVersion(0, REGION, start, amounts, dict(PLAN_2015.window_years), NOTICE, **extra)


async def adopt(pool: asyncpg.Pool, v: PolicyVersion) -> dict[str, Any]:
    """Draft (one person), preview, adopt (another), and work the re-decisions off."""
    drafted = await policy_office.draft(pool, DRAFTER, v)
    preview = await what_if(pool, PolicyOverrides(draft_version=drafted["version_id"]))
    adopted = await policy_office.adopt(pool, ADOPTER, drafted["version_id"], preview["summary"]["digest"])
    while await policy_office.redecide_pending(pool, AdoptedCache(), 100, follow_up):
        pass
    return {"preview": preview, **adopted}


async def test_an_amendment_keeps_2015_at_100000_and_rates_2016_at_150000(pool: asyncpg.Pool) -> None:
    await take(pool, enterprise(1, certified=date(2015, 9, 1)))
    await take(pool, enterprise(2))  # admitted; its certification comes after the adoption
    result = await adopt(pool, amendment())
    assert result["preview"]["summary"]["affected"] == 0 and result["preview"]["affected"] == []
    assert result["version"]["version_id"] == 2 and result["version"]["adopted_by"] == "adam"
    await take(pool, [incoming.HighTechCertified(uuid.uuid4(), uscc(2), date(2016, 2, 1))])
    await take(pool, [incoming.HighTechCertified(uuid.uuid4(), uscc(1), date(2016, 3, 1))])
    await take(pool, [incoming.ListedOnBoard(uuid.uuid4(), uscc(1), "XJEE", date(2016, 4, 1))])
    assert await live(pool, 1) == [
        ("650000", "EQUITY_LISTING", "enterprise", 200_000, False),
        ("650000", "EQUITY_LISTING", "operator", 200_000, False),
        ("650000", "HIGH_TECH_CERTIFICATION", "enterprise", 100_000, False),
        ("650000", "HIGH_TECH_CERTIFICATION", "operator", 100_000, False),
    ]
    assert await live(pool, 2) == [
        ("650000", "HIGH_TECH_CERTIFICATION", "enterprise", 150_000, False),
        ("650000", "HIGH_TECH_CERTIFICATION", "operator", 150_000, False),
    ]
    async with pool.acquire() as conn:
        reversed_ = await conn.fetchval("SELECT count(*) FROM payouts WHERE status = 'reversed'")
        explanation = await conn.fetchval(
            "SELECT explanation FROM payouts WHERE enterprise_uscc = $1 AND recipient_role = 'operator'", uscc(2)
        )
        audit = await conn.fetch("SELECT actor, action, subject FROM audit_log ORDER BY seq")
        adopted_event = await conn.fetchval("SELECT count(*) FROM outbox")
    assert reversed_ == 0
    assert "政策版本 2" in explanation and "关于调整高新技术企业认定奖励的通知" in explanation
    assert [tuple(a) for a in audit] == [
        ("dora", "policy.draft", "policy-version:2"),
        ("adam", "policy.adopt", "policy-version:2"),
    ]
    assert adopted_event >= 1


async def test_four_eyes_and_the_checks_that_name_a_field(pool: asyncpg.Pool) -> None:
    drafted = await policy_office.draft(pool, DRAFTER, amendment())
    preview = await what_if(pool, PolicyOverrides(draft_version=drafted["version_id"]))
    with pytest.raises(NotAllowed, match="four eyes: dora drafted policy version 2 and cannot also adopt it"):
        await policy_office.adopt(pool, DRAFTER, drafted["version_id"], preview["summary"]["digest"])
    with pytest.raises(Invalid) as same_day:
        await policy_office.draft(pool, DRAFTER, amendment(start=date(2015, 4, 16)))
    assert same_day.value.fields == [("effective_from", "version 1 of 650000 already starts on 2015-04-16")]
    with pytest.raises(Invalid) as not_prefecture:
        await policy_office.draft(pool, DRAFTER, PolicyVersion(0, "659001", date(2016, 1, 1), {}, {}, URUMQI))
    assert not_prefecture.value.fields == [
        ("jurisdiction", "659001 is neither the region (650000) nor one of its 14 prefectures")
    ]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM policy_versions WHERE adopted_at IS NOT NULL") == 1
        with pytest.raises(asyncpg.RaiseError, match="policy version 1 is adopted: correct it with a newer version"):
            await conn.execute("UPDATE policy_versions SET doc_number = 'x' WHERE version_id = 1")


async def test_a_changed_set_between_preview_and_adoption_is_409_and_nothing_is_adopted(pool: asyncpg.Pool) -> None:
    await take(pool, enterprise(1, certified=date(2016, 3, 1)))
    drafted = await policy_office.draft(pool, DRAFTER, amendment())
    preview = await what_if(pool, PolicyOverrides(draft_version=drafted["version_id"]))
    assert preview["summary"]["affected"] == 2 and preview["summary"]["raised_cny"] == 100_000
    async with pool.acquire() as conn:
        [payout_id] = await conn.fetch(
            "SELECT payout_id FROM payouts WHERE enterprise_uscc = $1 AND recipient_role = 'operator'", uscc(1)
        )
    await disbursement.approve_payouts(pool, TREASURER, [payout_id["payout_id"]])  # its stage moves: owed -> approved
    with pytest.raises(Conflict, match="no longer what was previewed"):
        await policy_office.adopt(pool, ADOPTER, drafted["version_id"], preview["summary"]["digest"])
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT adopted_at FROM policy_versions WHERE version_id = 2") is None
        assert await conn.fetchval("SELECT count(*) FROM policy_redecisions") == 0


async def paid_through_the_bank(pool: asyncpg.Pool, payout_ids: list[uuid.UUID]) -> uuid.UUID:
    await disbursement.approve_payouts(pool, ADOPTER, payout_ids)
    batch = await disbursement.prepare_batch(pool, TREASURER, 100, payout_ids)
    await disbursement.release_batch(pool, ADOPTER, uuid.UUID(batch["batch_id"]))
    return uuid.UUID(batch["batch_id"])


async def payouts_by_stage(pool: asyncpg.Pool) -> dict[int, list[uuid.UUID]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT enterprise_uscc, payout_id FROM payouts ORDER BY enterprise_uscc, recipient_role"
        )
    out: dict[int, list[uuid.UUID]] = {}
    for r in rows:
        out.setdefault(int(r["enterprise_uscc"][7:17]), []).append(r["payout_id"])
    return out


async def test_a_raise_reaching_back_tops_up_every_stage_and_the_stages_stand(pool: asyncpg.Pool) -> None:
    # Enterprises 1..5 certified in 2016, their awards brought to owed, approved, batched,
    # released and paid.
    for n in range(1, 6):
        await take(pool, enterprise(n, certified=date(2016, 3, n)))
    ids = await payouts_by_stage(pool)
    await disbursement.approve_payouts(pool, ADOPTER, ids[2] + ids[3] + ids[4] + ids[5])
    await disbursement.prepare_batch(pool, TREASURER, 100, ids[3])
    for n in (4, 5):
        batch = await disbursement.prepare_batch(pool, TREASURER, 100, ids[n])
        await disbursement.release_batch(pool, DRAFTER, uuid.UUID(batch["batch_id"]))
    lines = "".join(f"{pid},paid,100000,2016-05-01,BANK-{pid.hex[:8]},\n" for pid in ids[5])
    await confirmations.import_confirmation(pool, TREASURER, (CSV_HEADER + lines).encode())

    result = await adopt(pool, amendment())
    preview = result["preview"]
    assert sorted((a["stage"], a["old_cny"], a["new_cny"]) for a in preview["affected"]) == sorted(
        [(stage, 100_000, 150_000) for stage in ("owed", "approved", "batched", "released", "paid") for _ in range(2)]
    )
    assert preview["summary"] | {"digest": ""} == {
        "affected": 10, "raised": 10, "raised_cny": 500_000, "lowered": 0, "lowered_cny": 0, "refused": 0,
        "new_awards": 0, "new_awards_cny": 0, "digest": "",
    }  # fmt: skip
    for n in range(1, 6):
        assert await live(pool, n) == [
            ("650000", "HIGH_TECH_CERTIFICATION", "enterprise", 50_000, True),
            ("650000", "HIGH_TECH_CERTIFICATION", "enterprise", 100_000, False),
            ("650000", "HIGH_TECH_CERTIFICATION", "operator", 50_000, True),
            ("650000", "HIGH_TECH_CERTIFICATION", "operator", 100_000, False),
        ], n
    async with pool.acquire() as conn:
        states = await conn.fetch(
            "SELECT p.enterprise_uscc, d.state FROM payouts p LEFT JOIN disbursements d USING (payout_id) "
            "WHERE p.top_up_of IS NULL ORDER BY 1, 2"
        )
        reversed_ = await conn.fetchval("SELECT count(*) FROM payouts WHERE status = 'reversed'")
    assert [r["state"] for r in states] == [
        None,
        None,
        "approved",
        "approved",
        "batched",
        "batched",
        "batched",
        "batched",
        "paid",
        "paid",
    ]
    assert reversed_ == 0  # what was approved, batched or paid stands
    # Positions: the paid enterprise holds what the bank paid; its top-up is owed on top of it.
    paid_one = await disbursement_queries.position(pool, uscc(5))
    assert (paid_one["paid_cny"], paid_one["clawed_back_cny"], paid_one["net_cny"]) == (100_000, 0, 100_000)
    top_ups = await disbursement_queries.owed(
        pool, OwedFilter(None, None, None, None, None, None, uscc(5)), after=0, limit=10
    )
    assert (top_ups["count"], top_ups["total_cny"]) == (2, 100_000)
    assert {p["top_up_of"] is not None for p in top_ups["payouts"]} == {True}


async def test_a_decrease_reaching_back_is_refused_over_paid_awards_and_reissues_those_not_paid(
    pool: asyncpg.Pool,
) -> None:
    await take(pool, enterprise(1, certified=date(2016, 3, 1)))
    await take(pool, enterprise(2, certified=date(2016, 3, 2)))
    ids = await payouts_by_stage(pool)
    await disbursement.approve_payouts(pool, ADOPTER, ids[2])
    batch = await disbursement.prepare_batch(pool, TREASURER, 100, ids[2])
    await disbursement.release_batch(pool, DRAFTER, uuid.UUID(batch["batch_id"]))
    lines = "".join(f"{pid},paid,100000,2016-05-01,BANK-{pid.hex[:8]},\n" for pid in ids[2])
    await confirmations.import_confirmation(pool, TREASURER, (CSV_HEADER + lines).encode())

    drafted = await policy_office.draft(pool, DRAFTER, amendment(high_tech=80_000))
    preview = await what_if(pool, PolicyOverrides(draft_version=drafted["version_id"]))
    assert sorted((a["stage"], a["old_cny"], a["new_cny"], a["refused"]) for a in preview["affected"]) == [
        ("owed", 100_000, 80_000, False),
        ("owed", 100_000, 80_000, False),
        ("paid", 100_000, 100_000, True),
        ("paid", 100_000, 100_000, True),
    ]
    assert preview["refusal"].startswith("2 award(s) already released to the bank or paid would be lowered")
    with pytest.raises(Conflict, match="already released to the bank or paid would be lowered"):
        await policy_office.adopt(pool, ADOPTER, drafted["version_id"], preview["summary"]["digest"])
    assert await live(pool, 1) == [
        ("650000", "HIGH_TECH_CERTIFICATION", "enterprise", 100_000, False),
        ("650000", "HIGH_TECH_CERTIFICATION", "operator", 100_000, False),
    ]


async def test_a_decrease_before_any_money_left_reissues_at_the_new_amount(pool: asyncpg.Pool) -> None:
    await take(pool, enterprise(1, certified=date(2016, 3, 1)))
    ids = await payouts_by_stage(pool)
    await disbursement.approve_payouts(pool, ADOPTER, ids[1])
    await adopt(pool, amendment(high_tech=80_000))
    assert await live(pool, 1) == [
        ("650000", "HIGH_TECH_CERTIFICATION", "enterprise", 80_000, False),
        ("650000", "HIGH_TECH_CERTIFICATION", "operator", 80_000, False),
    ]
    async with pool.acquire() as conn:
        old = await conn.fetch(
            "SELECT p.reversal_reason, d.state FROM payouts p JOIN disbursements d USING (payout_id) "
            "WHERE p.status = 'reversed' ORDER BY 1, 2"
        )
    assert [tuple(r) for r in old] == [("AMENDED", "cancelled"), ("AMENDED", "cancelled")]  # the approval is lost


async def test_a_prefecture_plan_pays_its_own_enterprises_from_its_own_budget_in_its_own_batch(
    pool: asyncpg.Pool,
) -> None:
    await take(pool, enterprise(1, division="650102", listed=date(2015, 11, 2)))  # 乌鲁木齐
    await take(pool, enterprise(2, division="654002", listed=date(2015, 11, 2)))  # 伊犁
    await take(pool, enterprise(3, division="650102", listed=date(2015, 9, 30)))  # before the plan
    plan = PolicyVersion(0, "650100", date(2015, 10, 1), each_role({Rule.EQUITY_LISTING: 50_000}), {}, URUMQI)
    result = await adopt(pool, plan)
    assert result["preview"]["summary"]["new_awards"] == 2 and result["preview"]["summary"]["new_awards_cny"] == 100_000
    assert result["queued_redecisions"] == 1  # only 650100's enterprise with a fact since 2015-10-01
    assert await live(pool, 1) == [
        ("650000", "EQUITY_LISTING", "enterprise", 200_000, False),
        ("650000", "EQUITY_LISTING", "operator", 200_000, False),
        ("650100", "EQUITY_LISTING", "enterprise", 50_000, False),
        ("650100", "EQUITY_LISTING", "operator", 50_000, False),
    ]
    assert [p[0] for p in await live(pool, 2)] == ["650000", "650000"]
    assert [p[0] for p in await live(pool, 3)] == ["650000", "650000"]
    ids = await payouts_by_stage(pool)
    await disbursement.approve_payouts(pool, ADOPTER, ids[1] + ids[2])
    region = await disbursement.prepare_batch(pool, TREASURER, 100, None)
    local = await disbursement.prepare_batch(pool, TREASURER, 100, None, "650100")
    assert (region["funding"], region["payouts"], region["total_cny"]) == ("650000", 4, 800_000)
    assert (local["funding"], local["payouts"], local["total_cny"]) == ("650100", 2, 100_000)
    await disbursement.release_batch(pool, ADOPTER, uuid.UUID(local["batch_id"]))
    content, _ = await disbursement.batch_file(pool, uuid.UUID(local["batch_id"]), "csv")
    assert content.decode().splitlines()[0].endswith(",funding")
    assert {line.split(",")[-1] for line in content.decode().splitlines()[1:-1]} == {"650100"}


async def test_re_decisions_cut_short_finish_later_each_payout_once(pool: asyncpg.Pool) -> None:
    for n in range(1, 8):
        await take(pool, enterprise(n, certified=date(2016, 3, n)))
    drafted = await policy_office.draft(pool, DRAFTER, amendment())
    preview = await what_if(pool, PolicyOverrides(draft_version=drafted["version_id"]))
    adopted = await policy_office.adopt(pool, ADOPTER, drafted["version_id"], preview["summary"]["digest"])
    assert adopted["queued_redecisions"] == 7
    assert await policy_office.redecide_pending(pool, AdoptedCache(), 3, follow_up) == 3
    # A batch holding a line of an enterprise still to re-decide is not released meanwhile.
    ids = await payouts_by_stage(pool)
    await disbursement.approve_payouts(pool, ADOPTER, ids[7])
    batch = await disbursement.prepare_batch(pool, TREASURER, 100, ids[7])
    with pytest.raises(Conflict, match="still being applied to 1 enterprise"):
        await disbursement.release_batch(pool, DRAFTER, uuid.UUID(batch["batch_id"]))
    # A crash here loses nothing: the queue is in the database. A new worker finishes it.
    while await policy_office.redecide_pending(pool, AdoptedCache(), 3, follow_up):
        pass
    assert (await disbursement.release_batch(pool, DRAFTER, uuid.UUID(batch["batch_id"])))["released"]
    async with pool.acquire() as conn:
        top_ups = await conn.fetchval("SELECT count(*) FROM payouts WHERE top_up_of IS NOT NULL")
        twice = await conn.fetchval(
            "SELECT count(*) FROM (SELECT top_up_of FROM payouts WHERE top_up_of IS NOT NULL "
            "GROUP BY 1 HAVING count(*) > 1) t"
        )
    assert (top_ups, twice) == (14, 0)
    # Working an empty queue again changes nothing.
    assert await policy_office.redecide_pending(pool, AdoptedCache(), 3, follow_up) == 0


async def test_a_decrease_that_allows_recovery_raises_a_clawback_of_the_difference_naming_the_version(
    pool: asyncpg.Pool,
) -> None:
    await take(pool, enterprise(1, certified=date(2016, 3, 1)))
    ids = await payouts_by_stage(pool)
    await paid_through_the_bank(pool, ids[1])
    lines = "".join(f"{pid},paid,100000,2016-05-01,BANK-{pid.hex[:8]},\n" for pid in ids[1])
    await confirmations.import_confirmation(pool, TREASURER, (CSV_HEADER + lines).encode())
    result = await adopt(pool, amendment(high_tech=80_000, allows_recovery=True))
    assert sorted((a["stage"], a["old_cny"], a["new_cny"], a["refused"]) for a in result["preview"]["affected"]) == [
        ("paid", 100_000, 80_000, False),
        ("paid", 100_000, 80_000, False),
    ]
    async with pool.acquire() as conn:
        claws = await conn.fetch("SELECT clawback_id, amount_cny, reason_code FROM clawbacks ORDER BY 1")
        held = await conn.fetch("SELECT amount_cny, recovered_cny, status FROM payouts ORDER BY payout_id")
    assert [(c["clawback_id"].split(":")[:2], c["amount_cny"], c["reason_code"]) for c in claws] == [
        (["amended", "2"], 20_000, "AMENDED")
    ] * 2
    assert [tuple(h) for h in held] == [(100_000, 20_000, "issued")] * 2
    # Re-deciding again changes nothing: the difference is owed back once.
    async with pool.acquire() as conn, conn.transaction():
        from services.awards.ledger.service_layer.rules import decide_and_reconcile

        await decide_and_reconcile(conn, [uscc(1)], AdoptedCache(), follow_up)
        assert await conn.fetchval("SELECT count(*) FROM clawbacks") == 2


async def test_restored_books_decide_nothing_until_they_hold_every_adoption_the_log_records(pool: asyncpg.Pool) -> None:
    from services.awards.office.service_layer.redo import hold_for_log
    from services.awards.policy.domain.adoptions import logged_adoption
    from shared.messaging.consumer import NotYet

    v = amendment()
    logged = {
        "event_type": "PolicyVersionAdopted",
        "data": {
            "version_id": 7,
            "jurisdiction": "650000",
            "effective_from": "2016-01-01",
            "amounts_cny": {rule.value: {role.value: v.amount(rule, role) for role in RecipientRole} for rule in Rule},
            "window_years": {r.value: y for r, y in v.window_years.items()},
            "allows_recovery": False,
            "document": {"issuer": NOTICE.issuer, "title": NOTICE.title, "issued_on": "2015-12-01"},
            "drafted_by": "dora",
            "adopted_by": "adam",
            "adopted_on": "2026-12-01",
        },
    }
    assert logged_adoption(logged["data"]).version_id == 7
    assert await hold_for_log(pool, [logged]) == 1
    with pytest.raises(
        NotYet, match=r"award log records adopted policy versions these books lack \(650000 from 2016-01-01\)"
    ):
        await take(pool, enterprise(1, certified=date(2016, 3, 1)))
    await adopt(pool, v)  # the office adopts it again (as version 2 here)
    assert await hold_for_log(pool, [logged]) == 0
    await take(pool, enterprise(1, certified=date(2016, 3, 1)))
    assert await live(pool, 1) == [
        ("650000", "HIGH_TECH_CERTIFICATION", "enterprise", 150_000, False),
        ("650000", "HIGH_TECH_CERTIFICATION", "operator", 150_000, False),
    ]


async def test_a_registration_after_the_facts_names_the_payout_whatever_the_order(pool: asyncpg.Pool) -> None:
    registration, *facts = enterprise(40, certified=date(2016, 2, 1))
    names = "SELECT recipient_role, recipient_name, enterprise_name FROM payouts ORDER BY recipient_role"
    await take(pool, facts)  # decided before awards knows the enterprise's name
    async with pool.acquire() as conn:
        before = await conn.fetch(names)
    await take(pool, [registration])
    async with pool.acquire() as conn:
        after = await conn.fetch(names)
    assert [tuple(r) for r in before] == [("enterprise", "", None), ("operator", "运营方", None)]
    # Both payouts carry the enterprise's name, which the approvals' search reads.
    assert [tuple(r) for r in after] == [("enterprise", "企业40", "企业40"), ("operator", "运营方", "企业40")]


async def test_a_payout_issued_after_the_registration_carries_the_enterprise_name(pool: asyncpg.Pool) -> None:
    await take(pool, enterprise(41, certified=date(2016, 2, 1)))
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT recipient_role, recipient_name, enterprise_name FROM payouts ORDER BY recipient_role"
        )
    assert [tuple(r) for r in rows] == [("enterprise", "企业41", "企业41"), ("operator", "运营方", "企业41")]


async def test_owed_payouts_are_found_by_part_of_a_name_or_code_however_short(pool: asyncpg.Pool) -> None:
    await take(pool, enterprise(50, certified=date(2016, 2, 1)) + enterprise(51, certified=date(2016, 2, 1)))

    async def found(text: str) -> tuple[int, list[tuple[str, str]]]:
        doc = await disbursement_queries.owed(pool, OwedFilter(text=text), after=0, limit=10)
        return doc["count"], sorted((p["enterprise_uscc"][-4:], p["recipient_role"]) for p in doc["payouts"])

    both = [("050X", "enterprise"), ("050X", "operator"), ("051X", "enterprise"), ("051X", "operator")]
    assert await found("业5") == (4, both)  # two characters: no trigram, each owed payout is read
    assert await found("企业51") == (2, both[2:])  # the enterprise's name brings its operator's payout
    assert await found("运营") == (2, [both[1], both[3]])  # the recipient's name
    assert await found("51x") == (2, both[2:])  # part of a code, either case
    # ...0050X, and the operator's ...010X as recipient, not ...0051X's own payout
    assert await found("0x") == (3, [*both[:2], both[3]])
    assert await found("业9") == (0, [])
