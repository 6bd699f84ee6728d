"""The audit trail over HTTP: its rows, its CSV export and who read payment data."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from services.awards.audit.adapters import access_log
from services.awards.audit.domain.audit import AuditFilter
from services.awards.audit.entrypoints.actors import actor_of
from services.awards.audit.service_layer import audit_queries
from shared.web.auth import Reader
from shared.web.errors import responses
from shared.web.params import CSV, PLAIN_TEXT, IsoDay, export_pool_of, pool_of

router = APIRouter(prefix="/v1", tags=["disbursement"])


class AuditQuery(BaseModel):
    """Which audit rows: every field narrows; `from`/`to` are the office's (Beijing) days."""

    model_config = ConfigDict(populate_by_name=True)

    actor: str | None = Field(default=None, max_length=100, pattern=PLAIN_TEXT, description="the person: a token's sub")
    action: str | None = Field(default=None, max_length=64, pattern=PLAIN_TEXT)
    subject: str | None = Field(
        default=None, max_length=100, pattern=PLAIN_TEXT, description="the payout, batch, file or exception"
    )
    from_: IsoDay | None = Field(default=None, alias="from")
    to: IsoDay | None = None

    def audit_filter(self) -> AuditFilter:
        return AuditFilter(self.actor, self.action, self.subject, self.from_, self.to)


@router.get("/audit", responses=responses(401, 403, 422, 503))
async def audit_trail(
    request: Request,
    _: Reader,
    query: Annotated[AuditQuery, Query()],
    after: int = Query(default=0, ge=0, le=2**62),
    limit: int = Query(default=100, ge=1, le=1000),
) -> dict[str, Any]:
    """Who did what, when, from which request; oldest first, `after` = the last `seq` seen."""
    return await audit_queries.audit_trail(pool_of(request), query.audit_filter(), after=after, limit=limit)


@router.get("/access-log", responses=responses(401, 403, 422, 503))
async def access_log_entries(
    request: Request,
    _: Reader,
    after: int = Query(default=0, ge=0, le=2**62),
    limit: int = Query(default=100, ge=1, le=1000),
) -> dict[str, Any]:
    """Who read payment data (payment files, payout exports, the audit export, confirmation
    files as received), oldest first; `after` = the last `seq` seen."""
    rows = await access_log.entries(pool_of(request), after=after, limit=limit)
    return {"entries": rows, "next_after": rows[-1]["seq"] if rows else after}


@router.get(
    "/audit.csv",
    response_class=StreamingResponse,
    responses={**responses(401, 403, 422, 503), 200: {"content": {"text/csv": {}}}},
)
async def audit_csv(
    request: Request, response: Response, who: Reader, query: Annotated[AuditQuery, Query()]
) -> StreamingResponse:
    """The same rows as CSV for an auditor's spreadsheet (cells that look like formulas are
    prefixed with an apostrophe); in the access log."""
    filters = query.model_dump(by_alias=True, exclude_none=True, mode="json")
    await access_log.record(pool_of(request), actor_of(request, response, who), "audit-export", str(filters))
    return StreamingResponse(
        await audit_queries.audit_csv(export_pool_of(request), query.audit_filter()),
        media_type=CSV,
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )
