"""The upgrade from policy settings to policy versions: a deployment that set the old
variables makes them its version 1, once, before the upgrade's first start, so that
re-deciding any enterprise afterwards re-rates nothing.

Run as the migration role (it owns `policy_versions`: only the owner can lift the
immutability trigger for this one rewrite, which the audit trail records)."""

from collections.abc import Mapping
from datetime import date

import asyncpg
import orjson

from services.awards.audit.adapters import audit_trail
from services.awards.audit.domain.audit import Actor
from services.awards.policy.adapters import policy_versions
from services.awards.policy.domain.policy import PLAN_2015, WINDOW_YEARS, PolicyDocument, PolicyVersion, each_role
from services.awards.settings import LEGACY_POLICY_VARIABLES, legacy_policy_set
from shared.contract.enums import Rule

DEPLOYMENT_DOCUMENT = PolicyDocument(
    issuer="本部署的原配置 (this deployment's settings)",
    title="升级前的政策变量 (the policy variables set before versions)",
    issued_on=PLAN_2015.effective_from,
)
MARK = "policy-from-env"


class LegacyPolicyError(ValueError):
    pass


def version_from_env(environ: Mapping[str, str]) -> PolicyVersion:
    """Version 1 with the variables' numbers; an unset one keeps the 2015 plan's."""

    def number(name: str, default: int, allowed: range) -> int:
        raw = environ.get(name, "")
        if raw == "":
            return default
        try:
            value = int(raw)
        except ValueError as exc:
            raise LegacyPolicyError(f"{name}={raw!r} is not a whole number") from exc
        if value not in allowed:
            raise LegacyPolicyError(f"{name}={value} is outside {allowed.start} to {allowed.stop - 1}")
        return value

    cny = range(0, 100_000_001)
    plan = PLAN_2015
    raw_from = environ.get("POLICY_EFFECTIVE_FROM", "")
    try:
        effective = date.fromisoformat(raw_from) if raw_from else plan.effective_from
    except ValueError as exc:
        raise LegacyPolicyError(f"POLICY_EFFECTIVE_FROM={raw_from!r} is not a YYYY-MM-DD date") from exc
    if effective < plan.effective_from:
        raise LegacyPolicyError(f"POLICY_EFFECTIVE_FROM={effective} is before the plan's start {plan.effective_from}")
    amounts = {
        Rule.HIGH_TECH_CERTIFICATION: number("AWARD_HIGH_TECH_CNY", 100_000, cny),
        Rule.EQUITY_LISTING: number("AWARD_LISTING_CNY", 200_000, cny),
        Rule.BOARD_TRANSFER: number("AWARD_TRANSFER_CNY", 100_000, cny),
    }
    windows = {
        Rule.HIGH_TECH_CERTIFICATION: number("HIGH_TECH_WINDOW_YEARS", 1, WINDOW_YEARS),
        Rule.EQUITY_LISTING: number("LISTING_WINDOW_YEARS", 2, WINDOW_YEARS),
    }
    return PolicyVersion(1, plan.jurisdiction, effective, each_role(amounts), windows, DEPLOYMENT_DOCUMENT)


async def adopt_environment(environ: Mapping[str, str], dsn: str, schema: str = "awards") -> str:
    """`dsn`: the migration role's (the table's owner)."""
    names = legacy_policy_set(environ)
    if not names:
        return f"none of {', '.join(LEGACY_POLICY_VARIABLES)} is set: version 1 stays the 2015 plan"
    wanted = version_from_env(environ)
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        async with conn.transaction():
            return await _rewrite_version_1(conn, wanted, names)
    finally:
        await conn.close()


async def _rewrite_version_1(conn: asyncpg.Connection, wanted: PolicyVersion, names: list[str]) -> str:
    rows = await policy_versions.all_rows(conn, lock=True)
    if not rows:
        raise LegacyPolicyError("awards is not migrated: run `python -m services.awards migrate` first")
    if rows[0]["drafted_by"] == MARK:
        return "version 1 was already made from this deployment's variables; nothing changed"
    if len(rows) > 1:
        raise LegacyPolicyError("versions were drafted after version 1: the variables can no longer become version 1")
    current = policy_versions.version_of(rows[0])
    if (current.amounts, current.window_years, current.effective_from) == (
        dict(wanted.amounts),
        dict(wanted.window_years),
        wanted.effective_from,
    ):
        return f"{', '.join(names)} equal the 2015 plan: version 1 stands as it is"
    await policy_versions.rewrite_version_1(conn, wanted, MARK, "the operator, before the upgrade")
    operator = Actor(MARK, "operator (migration role)", ("migrator",), MARK)
    amounts = orjson.loads(policy_versions.amounts_json(wanted))
    await audit_trail.append(
        conn, operator, [("policy.from-env", "policy-version:1", {"variables": names, "amounts_cny": amounts})]
    )
    return f"version 1 now holds {', '.join(names)} as set; unset them before starting awards"
