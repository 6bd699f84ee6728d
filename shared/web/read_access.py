"""Static read tokens (API_READ_TOKENS or API_READ_TOKENS_FILE), for an office that keeps
them next to sign-in: `Authorization: Bearer <one of them>`, compared in constant time,
counts as the role `reader` and nothing more (shared/web/auth.py)."""

import hmac
from pathlib import Path
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

BEARER = HTTPBearer(auto_error=False, description="A sign-in JWT (for reads, also one of API_READ_TOKENS)")


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
