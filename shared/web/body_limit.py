"""Request bodies are bounded before anything reads them.

FastAPI reads and parses a whole JSON body before it resolves a route's dependencies, and
authentication is a dependency: without this, anyone who reaches the port could make a
service hold a multi-gigabyte body in memory. This pure ASGI layer sits in front of
routing on every service: a declared `Content-Length` over the route's limit is answered
413 without reading a byte; a body sent without one (chunked) is counted as it streams
and refused as soon as it passes the limit, so at most the limit plus one chunk is read.
"""

from collections.abc import Mapping
from typing import Any, Final

from fastapi import HTTPException
from prometheus_client import Counter

from shared.web.errors import error_response

MIB: Final = 1024 * 1024
# JSON bodies: a full policy draft or an approval of 1,000 ids is a few KB.
DEFAULT_LIMIT: Final = 1 * MIB

BODY_BYTES_READ = Counter("http_request_body_bytes_read_total", "Request body bytes read by the service", ["service"])
BODIES_REFUSED = Counter("http_request_bodies_refused_total", "Request bodies refused as too large", ["service"])


class BodyTooLarge(HTTPException):
    """Raised inside the body's reading; FastAPI passes an HTTPException through as it is,
    and the error handlers answer it with the usual body."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"body exceeds {limit} bytes")


class BodyLimit:
    def __init__(self, app: Any, *, service: str, limits: Mapping[str, int], default: int = DEFAULT_LIMIT) -> None:
        self.app = app
        self.service = service
        self.limits = dict(limits)
        self.default = default

    def limit_for(self, path: str) -> int:
        return self.limits.get(path, self.default)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            BODIES_REFUSED.labels(self.service).inc()
            await error_response(413, f"body exceeds {limit} bytes")(scope, receive, send)
            return
        read = 0

        async def counted() -> Any:
            nonlocal read
            message = await receive()
            if message["type"] == "http.request":
                chunk = len(message.get("body", b""))
                read += chunk
                BODY_BYTES_READ.labels(self.service).inc(chunk)
                if read > limit:
                    BODIES_REFUSED.labels(self.service).inc()
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)
