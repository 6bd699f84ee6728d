"""Registration's pure rules: validation of one message (the codes of docs/contract/events.md) and the
reference rules that apply, park or reject a valid fact against a registry view."""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson
import pytest
from stdnum.cn import uscc as uscc_check

from services.registration.domain.authority import Authority, authorise
from services.registration.domain.intake import identity_of
from services.registration.domain.references import Apply, Park, decide, satisfied_keys
from services.registration.domain.validation import FieldError, Rejection, ValidFact, content_hash, validate
from shared.contract.enums import IntakeError, Level
from shared.contract.events import IncubatorState
from tests.support import factories as f

TODAY = date(2016, 6, 30)
USCC = "91650102MA775NQX9T"
OPERATOR = "91650102MA775NQY7M"
STATE = IncubatorState(operator_uscc=OPERATOR, operator_name="运营公司", level=Level.REGION, division_code="650102")


def check(event: dict[str, Any], *, today: date = TODAY, max_bytes: int = 1 << 20) -> ValidFact | Rejection:
    return validate(orjson.dumps(event), max_bytes=max_bytes, today=today)


def fact(event: dict[str, Any]) -> ValidFact:
    checked = check(event)
    assert isinstance(checked, ValidFact), checked
    return checked


@dataclass
class View:
    """A registry as the rules see it."""

    enterprises: set[str] = field(default_factory=set)
    incubators: dict[str, IncubatorState] = field(default_factory=dict)
    platforms: set[str] = field(default_factory=set)
    admissions: dict[tuple[str, str], list[date]] = field(default_factory=dict)
    xjee: dict[str, list[date]] = field(default_factory=dict)

    def has_enterprise(self, uscc: str) -> bool:
        return uscc in self.enterprises

    def has_incubator(self, incubator_id: str) -> bool:
        return incubator_id in self.incubators

    def has_platform(self, platform_id: str) -> bool:
        return platform_id in self.platforms

    def incubator_state(self, incubator_id: str) -> IncubatorState | None:
        return self.incubators.get(incubator_id)

    def open_admissions(self, uscc: str, incubator_id: str) -> list[date]:
        return self.admissions.get((uscc, incubator_id), [])

    def xjee_listing_dates(self, uscc: str) -> list[date]:
        return self.xjee.get(uscc, [])


def test_the_test_codes_are_valid_usccs() -> None:
    assert isinstance(check(f.enterprise(USCC, registered_on="2015-05-04")), ValidFact)
    assert isinstance(check(f.incubator("INC-1", operator_uscc=OPERATOR)), ValidFact)


def test_a_valid_fact_keeps_its_envelope_and_hashes_its_content_whatever_the_key_order() -> None:
    event = f.enterprise(USCC, registered_on="2015-05-04", employees=12)
    checked = fact(event)
    assert checked.event_type == "EnterpriseRegistered"
    assert str(checked.envelope.event_id) == event["event_id"]
    assert checked.data.employees == 12  # type: ignore[union-attr]
    reordered = dict(reversed(list(event.items())))
    assert fact(reordered).content_hash == checked.content_hash == content_hash(event)


@pytest.mark.parametrize(
    ("raw", "code", "message"),
    [
        (b"{not json", IntakeError.MALFORMED_JSON, None),
        (b"[1, 2]", IntakeError.INVALID_ENVELOPE, "the envelope must be a JSON object"),
        (b'{"event_type": "EnterpriseRegistered"}', IntakeError.INVALID_ENVELOPE, "the envelope is invalid"),
    ],
)
def test_what_is_not_an_envelope(raw: bytes, code: IntakeError, message: str | None) -> None:
    checked = validate(raw, max_bytes=1000, today=TODAY)
    assert isinstance(checked, Rejection)
    assert checked.code is code
    if message is not None:
        assert checked.message == message


