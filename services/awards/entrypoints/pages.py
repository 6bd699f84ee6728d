"""Awards' HTML pages: the enterprise lookup and the approvals page. The pages are public;
the data they fetch is guarded."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

pages = APIRouter(include_in_schema=False)
LOOKUP = (Path(__file__).parent / "lookup.html").read_text(encoding="utf-8")
APPROVALS = (Path(__file__).parent / "approvals.html").read_text(encoding="utf-8")


@pages.get("/lookup", response_class=HTMLResponse)
async def lookup_page() -> str:
    return LOOKUP


@pages.get("/approvals", response_class=HTMLResponse)
async def approvals_page() -> str:
    return APPROVALS
