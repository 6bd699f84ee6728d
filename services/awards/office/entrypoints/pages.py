"""The office's workspace, served by awards: approvals, treasury, enterprise lookup, audit,
policy versions and sign-in. The pages are shells (HTML, one stylesheet, the words for codes); every datum
they show is fetched from a guarded route with the person's token."""

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

from shared.contract.divisions import PREFECTURES, REGION_CITIES
from shared.contract.labels_zh import ACTION_ZH, OUTCOME_ZH, ROLE_ZH, RULE_ZH, STATUS_ZH

pages = APIRouter(include_in_schema=False)
HERE = Path(__file__).parent
WORKSPACE_CSS = Path(__file__).parents[4] / "shared" / "web" / "workspace.css"
PAGE_FILES = {
    "/approvals": "approvals.html",
    "/treasury": "treasury.html",
    "/lookup": "lookup.html",
    "/audit": "audit.html",
    "/policy": "policy.html",
    "/sign-in": "sign_in.html",
}
PAGE_PATHS = [HERE / name for name in PAGE_FILES.values()]
PAGE_HTML = {path: (HERE / name).read_text(encoding="utf-8") for path, name in PAGE_FILES.items()}
LABELS = {
    "prefecture": {**PREFECTURES, **REGION_CITIES},
    "rule": RULE_ZH,
    "role": ROLE_ZH,
    "status": STATUS_ZH,
    "outcome": OUTCOME_ZH,
    "action": ACTION_ZH,
}


def _page(path: str) -> None:
    @pages.get(path, response_class=HTMLResponse, name=f"page {path}")
    async def page() -> str:
        return PAGE_HTML[path]


for _path in PAGE_FILES:
    _page(_path)


@pages.get("/static/workspace.css")
async def workspace_css() -> FileResponse:
    return FileResponse(WORKSPACE_CSS, media_type="text/css", headers={"Cache-Control": "no-cache"})


@pages.get("/static/labels.json")
async def labels() -> dict[str, Any]:
    """The Chinese words for the contract's codes (shared/contract/labels_zh.py): no data."""
    return LABELS
