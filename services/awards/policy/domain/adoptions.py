"""Adoptions as the award log records them, and the key that finds one in the books
whatever version number restored books give it. Pure."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

from services.awards.policy.domain.policy import PolicyVersion

# A version as adopted, whatever number restored books give it when it is adopted again:
# (jurisdiction, effective_from, amounts and windows as canonical JSON).
AdoptionKey = tuple[str, date, str, str]


@dataclass(frozen=True, slots=True)
class LoggedAdoption:
    """A PolicyVersionAdopted as the award log has it."""

    version_id: int
    jurisdiction: str
    effective_from: date
    amounts: dict[str, dict[str, int]]
    window_years: dict[str, int]
    said: str

    @property
    def key(self) -> AdoptionKey:
        return _key(self.jurisdiction, self.effective_from, self.amounts, self.window_years)


def _key(
    jurisdiction: str, effective_from: date, amounts: Mapping[str, Any], windows: Mapping[str, Any]
) -> AdoptionKey:
    canon = orjson.OPT_SORT_KEYS
    return (
        jurisdiction,
        effective_from,
        orjson.dumps(amounts, option=canon).decode(),
        orjson.dumps(windows, option=canon).decode(),
    )


def adoption_key_of(v: PolicyVersion) -> AdoptionKey:
    amounts: dict[str, dict[str, int]] = {}
    for (rule, role), cny in v.amounts.items():
        amounts.setdefault(rule.value, {})[role.value] = cny
    return _key(v.jurisdiction, v.effective_from, amounts, {r.value: y for r, y in v.window_years.items()})


def logged_adoption(data: Mapping[str, Any]) -> LoggedAdoption:
    d = data
    said = (
        f"policy version {d['version_id']} of {d['jurisdiction']} from {d['effective_from']} "
        f"({d['document']['title']}), drafted by {d['drafted_by']}, adopted by {d['adopted_by']} on {d['adopted_on']}"
    )
    return LoggedAdoption(
        d["version_id"],
        d["jurisdiction"],
        date.fromisoformat(d["effective_from"]),
        d["amounts_cny"],
        d["window_years"],
        said,
    )
