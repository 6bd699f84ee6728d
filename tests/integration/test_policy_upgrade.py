"""An upgrade re-rates nothing: a ledger made by the release before versions under
non-default policy variables, migrated, and its variables turned into version 1 by
`policy-from-env`, keeps every payout when its enterprises are re-decided. Without the
command, the same re-decision would reverse them: the test has something to catch."""

import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import asyncpg
import orjson
import pytest

from services.awards.handlers import follow_up
from services.awards.ledger.domain.award_rules import decide
from services.awards.ledger.domain.facts import Admission, Certification, EnterpriseFacts
from services.awards.ledger.service_layer.rules import decide_and_reconcile
from services.awards.office.service_layer.legacy_policy import adopt_environment
from services.awards.policy.adapters.policy_versions import AdoptedCache
from services.awards.policy.domain.policy import PLAN_2015, PolicyVersion, Versions, each_role
from shared.contract.enums import Rule
from shared.process import db
from tests.support.stack import ROOT, Infra

pytestmark = pytest.mark.integration
MIGRATIONS = ROOT / "services" / "awards" / "migrations"
OLD_ENV = {"AWARD_HIGH_TECH_CNY": "150000", "HIGH_TECH_WINDOW_YEARS": "2"}
OPERATOR = "91650100MA7700010X"


@pytest.fixture
async def conn(infra: Infra, schema: str, tmp_path: Path) -> AsyncIterator[asyncpg.Connection]:
    before = tmp_path / "migrations"
    before.mkdir()
    for f in sorted(MIGRATIONS.glob("*.sql")):
        if f.name < "0013":
            shutil.copy(f, before / f.name)
    await db.migrate(infra.dsn, schema=schema, directory=before)
    c = await asyncpg.connect(infra.dsn, server_settings={"search_path": schema})
    yield c
    await c.close()


async def old_ledger(conn: asyncpg.Connection, n: int) -> None:
    """What the release before versions wrote under OLD_ENV: facts, and payouts of 150,000."""
    old_policy = Versions.of(
        [
            PolicyVersion(
                1,
                "650000",
                PLAN_2015.effective_from,
                {**PLAN_2015.amounts, **each_role({Rule.HIGH_TECH_CERTIFICATION: 150_000})},
                {Rule.HIGH_TECH_CERTIFICATION: 2, Rule.EQUITY_LISTING: 2},
            )
        ]
    )
    for i in range(n):
        u = f"9165010{i:010d}X"
        admitted = Admission(uuid.uuid4(), "INC-1", date(2015, 5, 1), OPERATOR, "运营方")
        certified = Certification(uuid.uuid4(), date(2015, 8, 1 + i))
        await conn.execute("INSERT INTO enterprises VALUES ($1, $2, '650102', '2015-04-01')", u, f"企业{i}")
        for event_id, kind, data in (
            (admitted.event_id, "EnterpriseAdmitted", {"uscc": u, "incubator_id": "INC-1", "admitted_on": "2015-05-01",
                                                       "operator_uscc": OPERATOR, "operator_name": "运营方"}),
            (certified.event_id, "HighTechCertified", {"uscc": u, "certified_on": certified.certified_on.isoformat()}),
        ):  # fmt: skip
            await conn.execute(
                "INSERT INTO facts VALUES ($1, $2, $3, $4::jsonb)", event_id, u, kind, orjson.dumps(data).decode()
            )
        facts = EnterpriseFacts(u, f"企业{i}", frozenset({admitted}), certifications=frozenset({certified}))
        for p in decide(facts, old_policy).payouts:
            await conn.execute(
                "INSERT INTO payouts (payout_id, enterprise_uscc, rule, recipient_role, recipient_uscc, "
                "recipient_name, incubator_id, amount_cny, basis_event_id, basis_date, explanation, status) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'issued')",
                uuid.uuid4(), u, p.rule.value, p.recipient_role.value, p.recipient_uscc, p.recipient_name,
                p.incubator_id, p.amount_cny, p.basis_event_id, p.basis_date, p.explanation,
            )  # fmt: skip


async def ledger_rows(conn: asyncpg.Connection) -> list[tuple[object, ...]]:
    rows = await conn.fetch("SELECT payout_id, amount_cny, status, funding, policy_version FROM payouts ORDER BY 1")
    return [tuple(r) for r in rows]


async def test_an_upgrade_with_old_policy_variables_keeps_every_payout(
    infra: Infra, schema: str, conn: asyncpg.Connection
) -> None:
    await old_ledger(conn, 5)
    await db.migrate(infra.dsn, schema=schema, directory=MIGRATIONS)  # the upgrade's migration
    before = await ledger_rows(conn)
    assert len(before) == 10 and {r[1:] for r in before} == {(150_000, "issued", "650000", 1)}
    usccs = [f"9165010{i:010d}X" for i in range(5)]

    # Without the command, version 1 is the 2015 plan: re-deciding would re-rate all ten.
    tr = conn.transaction()
    await tr.start()
    await decide_and_reconcile(conn, usccs, AdoptedCache(), follow_up)
    assert await conn.fetchval("SELECT count(*) FROM payouts WHERE status = 'reversed'") == 10
    await tr.rollback()

    said = await adopt_environment(OLD_ENV, infra.dsn, schema)
    assert (
        said
        == "version 1 now holds AWARD_HIGH_TECH_CNY, HIGH_TECH_WINDOW_YEARS as set; unset them before starting awards"
    )
    assert await adopt_environment(OLD_ENV, infra.dsn, schema) == (
        "version 1 was already made from this deployment's variables; nothing changed"
    )
    async with conn.transaction():
        await decide_and_reconcile(conn, usccs, AdoptedCache(), follow_up)
    assert await ledger_rows(conn) == before  # every payout kept, none re-rated
    audit = await conn.fetch("SELECT actor, action, subject FROM audit_log")
    assert [tuple(a) for a in audit] == [("policy-from-env", "policy.from-env", "policy-version:1")]
    with pytest.raises(asyncpg.RaiseError, match="policy version 1 is adopted"):
        await conn.execute("UPDATE policy_versions SET doc_title = 'x' WHERE version_id = 1")
