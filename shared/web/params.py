"""HTTP pieces the services' routers share: the pool of the request's service, path and
query parameters, the ledger cursor, media types."""

import base64
import re
from datetime import date
from typing import Annotated, Any

import asyncpg
from fastapi import HTTPException, Path, Query, Request
from pydantic import BeforeValidator

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"

Uscc = Path(pattern=r"^[0-9A-Z]{18}$", description="Unified social credit code: 18 characters, 0-9 and A-Z")
Year = Query(ge=2000, le=2100)
Division = Query(default=None, pattern=r"^65\d{4}$", description="a Xinjiang division code (650000: the region)")
PageLimit = Query(default=100, ge=1, le=1000)
PageCursor = Query(default=None, max_length=64, description="next_cursor of the previous page")
# Text a person typed into a filter: no control characters (NUL would reach PostgreSQL).
PLAIN_TEXT = r"^[^\x00-\x1f\x7f]+$"


def _iso_day(value: Any) -> Any:
    # pydantic would read "0" as a Unix time; a day in a query is YYYY-MM-DD and nothing else.
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("a day is YYYY-MM-DD")
    return value


IsoDay = Annotated[date, BeforeValidator(_iso_day)]


def pool_of(request: Request) -> asyncpg.Pool:
    """The PostgreSQL pool of the service that serves this request."""
    pool: asyncpg.Pool = request.app.state.runtime.pool
    return pool


def export_pool_of(request: Request) -> asyncpg.Pool:
    """The pool for reads streamed to a client (exports), apart from the service's work."""
    pool: asyncpg.Pool = request.app.state.runtime.export_pool
    return pool


def seq_after(cursor: str | None) -> int:
    """The ledger position a `next_cursor` stands for (0: from the start)."""
    if not cursor:
        return 0
    try:
        after = int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except ValueError as exc:
        raise HTTPException(422, "invalid cursor: pass back next_cursor of the previous page unchanged") from exc
    if not 0 <= after < 2**63:
        raise HTTPException(422, "invalid cursor: pass back next_cursor of the previous page unchanged")
    return after


def next_cursor(last_seq: int | None) -> str | None:
    """The cursor after a page whose last row is at ledger position `last_seq` (None: the
    page was the last)."""
    return None if last_seq is None else base64.urlsafe_b64encode(str(last_seq).encode()).decode()
