"""Valid intake envelopes with unique identities, so tests sharing a stack never collide."""

import itertools
import random
import uuid
from typing import Any

from stdnum.cn import uscc as uscc_check

_counter = itertools.count(random.SystemRandom().randrange(1, 10**6) * 1000)
_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def new_uscc(division: str = "650102") -> str:
    """A USCC with a correct GB 32100 check character: 91 + division + 9-char org code + check."""
    n = next(_counter)
    org = "".join(_ALPHABET[(n // len(_ALPHABET) ** i) % len(_ALPHABET)] for i in range(8))[::-1] + "X"
    body = f"91{division}{org}"
    return body + uscc_check.calc_check_digit(body)


def new_id(prefix: str = "INC") -> str:
    return f"{prefix}-{next(_counter)}"


def envelope(
    event_type: str, data: dict[str, Any], *, event_id: uuid.UUID | None = None, source: str = "tests"
) -> dict[str, Any]:
    return {
        "event_id": str(event_id or uuid.uuid4()),
        "event_type": event_type,
        "schema_version": 1,
        "occurred_at": "2015-06-01T10:00:00+08:00",
        "source": source,
        "data": data,
    }


def incubator(
    incubator_id: str,
    *,
    operator_uscc: str,
    level: str = "region",
    division: str = "650102",
    recognized_on: str = "2015-04-20",
) -> dict[str, Any]:
    return envelope(
        "IncubatorRegistered",
        {
            "incubator_id": incubator_id,
            "name": f"孵化器 {incubator_id}",
            "operator_uscc": operator_uscc,
            "operator_name": f"运营公司 {operator_uscc[-4:]}",
            "level": level,
            "division_code": division,
            "recognized_on": recognized_on,
        },
    )


def platform(
    platform_id: str, *, operator_uscc: str, division: str = "650102", recognized_on: str = "2015-05-01"
) -> dict[str, Any]:
    return envelope(
        "ServicePlatformRegistered",
        {
            "platform_id": platform_id,
            "name": f"平台 {platform_id}",
            "operator_uscc": operator_uscc,
            "operator_name": "平台运营",
            "level": "prefecture",
            "division_code": division,
            "recognized_on": recognized_on,
        },
    )


def enterprise(
    uscc: str,
    *,
    registered_on: str = "2015-05-04",
    division: str = "650102",
    employees: int = 10,
    founders: int = 0,
    name: str | None = None,
) -> dict[str, Any]:
    return envelope(
        "EnterpriseRegistered",
        {
            "uscc": uscc,
            "name": name or f"企业 {uscc[-6:]}",
            "division_code": division,
            "registered_on": registered_on,
            "size": "small",
            "employees": employees,
            "college_student_founders": founders,
        },
    )


def admitted(uscc: str, incubator_id: str, on: str) -> dict[str, Any]:
    return envelope("EnterpriseAdmitted", {"uscc": uscc, "incubator_id": incubator_id, "admitted_on": on})


def graduated(uscc: str, incubator_id: str, on: str) -> dict[str, Any]:
    return envelope("EnterpriseGraduated", {"uscc": uscc, "incubator_id": incubator_id, "graduated_on": on})


def certified(uscc: str, on: str, certificate_no: str = "GR201565000001") -> dict[str, Any]:
    return envelope("HighTechCertified", {"uscc": uscc, "certificate_no": certificate_no, "certified_on": on})


def listed(uscc: str, board: str, on: str, code: str = "XJ000001") -> dict[str, Any]:
    return envelope("ListedOnBoard", {"uscc": uscc, "board": board, "security_code": code, "listed_on": on})


def transferred(uscc: str, on: str, code: str = "830001") -> dict[str, Any]:
    return envelope(
        "BoardTransferred",
        {
            "uscc": uscc,
            "from_board": "XJEE",
            "to_board": "NEEQ",
            "security_code": code,
            "transferred_on": on,
        },
    )


def employment(uscc: str, employees: int, on: str) -> dict[str, Any]:
    return envelope("EmploymentReported", {"uscc": uscc, "employees": employees, "reported_on": on})


def key_of(env: dict[str, Any]) -> str:
    d = env["data"]
    return str(d.get("uscc") or d.get("incubator_id") or d.get("platform_id") or "")
