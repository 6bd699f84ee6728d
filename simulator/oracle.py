"""What a set of intake facts must produce, by the pure rules alone: each enterprise's net
payouts (awards' `decide`) and the region's progress (reporting's metric definitions).

Pure. The cluster failover test and `make chaos` compare the running platform with it:
whatever the faults, duplicates and arrival order, the answers must be equal (G2, G3).
"""

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.awards.ledger.domain.award_rules import decide
from services.awards.ledger.domain.facts import (
    Admission,
    Certification,
    EnterpriseFacts,
    Graduation,
    Listing,
    Transfer,
    assemble,
)
from services.awards.policy.domain.policy import Versions
from services.reporting.domain import metric_definitions as m
from services.reporting.domain.metric_definitions import COLLEGE_PERIOD, Report, enterprise_contributions
from shared.contract.divisions import PREFECTURES, prefecture_of
from shared.contract.enums import Board

Event = dict[str, Any]
_DATED = {
    "EnterpriseGraduated": "graduated_on",
    "HighTechCertified": "certified_on",
    "BoardTransferred": "transferred_on",
    "ListedOnBoard": "listed_on",
}


def unique(events: Iterable[Event]) -> list[Event]:
    """The set of facts: a fact delivered twice (same event_id) counts once."""
    return list({e["event_id"]: e for e in events}.values())


@dataclass
class _Enterprise:
    registered: Event | None = None
    reports: list[Report] = field(default_factory=list)
    admissions: list[date] = field(default_factory=list)
    dated: list[tuple[str, date]] = field(default_factory=list)


def _dated_metric(event_type: str, data: dict[str, Any]) -> str:
    if event_type == "ListedOnBoard":
        return m.LISTINGS_XJEE if data["board"] == "XJEE" else m.LISTINGS_NEEQ
    return {
        "EnterpriseGraduated": m.GRADUATIONS,
        "HighTechCertified": m.HIGH_TECH_CERTIFICATIONS,
        "BoardTransferred": m.BOARD_TRANSFERS,
    }[event_type]


def expected_actuals(events: Iterable[Event], *, year: int, end: date) -> dict[str, int]:
    """Region-wide actuals of every metric and counter for year `year` as of `end`."""
    firms: dict[str, _Enterprise] = defaultdict(_Enterprise)
    actual: Counter[str] = Counter()
    start = date(year, 1, 1)
    base_prefectures: set[str] = set()
    for e in unique(events):
        t, d = e["event_type"], e["data"]
        if t == "IncubatorRegistered":
            on = _day(d["recognized_on"])
            actual[m.REGION_BASES] += int(d["level"] == "region" and start <= on <= end)
            if on <= end and prefecture_of(d["division_code"]) in PREFECTURES:
                base_prefectures.add(prefecture_of(d["division_code"]))
        elif t == "ServicePlatformRegistered":
            actual[m.SERVICE_PLATFORMS] += int(start <= _day(d["recognized_on"]) <= end)
        else:
            _enterprise_fact(firms, e)
    actual[m.PREFECTURES_WITH_BASE] = len(base_prefectures)
    for firm in firms.values():
        _count_firm(actual, firm, year=year, start=start, end=end)
    return dict(actual)


_day = date.fromisoformat


def _enterprise_fact(firms: dict[str, _Enterprise], e: Event) -> None:
    t, d = e["event_type"], e["data"]
    if t == "EnterpriseRegistered":
        firms[d["uscc"]].registered = e
        firms[d["uscc"]].reports.append(Report(_day(d["registered_on"]), d["employees"], 0, e["event_id"]))
    elif t == "EmploymentReported":
        firms[d["uscc"]].reports.append(Report(_day(d["reported_on"]), d["employees"], 1, e["event_id"]))
    elif t == "EnterpriseAdmitted":
        firms[d["uscc"]].admissions.append(_day(d["admitted_on"]))
    elif t in _DATED:
        firms[d["uscc"]].dated.append((_dated_metric(t, d), _day(d[_DATED[t]])))


