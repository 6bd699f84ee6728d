"""Response headers a browser needs to keep a token-holding page safe, on every response
of every service: a Content-Security-Policy that runs only the platform's own scripts (the
pages' inline scripts by their SHA-256, nothing from elsewhere), no framing, no MIME
sniffing, no referrer leaving the site."""

import base64
import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def inline_script_hashes(pages: Iterable[Path]) -> list[str]:
    """CSP source expressions for every inline script of these HTML files."""
    found: list[str] = []
    for page in pages:
        for body in _INLINE_SCRIPT.findall(page.read_text(encoding="utf-8")):
            digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            found.append(f"'sha256-{digest}'")
    return sorted(set(found))


def policy(script_hashes: Iterable[str]) -> str:
    scripts = " ".join(["'self'", *script_hashes])
    return (
        f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


class SecurityHeaders:
    """Pure ASGI: the headers are added to each response's start, whoever answered it."""

    def __init__(self, app: Any, *, script_hashes: Iterable[str] = ()) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", policy(script_hashes).encode()),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
        ]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in self.headers if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, with_headers)
