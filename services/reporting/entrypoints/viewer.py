"""Who reads progress: anyone without a token when PUBLIC_PROGRESS=true (aggregates only),
otherwise a signed-in reader. Money is a reader's either way."""

from typing import Annotated, Any

from fastapi import Depends, Request

from shared.web.auth import READ_ROLES, Principal, authenticate
from shared.web.read_access import Credentials

# The routes that take a Viewer: open to all with PUBLIC_PROGRESS=true.
PROGRESS_PATHS = frozenset({"/v1/progress", "/v1/progress/divisions", "/v1/progress.csv", "/v1/progress/monthly"})


async def _viewer(request: Request, credentials: Credentials) -> Principal | None:
    """None for anyone without a token when PUBLIC_PROGRESS=true; otherwise a reader."""
    if credentials is None and request.app.state.runtime.settings.public_progress:
        return None
    return await authenticate(request, credentials, READ_ROLES)


Viewer = Annotated[Principal | None, Depends(_viewer)]


def for_viewer(doc: dict[str, Any], who: Principal | None) -> dict[str, Any]:
    """The public sees aggregate progress only: the `awards` block (CNY) is null for it."""
    return doc if who is not None else {**doc, "awards": None}
