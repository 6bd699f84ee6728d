"""Who did it and from which request: every audit row carries an `Actor`."""

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class Actor:
    subject: str
    name: str
    roles: tuple[str, ...]
    request_id: str
    client: str | None = None
    method: str | None = None
    path: str | None = None


RULES_ACTOR = Actor("awards-rules", "awards rules engine", (), "-")


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which audit rows: every field narrows; dates are the office's (Beijing) days."""

    actor: str | None = None  # the person: a token's subject
    action: str | None = None
    subject: str | None = None  # the payout, batch, file or exception acted on
    on_or_after: date | None = None
    on_or_before: date | None = None


# The audit export's columns, in order: what an auditor reads in a spreadsheet.
AUDIT_CSV_COLUMNS = (
    "seq", "at", "actor", "actor_name", "roles", "action", "subject",
    "detail", "request_id", "client", "method", "path",
)  # fmt: skip
