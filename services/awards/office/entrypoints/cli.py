"""Awards' command line: `python -m services.awards [serve]`, and
`python -m services.awards what-if --listing-window-years 3` (the what-if budget as a table)."""

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from tqdm import tqdm

from services.awards.audit.service_layer import audit_chain
from services.awards.audit.service_layer.audit_chain import ChainReport
from services.awards.office.adapters.award_log import award_events
from services.awards.office.domain.redo import Redo
from services.awards.office.domain.what_if import PolicyOverrides
from services.awards.office.service_layer.redo import ADOPTIONS, PEOPLES_ACTS, hold_for_log, redo_list
from services.awards.office.service_layer.what_if_budget import what_if
from services.awards.settings import AwardsSettings
from shared.contract.labels_zh import ROLE_ZH, RULE_ZH
from shared.process import db
from shared.process.cli import Command, dispatch, migrate_command
from shared.process.serve import serve

SERVICE = "awards"


def parse(argv: list[str]) -> PolicyOverrides:
    parser = argparse.ArgumentParser(prog="python -m services.awards what-if", description=__doc__)
    for name, field in PolicyOverrides.model_fields.items():
        parser.add_argument("--" + name.replace("_", "-"), dest=name, help=field.description)
    given = {k: v for k, v in vars(parser.parse_args(argv)).items() if v is not None}
    try:
        return PolicyOverrides.model_validate_strings(given)
    except ValidationError as exc:
        for err in exc.errors():
            print(f"--{str(err['loc'][0]).replace('_', '-')}: {err['msg']}", file=sys.stderr)
        raise SystemExit(2) from exc


def table(result: dict[str, Any]) -> str:
    head = (
        f"{'funding':<9}{'rule':<26}{'role':<12}{'year':>6}"
        f"{'what-if n':>11}{'what-if CNY':>16}{'ledger n':>10}{'ledger CNY':>16}"
    )
    lines = [head, "-" * len(head)]
    for r in result["rows"]:
        w, led = r["what_if"], r["ledger"]
        lines.append(
            f"{r['funding']:<9}{r['rule']:<26}{r['recipient_role']:<12}{r['basis_year']:>6}"
            f"{w['payouts']:>11,}{w['amount_cny']:>16,}{led['payouts']:>10,}{led['amount_cny']:>16,}"
            f"  {RULE_ZH[r['rule']]}·{ROLE_ZH[r['recipient_role']]}"
        )
    t = result["totals"]
    lines.append("-" * len(head))
    lines.append(
        f"{'total':<53}{t['what_if']['payouts']:>11,}{t['what_if']['amount_cny']:>16,}"
        f"{t['ledger']['payouts']:>10,}{t['ledger']['amount_cny']:>16,}"
    )
    return "\n".join(lines)


async def run(overrides: PolicyOverrides) -> dict[str, Any]:
    settings = AwardsSettings()
    pool = await db.create_pool(settings.dsn, schema=SERVICE, min_size=1, max_size=1)
    bar: tqdm[Any] | None = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        bar = bar or tqdm(total=total, unit=" enterprises", desc="what-if", file=sys.stderr)
        bar.update(done)

    try:
        return await what_if(pool, overrides, progress=progress)
    finally:
        if bar is not None:
            bar.close()
        await pool.close()


def what_if_command(argv: list[str]) -> None:
    result = asyncio.run(run(parse(argv)))
    print(f"policy  : {result['policy']}")
    print(f"current : {result['current_policy']}")
    print(f"enterprises some policy could pay: {result['enterprises']:,}")
    print(table(result))


def verify_audit_command(argv: list[str]) -> None:
    """Exit 0 when the audit trail's hash chain is intact; 1, naming each broken row, when not."""

    async def run() -> ChainReport:
        pool = await db.create_pool(AwardsSettings().dsn, schema=SERVICE, min_size=1, max_size=1)
        try:
            return await audit_chain.verify(pool)
        finally:
            await pool.close()

    report = asyncio.run(run())
    for seq, why in report.breaks:
        print(f"audit row {seq}: {why}")
    print(f"audit chain {'intact' if report.intact else 'BROKEN'}: {report.rows} rows, head {report.head}")
    raise SystemExit(0 if report.intact else 1)


def redo_command(argv: list[str]) -> None:
    """After a restore: the approvals and the bank's lines the log recorded and the books
    lack, one per line (exit 0 also when there is nothing to redo)."""

    async def run() -> list[Redo]:
        settings = AwardsSettings()
        pool = await db.create_pool(settings.dsn, schema=SERVICE, min_size=1, max_size=1)
        try:
            return await redo_list(pool, await award_events(settings, PEOPLES_ACTS))
        finally:
            await pool.close()

    todo = asyncio.run(run())
    for r in todo:
        print(f"{r.act:<8} {r.payout_id or '-'}  {r.said}")
    print(
        f"{len(todo)} act(s) to redo: approvals on the approvals page, bank lines by importing them again, "
        "policy versions by drafting and adopting them again"
    )


def hold_for_log_command(argv: list[str]) -> None:
    """After a restore, before the services start (`make restore` runs it): decisions wait
    until the books hold every policy version the award log records as adopted."""
    from shared.process.settings import ServiceSettings

    async def run() -> int:
        settings = ServiceSettings()  # the migration role's DATABASE_URL, the operator's Kafka
        pool = await db.create_pool(settings.dsn, schema=SERVICE, min_size=1, max_size=1)
        try:
            return await hold_for_log(pool, await award_events(settings, ADOPTIONS))
        finally:
            await pool.close()

    missing = asyncio.run(run())
    print(
        f"{missing} adopted policy version(s) of the award log missing from the books"
        + (": awards decides nothing until they are adopted again (see `redo`)" if missing else "")
    )


def policy_from_env_command(argv: list[str]) -> None:
    """Once, before an upgrade's first start: the policy variables an earlier release read
    become this deployment's version 1, so the upgrade re-rates nothing."""
    from services.awards.office.service_layer.legacy_policy import LegacyPolicyError, adopt_environment
    from shared.process.settings import ServiceSettings

    try:
        print(asyncio.run(adopt_environment(os.environ, ServiceSettings().dsn, SERVICE)))
    except LegacyPolicyError as exc:
        print(f"policy-from-env: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc


def serve_command(argv: list[str]) -> None:
    from services.awards.app import create_app

    serve(SERVICE, create_app, default_port=8002)


def main(argv: list[str] | None = None) -> None:
    dispatch(
        "python -m services.awards",
        {
            "serve": Command("serve HTTP and consume enterprise.events.v1", serve_command),
            "migrate": migrate_command(SERVICE, Path(__file__).parents[2] / "migrations"),
            "what-if": Command("the budget under other policy numbers, beside the ledger", what_if_command),
            "verify-audit": Command("check the audit trail's hash chain (exit 1 if broken)", verify_audit_command),
            "policy-from-env": Command(
                "once, before upgrading: the old policy variables become version 1", policy_from_env_command
            ),
            "hold-for-log": Command(
                "after a restore: decisions wait for every version the award log adopted", hold_for_log_command
            ),
            "redo": Command("after a restore: people's acts the log recorded and the books lack", redo_command),
        },
        argv,
    )
