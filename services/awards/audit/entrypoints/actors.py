"""The person a request acts for, as the audit trail records them."""

import uuid

from fastapi import Request, Response

from services.awards.audit.domain.audit import Actor
from shared.web.auth import Principal


def actor_of(request: Request, response: Response, p: Principal) -> Actor:
    request_id = request.headers.get("x-request-id", "")[:100] or uuid.uuid4().hex
    response.headers["X-Request-ID"] = request_id
    return Actor(
        subject=p.subject,
        name=p.name,
        roles=tuple(sorted(p.roles)),
        request_id=request_id,
        client=request.client.host if request.client else None,
        method=request.method,
        path=request.url.path,
    )
