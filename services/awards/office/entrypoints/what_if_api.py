"""POST /v1/what-if: the budget under other policy numbers, or with a drafted version,
beside the ledger's totals."""

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from services.awards.office.domain.what_if import PolicyOverrides
from services.awards.office.service_layer.what_if_budget import what_if
from shared.web.errors import responses
from shared.web.params import pool_of

router = APIRouter(prefix="/v1", tags=["awards"])
# One tally at a time: it is CPU work on the same loop that consumes events.
_one_at_a_time = asyncio.Lock()


@router.post("/what-if", responses=responses(400, 401, 403, 404, 409, 422, 503))
async def what_if_budget(request: Request, overrides: PolicyOverrides) -> dict[str, Any]:
    """Totals by funding x rule x recipient role x basis year if the policy had these
    numbers (or `draft_version` were adopted), computed by the award rules over the stored
    facts. For a draft, also each existing award it would change, with its stage, and the
    summary whose `digest` adoption checks. Never writes the ledger."""
    async with _one_at_a_time:
        return await what_if(pool_of(request), overrides)
