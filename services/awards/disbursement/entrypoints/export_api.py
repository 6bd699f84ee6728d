"""GET /v1/payouts.csv and /v1/payouts.xlsx: the payout ledger for finance, streamed."""

import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask

from services.awards.audit.adapters import access_log
from services.awards.audit.entrypoints.actors import actor_of
from services.awards.disbursement.adapters.payout_export import csv_chunks, write_workbook
from shared.contract.enums import Rule
from shared.contract.events import IsoDate
from shared.web.auth import Reader
from shared.web.errors import responses
from shared.web.params import CSV, XLSX, export_pool_of, pool_of

router = APIRouter(prefix="/v1", tags=["awards"])
Status = Literal["issued", "reversed"]
From = Annotated[IsoDate | None, Query(alias="from", description="basis date, inclusive")]
To = Annotated[IsoDate | None, Query(description="basis date, inclusive")]


def _filters(from_: date | None, to: date | None, rule: Rule | None, status: Status | None) -> tuple[Any, ...]:
    if from_ and to and from_ > to:
        raise HTTPException(422, f"from {from_} is after to {to}")
    return (from_, to, rule, status)


def _name(args: tuple[Any, ...], ext: str) -> str:
    parts = ["payouts", *(str(a) for a in args if a is not None)]
    return "-".join(parts) + "." + ext


@router.get("/payouts.csv", response_class=StreamingResponse, responses=responses(401, 403, 422, 503))
async def payouts_csv(
    request: Request,
    response: Response,
    who: Reader,
    *,
    from_: From = None,
    to: To = None,
    rule: Rule | None = None,
    status: Status | None = None,
) -> StreamingResponse:
    args = _filters(from_, to, rule, status)
    await access_log.record(pool_of(request), actor_of(request, response, who), "payout-export", _name(args, "csv"))
    return StreamingResponse(
        csv_chunks(export_pool_of(request), args),
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="{_name(args, "csv")}"'},
    )


@router.get(
    "/payouts.xlsx",
    response_class=FileResponse,
    responses={200: {"content": {XLSX: {}}, "description": "the workbook"}, **responses(401, 403, 422, 503)},
)
async def payouts_xlsx(
    request: Request,
    response: Response,
    who: Reader,
    *,
    from_: From = None,
    to: To = None,
    rule: Rule | None = None,
    status: Status | None = None,
) -> FileResponse:
    args = _filters(from_, to, rule, status)
    await access_log.record(pool_of(request), actor_of(request, response, who), "payout-export", _name(args, "xlsx"))
    tmp = Path(tempfile.mkdtemp(prefix="payouts-"))
    path = tmp / "payouts.xlsx"
    await write_workbook(export_pool_of(request), args, path)
    return FileResponse(
        path,
        media_type=XLSX,
        filename=_name(args, "xlsx"),
        background=BackgroundTask(shutil.rmtree, tmp, ignore_errors=True),
    )
