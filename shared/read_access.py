"""Read access: with API_READ_TOKENS (or API_READ_TOKENS_FILE) set, read endpoints want
`Authorization: Bearer <one of them>`, compared in constant time. Unset: open reads."""

import hmac
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

BEARER = HTTPBearer(auto_error=False, description="One of API_READ_TOKENS (reads)")


def read_tokens(inline: SecretStr | None, file: Path | None) -> tuple[bytes, ...]:
    raw = inline.get_secret_value() if inline else ""
    if file is not None:
        raw += "," + file.read_text()
    return tuple(t.strip().encode() for t in raw.replace("\n", ",").split(",") if t.strip())


def token_ok(given: str | None, tokens: tuple[bytes, ...]) -> bool:
    candidate = (given or "").encode()
    # Every token is compared (no early exit), each in constant time.
    return any([hmac.compare_digest(candidate, t) for t in tokens])


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]


def reader_guard(tokens: tuple[bytes, ...]) -> list[Any]:
    """Route dependencies: 401 unless the bearer token is one of `tokens`. With no tokens
    reads are open and no security scheme is documented (the document tells the truth)."""

    async def guard(request: Request, credentials: Credentials) -> None:
        if not token_ok(credentials.credentials if credentials else None, tokens):
            raise HTTPException(401, "a valid bearer token is required to read this")

    return [Depends(guard)] if tokens else []