def test_too_large_is_decided_before_parsing() -> None:
    assert check(f.enterprise(USCC), max_bytes=100) == Rejection(
        IntakeError.TOO_LARGE, f"message of {len(orjson.dumps(f.enterprise(USCC)))} bytes exceeds the limit of 100"
    )


def test_an_unknown_event_type_names_the_known_ones() -> None:
    checked = check(f.envelope("EnterpriseRenamed", {"uscc": USCC}))
    assert isinstance(checked, Rejection)
    assert checked.code is IntakeError.UNKNOWN_EVENT_TYPE
    assert checked.errors == (FieldError("event_type", "unknown event type"),)
    assert "'EnterpriseRenamed'" in checked.message and "HighTechCertified" in checked.message


def test_integers_are_strict() -> None:
    event = f.enterprise(USCC)
    event["data"]["employees"] = "12"
    checked = check(event)
    assert isinstance(checked, Rejection)
    assert (checked.code, [e.loc for e in checked.errors]) == (IntakeError.INVALID_DATA, ["data.employees"])


def test_a_wrong_check_character_is_invalid_uscc() -> None:
    wrong = USCC[:-1] + ("0" if USCC[-1] != "0" else "1")
    checked = check(f.enterprise(wrong))
    assert checked == Rejection(
        IntakeError.INVALID_USCC,
        f"uscc {wrong!r} is not a valid unified social credit code (GB 32100-2015)",
        (FieldError("data.uscc", "invalid USCC check character or alphabet"),),
    )


def test_lower_case_uscc_is_refused_though_the_check_character_matches() -> None:
    checked = check(f.enterprise(USCC.lower()))
    assert isinstance(checked, Rejection)
    assert checked.code is IntakeError.INVALID_USCC


def test_a_uscc_in_full_width_digits_is_refused_though_the_library_reads_it_as_valid() -> None:
    """Its ASCII twin names the same enterprise: stored under a second key, it would be a
    second enterprise with awards of its own."""
    full_width = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in USCC)
    assert full_width != USCC and uscc_check.is_valid(full_width)
    checked = check(f.enterprise(full_width))
    assert checked == Rejection(
        IntakeError.INVALID_USCC,
        f"uscc {full_width!r} is not a valid unified social credit code (GB 32100-2015)",
        (FieldError("data.uscc", "invalid USCC check character or alphabet"),),
    )
    assert isinstance(check(f.enterprise(USCC)), ValidFact)


def test_a_date_after_today_is_inconsistent() -> None:
    checked = check(f.certified(USCC, "2016-07-01"))
    assert checked == Rejection(
        IntakeError.INCONSISTENT_DATES,
        "certified_on 2016-07-01 is after today (2016-06-30)",
        (FieldError("data.certified_on", "date is in the future"),),
    )
    assert isinstance(check(f.certified(USCC, "2016-06-30")), ValidFact)


def test_a_transfer_goes_from_xjee_to_neeq_only() -> None:
    event = f.transferred(USCC, "2016-01-05")
    event["data"]["from_board"], event["data"]["to_board"] = "NEEQ", "XJEE"
    checked = check(event)
    assert checked == Rejection(
        IntakeError.INVALID_DATA,
        "a board transfer goes from XJEE to NEEQ",
        (FieldError("data.from_board", "must be XJEE, with to_board NEEQ"),),
    )


def test_a_division_must_be_xinjiang_and_in_force_on_the_date() -> None:
    beijing = check(f.enterprise(USCC, division="110101"))
    assert isinstance(beijing, Rejection)
    assert beijing.code is IntakeError.INVALID_DIVISION
    assert beijing.message == "division_code 110101 is not a Xinjiang GB/T 2260 code in force on 2015-05-04"
    assert isinstance(check(f.enterprise(USCC, division="650102")), ValidFact)


