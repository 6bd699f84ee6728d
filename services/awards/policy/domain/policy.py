"""The policy as effective-dated versions (docs/contract/policy.md). Pure.

A version belongs to a jurisdiction — the region, or one prefecture — and is in force
from its `effective_from` until the next adopted version of the same jurisdiction
starts. Each fact is judged by the versions in force on its own date, so a version
adopted today changes nothing dated before it starts. The region's versions give the
plan's awards; a prefecture's add its own, paid from its own budget, on top of the
region's awards to enterprises registered there.
"""

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Final

from shared.contract.divisions import is_prefecture, name_of
from shared.contract.enums import RecipientRole, Rule

REGION: Final = "650000"  # the region's own GB/T 2260 code: its versions, its budget
PLAN_START: Final = date(2015, 4, 16)  # the 2015 plan's date of issue; nothing is in force before it
WINDOW_YEARS: Final = range(0, 11)  # 0 (only while incubated, through graduation day) to 10
MAX_AMOUNT_CNY: Final = 100_000_000
WINDOWED_RULES: Final = (Rule.HIGH_TECH_CERTIFICATION, Rule.EQUITY_LISTING)
ROLES: Final = (RecipientRole.OPERATOR, RecipientRole.ENTERPRISE)


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    """The legal text a version comes from. The number and link stay empty when unknown:
    nobody invents one."""

    issuer: str
    title: str
    issued_on: date
    number: str | None = None
    link: str | None = None

    def cite(self) -> str:
        number = f"（{self.number}）" if self.number else ""
        return f"{self.issuer}《{self.title}》{number}{self.issued_on}"


PLAN_2015_DOCUMENT: Final = PolicyDocument(
    issuer="新疆维吾尔自治区人民政府办公厅",
    title="新疆维吾尔自治区“大众创业、万众就业”行动方案",
    issued_on=PLAN_START,
)


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    version_id: int
    jurisdiction: str  # REGION or a prefecture's code
    effective_from: date
    # CNY per rule and recipient role; a prefecture's 0 (or absence) adds nothing.
    amounts: Mapping[tuple[Rule, RecipientRole], int]
    # Calendar years after graduation during which a fact still qualifies; the region's
    # only: a prefecture's awards follow the region's decision on the same fact.
    window_years: Mapping[Rule, int] = field(default_factory=dict)
    document: PolicyDocument = field(default_factory=lambda: PLAN_2015_DOCUMENT)
    # May a decrease reaching back raise a clawback of a paid payout's difference?
    allows_recovery: bool = False

    @property
    def funding(self) -> str:
        """Whose budget pays: the jurisdiction's own."""
        return self.jurisdiction

    def amount(self, rule: Rule, role: RecipientRole) -> int:
        return self.amounts.get((rule, role), 0)

    def label(self) -> str:
        return f"政策版本 {self.version_id}（{jurisdiction_name(self.jurisdiction)}，{self.document.cite()}）"

    def label_en(self) -> str:
        return (
            f"policy version {self.version_id} ({jurisdiction_name_en(self.jurisdiction)}, from {self.effective_from})"
        )


def each_role(amounts: Mapping[Rule, int]) -> dict[tuple[Rule, RecipientRole], int]:
    """The same amount to the operator and to the enterprise, as the 2015 plan pays."""
    return {(rule, role): cny for rule, cny in amounts.items() for role in ROLES}


PLAN_2015: Final = PolicyVersion(
    version_id=1,
    jurisdiction=REGION,
    effective_from=PLAN_START,
    amounts=each_role(
        {Rule.HIGH_TECH_CERTIFICATION: 100_000, Rule.EQUITY_LISTING: 200_000, Rule.BOARD_TRANSFER: 100_000}
    ),
    window_years={Rule.HIGH_TECH_CERTIFICATION: 1, Rule.EQUITY_LISTING: 2},
    document=PLAN_2015_DOCUMENT,
)


def jurisdiction_name(code: str) -> str:
    return "自治区" if code == REGION else name_of(code)


def jurisdiction_name_en(code: str) -> str:
    return "the region" if code == REGION else f"prefecture {code}"


@dataclass(frozen=True, slots=True)
class Versions:
    """The adopted versions, each jurisdiction's in order of `effective_from`."""

    by_jurisdiction: Mapping[str, tuple[PolicyVersion, ...]]
    _starts: Mapping[str, list[date]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, versions: Iterable[PolicyVersion]) -> "Versions":
        grouped: dict[str, list[PolicyVersion]] = {}
        for v in versions:
            grouped.setdefault(v.jurisdiction, []).append(v)
        ordered = {j: tuple(sorted(vs, key=lambda v: v.effective_from)) for j, vs in grouped.items()}
        return cls(ordered, {j: [v.effective_from for v in vs] for j, vs in ordered.items()})

    def all(self) -> list[PolicyVersion]:
        return sorted((v for vs in self.by_jurisdiction.values() for v in vs), key=lambda v: v.version_id)

    def with_version(self, version: PolicyVersion) -> "Versions":
        return Versions.of([*self.all(), version])

    def in_force(self, jurisdiction: str, on: date) -> PolicyVersion | None:
        starts = self._starts.get(jurisdiction)
        if not starts:
            return None
        i = bisect_right(starts, on) - 1
        return self.by_jurisdiction[jurisdiction][i] if i >= 0 else None

    def first(self, jurisdiction: str = REGION) -> PolicyVersion | None:
        vs = self.by_jurisdiction.get(jurisdiction)
        return vs[0] if vs else None

    def by_id(self, version_id: int) -> PolicyVersion | None:
        return next((v for v in self.all() if v.version_id == version_id), None)


THE_2015_PLAN: Final = Versions.of([PLAN_2015])


def can_have_plan(code: str) -> bool:
    """The region, or one of its 14 prefectures. The cities the region administers
    directly (6590xx) are not prefectures: their enterprises are under the region's
    versions alone."""
    return code == REGION or is_prefecture(code)


def prefecture_plan_of(prefecture: str | None) -> str | None:
    """The jurisdiction whose plan adds to an enterprise's awards, if any."""
    return prefecture if prefecture is not None and is_prefecture(prefecture) else None
