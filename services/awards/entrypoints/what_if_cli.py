"""`python -m services.awards what-if --listing-window-years 3`: the what-if budget as a table."""

import argparse
import asyncio
import sys
from typing import Any

import asyncpg
from pydantic import ValidationError
from tqdm import tqdm

from services.awards.processing import SERVICE
from services.awards.settings import AwardsSettings
from services.awards.what_if import PolicyOverrides, what_if
from shared.labels_zh import ROLE_ZH, RULE_ZH


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
    head = f"{'rule':<26}{'role':<12}{'year':>6}{'what-if n':>11}{'what-if CNY':>16}{'ledger n':>10}{'ledger CNY':>16}"
    lines = [head, "-" * len(head)]
    for r in result["rows"]:
        w, led = r["what_if"], r["ledger"]
        lines.append(
            f"{r['rule']:<26}{r['recipient_role']:<12}{r['basis_year']:>6}"
            f"{w['payouts']:>11,}{w['amount_cny']:>16,}{led['payouts']:>10,}{led['amount_cny']:>16,}"
            f"  {RULE_ZH[r['rule']]}·{ROLE_ZH[r['recipient_role']]}"
        )
    t = result["totals"]
    lines.append("-" * len(head))
    lines.append(
        f"{'total':<44}{t['what_if']['payouts']:>11,}{t['what_if']['amount_cny']:>16,}"
        f"{t['ledger']['payouts']:>10,}{t['ledger']['amount_cny']:>16,}"
    )
    return "\n".join(lines)


async def run(overrides: PolicyOverrides) -> dict[str, Any]:
    settings = AwardsSettings()
    current = settings.policy()
    conn = await asyncpg.connect(settings.dsn, server_settings={"search_path": f"{SERVICE},public"})
    bar: tqdm[Any] | None = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        bar = bar or tqdm(total=total, unit=" enterprises", desc="what-if", file=sys.stderr)
        bar.update(done)

    try:
        return await what_if(conn, overrides.applied_to(current), current=current, progress=progress)
    finally:
        if bar is not None:
            bar.close()
        await conn.close()


def main(argv: list[str]) -> None:
    result = asyncio.run(run(parse(argv)))
    print(f"policy  : {result['policy']}")
    print(f"current : {result['current_policy']}")
    print(f"enterprises some policy could pay: {result['enterprises']:,}")
    print(table(result))
