"""Awards' handler table: every type it consumes reaches one handler, once per batch, with
the batch's events in the log's order, so an enterprise's registration is stored before
the facts that follow it are decided (the payout carries the enterprise's name)."""

import uuid
from datetime import date
from typing import Any

import orjson
from aiokafka.structs import ConsumerRecord

from services.awards import handlers
from services.awards.ledger.entrypoints.consumer import make_handler
from services.awards.policy.adapters.policy_versions import AdoptedCache
from shared.contract import incoming
from shared.messaging.consumer import Record


def record(event_type: str, data: dict[str, Any]) -> Record:
    value = orjson.dumps({"event_id": str(uuid.uuid4()), "event_type": event_type, "data": data})
    return ConsumerRecord("enterprise.events.v1", 0, 0, 0, 0, b"k", value, None, 1, len(value), ())


def test_the_table_binds_one_handler_for_every_type_it_consumes() -> None:
    table = handlers.bound(AdoptedCache())
    assert set(table) == {incoming.EnterpriseRegistered, *handlers.RULE_INPUTS}
    assert len({id(h) for h in table.values()}) == 1


async def test_a_batch_reaches_each_handler_once_in_the_logs_order() -> None:
    seen: list[list[str]] = []

    async def take(_: Any, events: list[incoming.Event]) -> None:
        seen.append([type(e).__name__ for e in events])

    handle = make_handler(dict.fromkeys((incoming.EnterpriseRegistered, incoming.HighTechCertified), take))
    await handle(
        None,
        [
            record("HighTechCertified", {"uscc": "A", "certified_on": "2016-01-01"}),
            record("EmploymentReported", {"uscc": "B", "employees": 3, "reported_on": "2016-01-01"}),
            record(
                "EnterpriseRegistered",
                {"uscc": "B", "name": "n", "division_code": "650102", "registered_on": "2015-01-01", "employees": 1},
            ),
            record("HighTechCertified", {"uscc": "B", "certified_on": str(date(2016, 2, 1))}),
        ],
    )
    assert seen == [["HighTechCertified", "EnterpriseRegistered", "HighTechCertified"]]
