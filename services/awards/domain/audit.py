"""Who did it and from which request: every audit row carries an `Actor`."""

from dataclasses import dataclass


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
