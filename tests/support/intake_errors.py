"""The intake errors a sender can cause with one message, each with what the DLQ header
and the HTTP answer say (docs/contract/events.md): shared by the in-process intake tests and
the end-to-end wiring test."""

import json
from typing import Any

from tests.support import factories as f

_U = f.new_uscc()
_BAD_USCC = _U[:-1] + ("0" if _U[-1] != "0" else "1")
_UNKNOWN = f.envelope("EnterpriseMerged", {"uscc": _U})
_BAD_DATA = f.enterprise(f.new_uscc())
_BAD_DATA["data"]["employees"] = "12"
_BAD_DIVISION = f.enterprise(f.new_uscc(), division="650402", registered_on="2015-02-10")
_FUTURE = f.enterprise(f.new_uscc(), registered_on="2099-01-01")

# (name, raw value, error code, dlq.error, HTTP status, HTTP body)
CASES: list[tuple[str, bytes, str, str, int, dict[str, Any]]] = [
    (
        "malformed-json",
        b"{not json",
        "MALFORMED_JSON",
        "not valid JSON: unexpected character, expected a string key: line 1 column 2 (char 1)",
        422,
        {
            "error_code": "MALFORMED_JSON",
            "message": "not valid JSON: unexpected character, expected a string key: line 1 column 2 (char 1)",
            "errors": [],
        },
    ),
    (
        "invalid-envelope",
        json.dumps({"event_type": "EnterpriseRegistered", "schema_version": 1}).encode(),
        "INVALID_ENVELOPE",
        "the envelope is invalid (event_id: Field required; occurred_at: Field required; source: Field required; "
        "data: Field required)",
        422,
        {
            "error_code": "INVALID_ENVELOPE",
            "message": "the envelope is invalid",
            "errors": [
                {"loc": "event_id", "msg": "Field required"},
                {"loc": "occurred_at", "msg": "Field required"},
                {"loc": "source", "msg": "Field required"},
                {"loc": "data", "msg": "Field required"},
            ],
        },
    ),
    (
        "unknown-event-type",
        json.dumps(_UNKNOWN).encode(),
        "UNKNOWN_EVENT_TYPE",
        "unknown event_type 'EnterpriseMerged'; expected one of BoardTransferred, EmploymentReported, "
        "EnterpriseAdmitted, EnterpriseGraduated, EnterpriseRegistered, HighTechCertified, IncubatorRegistered, "
        "ListedOnBoard, ServicePlatformRegistered (event_type: unknown event type)",
        422,
        {
            "error_code": "UNKNOWN_EVENT_TYPE",
            "message": "unknown event_type 'EnterpriseMerged'; expected one of BoardTransferred, EmploymentReported, "
            "EnterpriseAdmitted, EnterpriseGraduated, EnterpriseRegistered, HighTechCertified, "
            "IncubatorRegistered, ListedOnBoard, ServicePlatformRegistered",
            "errors": [{"loc": "event_type", "msg": "unknown event type"}],
        },
    ),
    (
        "invalid-data",
        json.dumps(_BAD_DATA).encode(),
        "INVALID_DATA",
        "EnterpriseRegistered data is invalid (data.employees: Input should be a valid integer)",
        422,
        {
            "error_code": "INVALID_DATA",
            "message": "EnterpriseRegistered data is invalid",
            "errors": [{"loc": "data.employees", "msg": "Input should be a valid integer"}],
        },
    ),
    (
        "invalid-uscc",
        json.dumps(f.enterprise(_BAD_USCC)).encode(),
        "INVALID_USCC",
        f"uscc '{_BAD_USCC}' is not a valid unified social credit code (GB 32100-2015) "
        "(data.uscc: invalid USCC check character or alphabet)",
        422,
        {
            "error_code": "INVALID_USCC",
            "message": f"uscc '{_BAD_USCC}' is not a valid unified social credit code (GB 32100-2015)",
            "errors": [{"loc": "data.uscc", "msg": "invalid USCC check character or alphabet"}],
        },
    ),
    (
        "invalid-division",
        json.dumps(_BAD_DIVISION).encode(),
        "INVALID_DIVISION",
        "division_code 650402 is not a Xinjiang GB/T 2260 code in force on 2015-02-10 "
        "(data.division_code: not in force in Xinjiang on 2015-02-10)",
        422,
        {
            "error_code": "INVALID_DIVISION",
            "message": "division_code 650402 is not a Xinjiang GB/T 2260 code in force on 2015-02-10",
            "errors": [{"loc": "data.division_code", "msg": "not in force in Xinjiang on 2015-02-10"}],
        },
    ),
]
