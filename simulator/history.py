"""A plausible year of upstream facts for Xinjiang, deterministic for a seed. Pure.

Prefectures are weighted roughly by population and economic weight; counties are drawn
from the GB/T 2260 revision in force on each fact's date (so Turpan facts before March
2015 carry 6521xx codes). Incubation lifecycles, employment reports, certifications,
listings and transfers follow rough shares; a few facts arrive out of order and a few
are published twice, as real upstream systems do.
"""

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from stdnum.cn import uscc as uscc_check

from shared.contract.divisions import codes_in_force, prefecture_of

PREFECTURE_WEIGHTS = {
    "650100": 30,
    "654000": 12,
    "653100": 10,
    "652300": 10,
    "652900": 8,
    "652800": 6,
    "653200": 5,
    "654200": 4,
    "650200": 3,
    "650400": 3,
    "650500": 3,
    "654300": 3,
    "652700": 2,
    "653000": 2,
    "6590": 2,
}
_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
NAMESPACE = uuid.UUID("0b9f2c1e-5d0e-4a55-8f43-2015000000ff")


@dataclass(frozen=True)
class Options:
    year: int = 2015
    enterprises: int = 3000
    seed: int = 2015
    out_of_order: float = 0.02
    duplicates: float = 0.01


@lru_cache(maxsize=1024)
def _counties(codes: frozenset[str], pref: str) -> tuple[str, ...]:
    """County-level codes of one prefecture (or the 6590 group) in one revision."""
    return tuple(
        sorted(
            c
            for c in codes
            if not c.endswith("00") and (c.startswith(pref) if len(pref) == 4 else prefecture_of(c) == pref)
        )
    )


