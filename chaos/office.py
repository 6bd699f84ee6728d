"""The office's side of a chaos fault, over HTTP as the workspace does it: payouts approved,
a batch prepared and released, the bank's confirmation file imported — signed in with the
stack's development key (stack/dev_auth.py), as alice (approver), bob (treasurer and
approver, prepares) and carol (treasurer, imports)."""

import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from services.awards.treasury.domain.confirmations import CONFIRMATION_HEADER
from shared.web.dev_sign_in import load_key
from stack.dev_auth import dev_token
from stack.handle import StackHandle

HEADER = ",".join(CONFIRMATION_HEADER) + "\n"


def signed_in(stack: StackHandle, subject: str, *roles: str) -> dict[str, str]:
    """A bearer token signed with that stack's development key."""
    key = load_key(stack.dir / "auth" / "dev-signing-key.pem")
    return {"Authorization": f"Bearer {dev_token(subject, list(roles), key)}"}


@dataclass
class Office:
    stack: StackHandle
    # (where, status, outcomes, when: seconds since `since`)
    said: list[tuple[str, int, list[str], float]] = field(default_factory=list)
    since: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.alice = signed_in(self.stack, "alice", "approver")
        self.bob = signed_in(self.stack, "bob", "treasurer", "approver")
        self.carol = signed_in(self.stack, "carol", "treasurer")
        self.reader = signed_in(self.stack, "chaos", "reader")

    async def released_batch(self, payouts: int) -> dict[str, int]:
        """`payouts` owed payouts, approved and in a released batch: id -> amount (CNY)."""
        awards = self.stack.url("awards")
        async with httpx.AsyncClient(timeout=30) as c:
            r = await c.get(f"{awards}/v1/disbursement/owed", params={"limit": payouts}, headers=self.reader)
            owed = {p["payout_id"]: p["amount_cny"] for p in r.raise_for_status().json()["payouts"]}
            ids = list(owed)
            (await c.post(f"{awards}/v1/approvals", json={"payout_ids": ids}, headers=self.alice)).raise_for_status()
            r = await c.post(f"{awards}/v1/payment-batches", json={"payout_ids": ids}, headers=self.bob)
            batch = r.raise_for_status().json()["batch_id"]
            (await c.post(f"{awards}/v1/payment-batches/{batch}/approval", headers=self.alice)).raise_for_status()
        return owed

    async def import_file(self, replica: int, text: str, *, timeout: float = 120) -> httpx.Response:
        """The confirmation file sent to one replica of awards; what it said is kept."""
        where = f"awards-{replica}"
        try:
            async with httpx.AsyncClient(timeout=timeout) as c:
                r = await c.post(
                    f"{self.stack.url('awards', replica)}/v1/confirmations", content=text.encode(), headers=self.carol
                )
        except httpx.HTTPError as e:
            self.said.append((where, 0, [type(e).__name__], time.monotonic() - self.since))
            raise
        outcomes = [line["outcome"] for line in r.json()["lines"]] if r.status_code == 200 else []
        self.said.append((where, r.status_code, outcomes, time.monotonic() - self.since))
        return r


def confirmation(payouts: dict[str, int], tag: str) -> str:
    """The bank's file: each payout paid in full."""
    lines = (f"{pid},paid,{cny},2016-12-05,CHAOS-{tag}-{i}\n" for i, (pid, cny) in enumerate(payouts.items()))
    return HEADER + "".join(lines)


async def paid_rows(stack: StackHandle, ids: list[str]) -> dict[str, int]:
    """Bank payments booked per payout (each must be exactly one)."""
    conn = await asyncpg.connect(stack.dsn)
    try:
        rows = await conn.fetch(
            "SELECT payout_id::text AS id, count(*) AS n FROM awards.bank_payments "
            "WHERE payout_id = ANY($1::uuid[]) GROUP BY 1",
            ids,
        )
    finally:
        await conn.close()
    return {pid: 0 for pid in ids} | {r["id"]: r["n"] for r in rows}


def tally(said: list[tuple[str, int, list[str], float]], ids: list[str]) -> dict[str, Any]:
    """How often each payout was answered `paid` across every import."""
    paid = {pid: 0 for pid in ids}
    for _, status, outcomes, _ in said:
        if status == 200:
            for pid, outcome in zip(ids, outcomes, strict=True):
                paid[pid] += outcome == "paid"
    return paid