def test_registrations_apply_once() -> None:
    registered = fact(f.enterprise(USCC))
    assert decide(registered, View()) == Apply()
    assert decide(registered, View(enterprises={USCC})) == Rejection(
        IntakeError.ALREADY_REGISTERED, f"enterprise {USCC} is already registered"
    )
    incubator = fact(f.incubator("INC-1", operator_uscc=OPERATOR))
    assert decide(incubator, View(incubators={"INC-1": STATE})) == Rejection(
        IntakeError.ALREADY_REGISTERED, "incubator INC-1 is already registered"
    )
    platform = fact(f.platform("PLT-1", operator_uscc=OPERATOR))
    assert decide(platform, View(platforms={"PLT-1"})) == Rejection(
        IntakeError.ALREADY_REGISTERED, "service platform PLT-1 is already registered"
    )


def test_a_fact_about_an_unregistered_enterprise_parks_until_it_is_registered() -> None:
    assert decide(fact(f.certified(USCC, "2015-09-01")), View()) == Park(
        f"enterprise:{USCC}", f"enterprise {USCC} is not registered yet"
    )
    assert satisfied_keys(fact(f.enterprise(USCC))) == [f"enterprise:{USCC}"]


def test_an_admission_parks_for_its_incubator_then_carries_the_incubator_state() -> None:
    admission = fact(f.admitted(USCC, "INC-1", "2015-06-01"))
    assert decide(admission, View(enterprises={USCC})) == Park(
        "incubator:INC-1", "incubator INC-1 is not registered yet"
    )
    assert decide(admission, View(enterprises={USCC}, incubators={"INC-1": STATE})) == Apply(incubator=STATE)
    assert satisfied_keys(admission) == [f"admission:{USCC}:INC-1"]
    assert satisfied_keys(fact(f.incubator("INC-1", operator_uscc=OPERATOR))) == ["incubator:INC-1"]


def test_a_graduation_matches_the_latest_open_admission_not_after_it() -> None:
    view = View(
        enterprises={USCC},
        incubators={"INC-1": STATE},
        admissions={(USCC, "INC-1"): [date(2015, 6, 1), date(2015, 9, 1), date(2016, 3, 1)]},
    )
    assert decide(fact(f.graduated(USCC, "INC-1", "2015-12-31")), view) == Apply(
        incubator=STATE, admitted_on=date(2015, 9, 1)
    )
    assert decide(fact(f.graduated(USCC, "INC-1", "2015-05-30")), view) == Rejection(
        IntakeError.INCONSISTENT_DATES,
        "graduated_on 2015-05-30 is before admitted_on 2015-06-01",
        (FieldError("data.graduated_on", "must not be before admitted_on"),),
    )
    assert decide(fact(f.graduated(USCC, "INC-2", "2015-12-31")), view) == Park(
        f"admission:{USCC}:INC-2", f"no open admission of {USCC} to incubator INC-2 yet"
    )


def test_a_transfer_needs_an_earlier_xjee_listing() -> None:
    transfer = fact(f.transferred(USCC, "2016-01-05"))
    assert decide(transfer, View(enterprises={USCC})) == Park(f"xjee:{USCC}", f"no XJEE listing of {USCC} yet")
    assert decide(transfer, View(enterprises={USCC}, xjee={USCC: [date(2016, 2, 1)]})) == Rejection(
        IntakeError.INCONSISTENT_DATES,
        "transferred_on 2016-01-05 is before listed_on 2016-02-01",
        (FieldError("data.transferred_on", "must not be before the XJEE listed_on"),),
    )
    assert decide(transfer, View(enterprises={USCC}, xjee={USCC: [date(2015, 8, 1)]})) == Apply()
    assert satisfied_keys(fact(f.listed(USCC, "XJEE", "2015-08-01"))) == [f"xjee:{USCC}"]
    assert satisfied_keys(fact(f.listed(USCC, "NEEQ", "2015-08-01"))) == []


def test_certifications_listings_and_reports_of_a_registered_enterprise_apply() -> None:
    view = View(enterprises={USCC})
    for event in (
        f.certified(USCC, "2015-09-01"),
        f.listed(USCC, "NEEQ", "2015-10-01"),
        f.employment(USCC, 30, "2015-12-31"),
    ):
        assert decide(fact(event), view) == Apply()


