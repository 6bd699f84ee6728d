"""The sender registry as a file (SENDER_AUTHORITY_FILE, JSON), kept in the operators'
version control so every change is reviewed and recorded; the SHA-256 of what was
loaded is logged, so the log says which registry was in force. A changed file is read
again on the next message (`make kafka-principal` adds a sender without a restart); a
file that no longer parses is refused with an error line and the last good one stays.

    {"senders": {"xj-market-regulation": {"event_types": ["EnterpriseRegistered", "EmploymentReported"]},
                 "incubator-INC-0001": {"event_types": ["EnterpriseAdmitted", "EnterpriseGraduated"],
                                        "carriers": ["INC-0001"]}}}
"""

import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.registration.domain.authority import Authority
from shared.events import INTAKE_MODELS

log = logging.getLogger(__name__)


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event_types: list[str] = Field(min_length=1)
    carriers: list[str] | None = None

    @field_validator("event_types")
    @classmethod
    def _known(cls, types: list[str]) -> list[str]:
        unknown = sorted(set(types) - set(INTAKE_MODELS))
        if unknown:
            raise ValueError(f"unknown event types {unknown}; intake types are {sorted(INTAKE_MODELS)}")
        return types


class _Registry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    senders: dict[str, _Entry]


def load(path: Path) -> dict[str, Authority]:
    raw = path.read_bytes()
    registry = _Registry.model_validate_json(raw)
    log.info(
        "sender registry %s loaded: %d senders, sha256 %s", path, len(registry.senders), hashlib.sha256(raw).hexdigest()
    )
    return {
        name: Authority(frozenset(e.event_types), None if e.carriers is None else frozenset(e.carriers))
        for name, e in registry.senders.items()
    }


class RegistryFile:
    """The registry in force: `load`ed again whenever the file's mtime changes."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._stamp = path.stat().st_mtime_ns
        self._authorities: Mapping[str, Authority] = load(path)  # unreadable at start: a configuration error

    def current(self) -> Mapping[str, Authority]:
        try:
            stamp = self._path.stat().st_mtime_ns
        except OSError as exc:
            log.error("sender registry %s unreadable, the last good one stays in force: %s", self._path, exc)
            return self._authorities
        if stamp != self._stamp:
            self._stamp = stamp  # a broken file is reported once, not on every message
            try:
                self._authorities = load(self._path)
            except ValueError as exc:
                log.error("sender registry %s refused, the last good one stays in force: %s", self._path, exc)
        return self._authorities
