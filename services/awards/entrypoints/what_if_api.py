"""POST /v1/what-if: the budget under other policy numbers, beside the ledger's totals."""

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from services.awards.what_if import PolicyOverrides, what_if
from shared.http_errors import responses

router = APIRouter(prefix="/v1", tags=["awards"])
# One tally at a time: it is CPU work on the same loop that consumes events.
_one_at_a_time = asyncio.Lock()


@router.post("/what-if", responses=responses(400, 401, 422))
async def what_if_budget(request: Request, overrides: PolicyOverrides) -> dict[str, Any]:
    """Totals by rule x recipient role x basis year if the policy had these numbers,
    computed by the award rules over the stored facts. Never writes the ledger."""
    runtime = request.app.state.runtime
    current = runtime.settings.policy()
    async with _one_at_a_time, runtime.pool.acquire() as conn:
        return await what_if(conn, overrides.applied_to(current), current=current)