def test_the_identity_of_an_invalid_message_is_what_can_be_read() -> None:
    event = f.enterprise(USCC)
    who = identity_of(orjson.dumps({**event, "data": "nonsense"}))
    assert (str(who.event_id), who.source, who.event_type) == (event["event_id"], "tests", "EnterpriseRegistered")
    assert identity_of(b"{broken") == identity_of(b"[]")
    assert (identity_of(b'{"event_id": "not-a-uuid", "source": 7}').event_id, identity_of(b"{}").source) == (None, None)


@pytest.mark.parametrize(
    "name", ['=HYPERLINK("http://x.example","点击")', "+86 公司", "-1", "@SUM(A1)", "\t=1+1", "\r公司"]
)
def test_a_name_a_spreadsheet_would_run_is_refused(name: str) -> None:
    checked = check(f.enterprise(USCC, name=name))
    assert checked == Rejection(
        IntakeError.FORMULA_LIKE_NAME,
        f"name {name[:40]!r} begins with {name[0]!r}, which a spreadsheet runs as a formula",
        (FieldError("data.name", "must not begin with =, +, -, @, a tab or a carriage return"),),
    )
    operator = f.incubator("INC-1", operator_uscc=OPERATOR)
    operator["data"]["operator_name"] = name
    refused = check(operator)
    assert isinstance(refused, Rejection) and refused.errors == (
        FieldError("data.operator_name", "must not begin with =, +, -, @, a tab or a carriage return"),
    )
    assert isinstance(check(f.enterprise(USCC, name="新疆 " + name)), ValidFact)  # only the first character


REGISTRY = {
    "regulator": Authority(frozenset({"EnterpriseRegistered", "EmploymentReported"})),
    "incubator-1": Authority(frozenset({"EnterpriseAdmitted", "EnterpriseGraduated"}), frozenset({"INC-1"})),
}


def sent(name: str, event: dict[str, Any]) -> ValidFact:
    return fact({**event, "source": name})


def test_a_sender_may_send_what_its_registry_entry_allows_and_nothing_else() -> None:
    assert authorise("regulator", REGISTRY, sent("regulator", f.enterprise(USCC))) is None
    assert authorise("incubator-1", REGISTRY, sent("incubator-1", f.admitted(USCC, "INC-1", "2015-06-01"))) is None
    assert authorise("incubator-1", REGISTRY, sent("incubator-1", f.certified(USCC, "2015-09-01"))) == Rejection(
        IntakeError.NOT_AUTHORIZED,
        "sender 'incubator-1' may not send HighTechCertified; it may send EnterpriseAdmitted, EnterpriseGraduated",
        (FieldError("event_type", "not among the sender's event types"),),
    )
    assert authorise("incubator-1", REGISTRY, sent("incubator-1", f.graduated(USCC, "INC-2", "2015-07-01"))) == (
        Rejection(
            IntakeError.NOT_AUTHORIZED,
            "sender 'incubator-1' may send EnterpriseGraduated only for INC-1, not for INC-2",
            (FieldError("data.incubator_id", "not one of the sender's carriers"),),
        )
    )


def test_a_sender_speaks_only_under_its_own_name_and_only_if_registered() -> None:
    assert authorise("incubator-1", REGISTRY, sent("regulator", f.enterprise(USCC))) == Rejection(
        IntakeError.SOURCE_MISMATCH,
        "the envelope says source 'regulator', but it was sent by 'incubator-1'",
        (FieldError("source", "must be 'incubator-1', the authenticated sender"),),
    )
    assert authorise("nobody", REGISTRY, sent("nobody", f.enterprise(USCC))) == Rejection(
        IntakeError.NOT_AUTHORIZED, "sender 'nobody' is not in the sender registry"
    )
