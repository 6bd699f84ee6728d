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

from prometheus_client import Gauge
from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.registration.domain.authority import Authority
from shared.contract.events import INTAKE_MODELS

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


# 1 while the file on disk is one the registry refused (the last good one is in force).
REFUSED = Gauge("registration_sender_registry_refused", "1 while the sender registry file on disk is refused")


def parse(raw: bytes, path: Path) -> dict[str, Authority]:
    registry = _Registry.model_validate_json(raw)
    log.info(
        "sender registry %s loaded: %d senders, sha256 %s", path, len(registry.senders), hashlib.sha256(raw).hexdigest()
    )
    return {
        name: Authority(frozenset(e.event_types), None if e.carriers is None else frozenset(e.carriers))
        for name, e in registry.senders.items()
    }


def load(path: Path) -> dict[str, Authority]:
    return parse(path.read_bytes(), path)


class RegistryFile:
    """The registry in force. A file whose stamp changed is read again and parsed if its
    content (its SHA-256) differs from what was last parsed; a file refused is read again
    on every message until it parses, so a revocation written while the registry was
    being read is never skipped (a stamp taken before a half-written read could otherwise
    stay the same once the write finished)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        raw = path.read_bytes()
        self._authorities: Mapping[str, Authority] = parse(raw, path)  # unreadable at start: a configuration error
        self._parsed = hashlib.sha256(raw).digest()
        self._refused: bytes | None = None  # the hash of the content last refused
        self._stamp = path.stat().st_mtime_ns
        REFUSED.set(0)

    def current(self) -> Mapping[str, Authority]:
        try:
            stamp = self._path.stat().st_mtime_ns
            if stamp == self._stamp and self._refused is None:
                return self._authorities
            raw = self._path.read_bytes()
        except OSError as exc:
            log.error("sender registry %s unreadable, the last good one stays in force: %s", self._path, exc)
            return self._authorities
        self._stamp = stamp
        digest = hashlib.sha256(raw).digest()
        if digest == self._parsed:  # what is in force: nothing new (a refused file put back)
            self._refused = None
            REFUSED.set(0)
            return self._authorities
        if digest == self._refused:
            return self._authorities  # refused already: reported once
        try:
            self._authorities = parse(raw, self._path)
        except ValueError as exc:
            self._refused = digest
            REFUSED.set(1)
            log.error("sender registry %s refused, the last good one stays in force: %s", self._path, exc)
            return self._authorities
        self._parsed, self._refused = digest, None
        REFUSED.set(0)
        return self._authorities
