"""Who may scrape /metrics: the holder of the metrics token, nobody else. The gauges show
sender names, payout and exception counts and the consumer's positions — operational
data, not public — so the door is closed unless a token file is configured, and a scrape
without the token is refused like any other unsigned request. The file is read on each
scrape, so a rotated token takes effect at once (Prometheus re-reads its own copy too)."""

import hmac
from pathlib import Path

from fastapi import HTTPException

SCHEME = "bearer "


def check(token_file: Path | None, authorization: str | None) -> None:
    """Raises 503 while no token is configured, 401 for a missing or wrong token."""
    expected = _token(token_file)
    if expected is None:
        raise HTTPException(503, "metrics are closed: no METRICS_TOKEN_FILE is configured")
    given = authorization or ""
    if not given.lower().startswith(SCHEME) or not hmac.compare_digest(
        given[len(SCHEME) :].strip().encode(), expected.encode()
    ):
        raise HTTPException(
            401, "metrics need the metrics token (Authorization: Bearer …)", headers={"WWW-Authenticate": "Bearer"}
        )


def _token(token_file: Path | None) -> str | None:
    if token_file is None:
        return None
    try:
        token = token_file.read_text().strip()
    except OSError:
        return None
    return token or None
