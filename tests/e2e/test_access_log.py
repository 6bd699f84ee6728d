"""Every read of payment data leaves a trace the audit viewer shows: who downloaded the
payout export and the audit export, and when."""

import httpx
import pytest

from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


async def test_downloads_of_payment_data_are_in_the_access_log(stack: Stack, client: httpx.AsyncClient) -> None:
    awards = stack.url("awards")
    before = (await client.get(f"{awards}/v1/access-log", params={"limit": 1000})).json()["next_after"]
    assert (await client.get(f"{awards}/v1/payouts.csv", params={"rule": "EQUITY_LISTING"})).status_code == 200
    assert (await client.get(f"{awards}/v1/audit.csv", params={"actor": "alice"})).status_code == 200
    assert (await client.get(f"{awards}/v1/payouts.xlsx")).status_code == 200
    logged = (await client.get(f"{awards}/v1/access-log", params={"after": before})).json()["entries"]
    assert [(e["actor"], e["what"], e["subject"], e["path"]) for e in logged] == [
        ("rita", "payout-export", "payouts-EQUITY_LISTING.csv", "/v1/payouts.csv"),
        ("rita", "audit-export", "{'actor': 'alice'}", "/v1/audit.csv"),
        ("rita", "payout-export", "payouts.xlsx", "/v1/payouts.xlsx"),
    ]
    assert all(e["roles"] == ["reader"] for e in logged)