class _Maker:
    def __init__(self, opts: Options) -> None:
        self.rng = random.Random(opts.seed)
        self.opts = opts
        self.n = 0

    def event_id(self) -> str:
        self.n += 1
        return str(uuid.uuid5(NAMESPACE, f"{self.opts.seed}:{self.opts.year}:{self.n}"))

    def uscc(self, division: str) -> str:
        self.n += 1
        n = self.opts.seed * 10_000_019 + self.opts.year * 1_000_003 + self.n
        org = "".join(_ALPHABET[(n // len(_ALPHABET) ** i) % len(_ALPHABET)] for i in range(8))[::-1] + "Y"
        body = f"91{division}{org}"
        return body + uscc_check.calc_check_digit(body)

    def day(self, start: date, end: date) -> date:
        return start + timedelta(days=self.rng.randint(0, max((end - start).days, 0)))

    def county(self, on: date) -> str:
        weights = PREFECTURE_WEIGHTS
        pref = self.rng.choices(list(weights), weights=list(weights.values()))[0]
        codes = _counties(codes_in_force(on), pref)
        return self.rng.choice(codes) if codes else pref

    def envelope(self, event_type: str, data: dict[str, Any], on: date, source: str) -> dict[str, Any]:
        return {
            "event_id": self.event_id(),
            "event_type": event_type,
            "schema_version": 1,
            "occurred_at": f"{on.isoformat()}T10:00:00+08:00",
            "source": source,
            "data": data,
        }


def generate(opts: Options) -> Iterator[dict[str, Any]]:
    """Intake envelopes for one simulated year, in (mostly) chronological order."""
    year = _Year(_Maker(opts), opts)
    year.incubators()
    year.platforms()
    for i in range(opts.enterprises):
        year.enterprise(i)
    yield from year.delivered()


class _Year:
    """One simulated year's facts, drawn in a fixed order from one seeded generator (the
    same options give the same history, byte for byte)."""

    def __init__(self, mk: _Maker, opts: Options) -> None:
        self.mk, self.opts = mk, opts
        self.y0, self.y1 = date(opts.year, 1, 1), date(opts.year, 12, 31)
        self.events: list[tuple[date, dict[str, Any]]] = []
        self.incubator_ids: list[str] = []
        self.recognized_on: dict[str, date] = {}

    def incubators(self) -> None:
        mk, opts, events, y0 = self.mk, self.opts, self.events, self.y0
        incubators, recognized_on = self.incubator_ids, self.recognized_on
        n_incubators = max(3, opts.enterprises // 60)
        for i in range(n_incubators):
            on = mk.day(y0, date(opts.year, 10, 31))
            div = mk.county(on)
            level = "region" if i % 5 == 0 else ("prefecture" if i % 3 == 0 else "county")
            inc_id = f"INC-{opts.year}-{i:04d}"
            incubators.append(inc_id)
            recognized_on[inc_id] = on
            op = mk.uscc(div)
            events.append(
                (
                    on,
                    mk.envelope(
                        "IncubatorRegistered",
                        {
                            "incubator_id": inc_id,
                            "name": f"{opts.year} 创业孵化基地 {i}",
                            "operator_uscc": op,
                            "operator_name": f"孵化器运营有限公司 {i}",
                            "level": level,
                            "division_code": div,
                            "recognized_on": on.isoformat(),
                        },
                        on,
                        "xj-hrss",
                    ),
                )
            )

    def platforms(self) -> None:
        mk, opts, events, y0, y1 = self.mk, self.opts, self.events, self.y0, self.y1
        for i in range(max(2, opts.enterprises // 150)):
            on = mk.day(y0, y1)
            div = mk.county(on)
            events.append(
                (
                    on,
                    mk.envelope(
                        "ServicePlatformRegistered",
                        {
                            "platform_id": f"PF-{opts.year}-{i:04d}",
                            "name": f"创业指导服务平台 {i}",
                            "operator_uscc": mk.uscc(div),
                            "operator_name": f"服务平台运营 {i}",
                            "level": mk.rng.choice(["region", "prefecture", "county"]),
                            "division_code": div,
                            "recognized_on": on.isoformat(),
                        },
                        on,
                        "xj-hrss",
                    ),
                )
            )

    def enterprise(self, i: int) -> None:
        """One enterprise's registration, then what may follow it in the year."""
        mk, opts, events, y0, y1 = self.mk, self.opts, self.events, self.y0, self.y1
        registered = mk.day(y0, y1)
        div = mk.county(registered)
        u = mk.uscc(div)
        employees = mk.rng.choice([1, 1, 2, 2, 3, 3, 4, 5, 6, 8, 10, 15])
        events.append(
            (
                registered,
                mk.envelope(
                    "EnterpriseRegistered",
                    {
                        "uscc": u,
                        "name": f"新疆示例小微企业 {opts.year}-{i:05d}",
                        "division_code": div,
                        "registered_on": registered.isoformat(),
                        "size": mk.rng.choice(["small", "micro", "micro"]),
                        "employees": employees,
                        "college_student_founders": mk.rng.choices([0, 1, 2], weights=[80, 15, 5])[0],
                    },
                    registered,
                    "xj-market-regulation",
                ),
            )
        )
        self.reports(u, registered, employees)
        self.incubation(u, registered)
        self.certification(u, registered)
        self.listing(u, registered)

    def reports(self, u: str, registered: date, employees: int) -> None:
        mk, events, y1 = self.mk, self.events, self.y1
        for _ in range(mk.rng.choices([0, 1, 2], weights=[50, 35, 15])[0]):
            on = mk.day(registered, y1)
            employees = max(0, employees + mk.rng.randint(-2, 6))
            events.append(
                (
                    on,
                    mk.envelope(
                        "EmploymentReported",
                        {"uscc": u, "employees": employees, "reported_on": on.isoformat()},
                        on,
                        "xj-hrss",
                    ),
                )
            )

    def incubation(self, u: str, registered: date) -> None:
        mk, events, y1 = self.mk, self.events, self.y1
        incubators, recognized_on = self.incubator_ids, self.recognized_on
        if mk.rng.random() < 0.4:
            inc = mk.rng.choice(incubators)
            admitted = mk.day(max(registered, recognized_on[inc]), y1)
            events.append(
                (
                    admitted,
                    mk.envelope(
                        "EnterpriseAdmitted",
                        {"uscc": u, "incubator_id": inc, "admitted_on": admitted.isoformat()},
                        admitted,
                        "xj-incubators",
                    ),
                )
            )
            if mk.rng.random() < 0.35:
                graduated = mk.day(admitted, y1)
                events.append(
                    (
                        graduated,
                        mk.envelope(
                            "EnterpriseGraduated",
                            {"uscc": u, "incubator_id": inc, "graduated_on": graduated.isoformat()},
                            graduated,
                            "xj-incubators",
                        ),
                    )
                )

    def certification(self, u: str, registered: date) -> None:
        mk, opts, events, y1 = self.mk, self.opts, self.events, self.y1
        if mk.rng.random() < 0.06:
            on = mk.day(registered, y1)
            events.append(
                (
                    on,
                    mk.envelope(
                        "HighTechCertified",
                        {
                            "uscc": u,
                            "certificate_no": f"GR{opts.year}65{mk.rng.randint(0, 999999):06d}",
                            "certified_on": on.isoformat(),
                        },
                        on,
                        "xj-kjt",
                    ),
                )
            )

    def listing(self, u: str, registered: date) -> None:
        mk, events, y1 = self.mk, self.events, self.y1
        if mk.rng.random() < 0.05:
            board = "XJEE" if mk.rng.random() < 0.6 else "NEEQ"
            on = mk.day(registered, y1)
            code = f"XJ{mk.rng.randint(0, 999999):06d}" if board == "XJEE" else f"83{mk.rng.randint(0, 9999):04d}"
            events.append(
                (
                    on,
                    mk.envelope(
                        "ListedOnBoard",
                        {"uscc": u, "board": board, "security_code": code, "listed_on": on.isoformat()},
                        on,
                        "xj-equity",
                    ),
                )
            )
            if board == "XJEE" and mk.rng.random() < 0.3:
                moved = mk.day(on, y1)
                events.append(
                    (
                        moved,
                        mk.envelope(
                            "BoardTransferred",
                            {
                                "uscc": u,
                                "from_board": "XJEE",
                                "to_board": "NEEQ",
                                "security_code": f"87{mk.rng.randint(0, 9999):04d}",
                                "transferred_on": moved.isoformat(),
                            },
                            moved,
                            "xj-equity",
                        ),
                    )
                )

    def delivered(self) -> Iterator[dict[str, Any]]:
        """In date order, with a few late reports and duplicates, as real feeds arrive."""
        mk, opts, events = self.mk, self.opts, self.events
        events.sort(key=lambda x: (x[0], x[1]["event_type"] != "EnterpriseRegistered"))
        ordered = [e for _, e in events]
        for i in range(len(ordered) - 1):  # late reports: swap neighbours
            if mk.rng.random() < opts.out_of_order:
                ordered[i], ordered[i + 1] = ordered[i + 1], ordered[i]
        for e in ordered:
            yield e
            if mk.rng.random() < opts.duplicates:
                yield e