def _count_firm(actual: Counter[str], firm: _Enterprise, *, year: int, start: date, end: date) -> None:
    reg = firm.registered["data"] if firm.registered else None
    contributions = enterprise_contributions(
        registered_on=_day(reg["registered_on"]) if reg else None,
        reports=firm.reports if reg else [],
        admissions=firm.admissions,
        founders=reg.get("college_student_founders", 0) if reg else 0,
        dated_facts=firm.dated,
    )
    for (metric, cohort, on), value in contributions.items():
        if metric == m.COLLEGE_STUDENT_FOUNDERS:
            actual[metric] += value if COLLEGE_PERIOD[0] <= on <= min(COLLEGE_PERIOD[1], end) else 0
        elif cohort == year and start <= on <= end:
            actual[metric] += value


def reported_actuals(progress: dict[str, Any]) -> dict[str, int]:
    """The same keys as `expected_actuals`, read from a /v1/progress document (zeros left out)."""
    c = progress["counters"]
    found = {k: v["actual"] for k, v in progress["metrics"].items()} | {
        m.HIGH_TECH_CERTIFICATIONS: c["high_tech_certifications"],
        m.LISTINGS_XJEE: c["listings"]["XJEE"],
        m.LISTINGS_NEEQ: c["listings"]["NEEQ"],
        m.BOARD_TRANSFERS: c["board_transfers"],
        m.GRADUATIONS: c["graduations"],
    }
    return {k: v for k, v in found.items() if v}


def enterprise_facts(events: Iterable[Event]) -> dict[str, EnterpriseFacts]:
    """Each enterprise's facts as the award rules read them (operators from the incubators)."""
    facts = unique(events)
    operators = {
        e["data"]["incubator_id"]: (e["data"]["operator_uscc"], e["data"]["operator_name"])
        for e in facts
        if e["event_type"] == "IncubatorRegistered"
    }
    parts: dict[str, dict[str, set[Any]]] = defaultdict(lambda: defaultdict(set))
    names: dict[str, str] = {}
    prefectures: dict[str, str] = {}
    day = date.fromisoformat
    for e in facts:
        t, d, eid = e["event_type"], e["data"], uuid.UUID(e["event_id"])
        if t == "EnterpriseRegistered":
            names[d["uscc"]] = d["name"]
            prefectures[d["uscc"]] = prefecture_of(d["division_code"])
        elif t == "EnterpriseAdmitted":
            op_uscc, op_name = operators[d["incubator_id"]]
            parts[d["uscc"]][t].add(Admission(eid, d["incubator_id"], day(d["admitted_on"]), op_uscc, op_name))
        elif t == "EnterpriseGraduated":
            parts[d["uscc"]][t].add(Graduation(eid, d["incubator_id"], day(d["graduated_on"])))
        elif t == "HighTechCertified":
            parts[d["uscc"]][t].add(Certification(eid, day(d["certified_on"])))
        elif t == "ListedOnBoard":
            parts[d["uscc"]][t].add(Listing(eid, Board(d["board"]), day(d["listed_on"])))
        elif t == "BoardTransferred":
            parts[d["uscc"]][t].add(Transfer(eid, day(d["transferred_on"])))
    return {u: assemble(u, names.get(u, ""), parts[u], prefectures.get(u)) for u in names}


def expected_net_payouts(events: Iterable[Event], policy: Versions) -> dict[str, dict[str, int]]:
    """Per enterprise: net CNY owed to the operator and to the enterprise (every budget)."""
    out: dict[str, dict[str, int]] = {}
    for uscc, facts in enterprise_facts(events).items():
        net = {"operator": 0, "enterprise": 0}
        for p in decide(facts, policy).payouts:
            net[p.recipient_role.value] += p.amount_cny
        out[uscc] = net
    return out


def expected_award_totals(events: Iterable[Event], policy: Versions, *, start: date, end: date) -> dict[str, int]:
    """Live payouts and their CNY with a basis date in [start, end] (reporting's awards block)."""
    count = cny = 0
    for facts in enterprise_facts(events).values():
        for p in decide(facts, policy).payouts:
            if start <= p.basis_date <= end:
                count += 1
                cny += p.amount_cny
    return {"payouts": count, "net_amount_cny": cny}
