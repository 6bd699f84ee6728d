"""Senders are principals (HTTP): a signed-in sender may send only what the
sender registry allows it — an incubator admits and graduates at its own incubator only —
and only under its own name; anything else is refused with its code, told on the results
topic, and never applied."""

from typing import Any

import httpx
import pytest

from shared.contract import topics
from tests.support import factories as f
from tests.support.auth import INCUBATOR_SENDER, OWN_INCUBATOR, sender
from tests.support.http import eventually, http_client
from tests.support.kafka_io import publish, value_json, wait_for_records
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


def by(name: str, event: dict[str, Any]) -> dict[str, Any]:
    return {**event, "source": name}


async def result_of(stack: Stack, event: dict[str, Any]) -> dict[str, Any]:
    key = f"{event['source']}/{event['event_id']}".encode()
    (record,) = await wait_for_records(stack.bootstrap, topics.INTAKE_RESULTS, lambda r: r.key == key, count=1)
    data: dict[str, Any] = value_json(record)["data"]
    return data


async def test_an_incubator_sends_only_admissions_and_graduations_of_its_own_incubator(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    own_operator, other_operator = f.new_uscc(), f.new_uscc()
    mine, theirs, other_inc = f.new_uscc(), f.new_uscc(), f.new_id("INC-OTHER")
    await publish(
        stack.bootstrap,
        [
            f.incubator(OWN_INCUBATOR, operator_uscc=own_operator),
            f.incubator(other_inc, operator_uscc=other_operator),
            f.enterprise(mine),
            f.enterprise(theirs),
            f.admitted(theirs, other_inc, "2015-06-01"),
        ],
    )
    url = f"{stack.url('registration')}/v1/events"

    async def known() -> int:
        return (await client.get(f"{stack.url('registration')}/v1/enterprises/{theirs}")).status_code

    assert await eventually(known, lambda s: s == 200) == 200

    admitted = by(INCUBATOR_SENDER, f.admitted(mine, OWN_INCUBATOR, "2015-06-01"))
    ok = await client.post(url, json=admitted, headers=sender(INCUBATOR_SENDER))
    assert (ok.status_code, ok.json()) == (202, {"event_id": admitted["event_id"], "status": "accepted"})

    certified = by(INCUBATOR_SENDER, f.certified(mine, "2015-09-01"))
    refused = await client.post(url, json=certified, headers=sender(INCUBATOR_SENDER))
    assert (refused.status_code, refused.json()) == (
        403,
        {
            "error_code": "NOT_AUTHORIZED",
            "message": f"sender '{INCUBATOR_SENDER}' may not send HighTechCertified; "
            "it may send EnterpriseAdmitted, EnterpriseGraduated",
            "errors": [{"loc": "event_type", "msg": "not among the sender's event types"}],
        },
    )
    graduation = by(INCUBATOR_SENDER, f.graduated(theirs, other_inc, "2015-07-01"))
    foreign = await client.post(url, json=graduation, headers=sender(INCUBATOR_SENDER))
    assert (foreign.status_code, foreign.json()["error_code"], foreign.json()["message"]) == (
        403,
        "NOT_AUTHORIZED",
        f"sender '{INCUBATOR_SENDER}' may send EnterpriseGraduated only for {OWN_INCUBATOR}, not for {other_inc}",
    )
    for event in (certified, graduation):
        said = await result_of(stack, event)
        assert (said["status"], said["error_code"], said["received_via"]) == ("rejected", "NOT_AUTHORIZED", "http")

    # Never applied: no certification, and the competitor's enterprise is still incubated.
    record = (await client.get(f"{stack.url('registration')}/v1/enterprises/{theirs}")).json()
    assert [s["graduated_on"] for s in record["stints"]] == [None]
    assert (await client.get(f"{stack.url('registration')}/v1/enterprises/{mine}")).json()["certifications"] == []
    awards = await client.get(f"{stack.url('awards')}/v1/enterprises/{mine}/awards")
    assert awards.status_code == 404 or awards.json()["payouts"] == []


async def test_a_sender_speaks_only_under_its_own_name(stack: Stack, client: httpx.AsyncClient) -> None:
    url = f"{stack.url('registration')}/v1/events"
    event = f.enterprise(f.new_uscc())  # source "tests"
    async with http_client(timeout=10) as nobody:  # the fixture's client signs in as a reader
        anonymous = await nobody.post(url, json=event)
    assert (anonymous.status_code, anonymous.json()["error_code"]) == (401, "UNAUTHORIZED")
    spoofed = await client.post(url, json=event, headers=sender(INCUBATOR_SENDER))
    assert (spoofed.status_code, spoofed.json()) == (
        403,
        {
            "error_code": "SOURCE_MISMATCH",
            "message": f"the envelope says source 'tests', but it was sent by '{INCUBATOR_SENDER}'",
            "errors": [{"loc": "source", "msg": f"must be '{INCUBATOR_SENDER}', the authenticated sender"}],
        },
    )
    unlisted = await client.post(url, json=by("nobody", event), headers=sender("nobody"))
    assert (unlisted.status_code, unlisted.json()["message"]) == (403, "sender 'nobody' is not in the sender registry")
    accepted = await client.post(url, json=event, headers=sender())
    assert accepted.status_code == 202
