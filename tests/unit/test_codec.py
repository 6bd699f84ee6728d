"""The envelope's bytes do not depend on how they are produced: orjson's own UUID and
datetime output is the text str() and isoformat() give."""

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import orjson
import pytest

from shared.contract.codec import dumps, encode_envelope


@pytest.mark.parametrize(
    "occurred_at",
    [
        datetime(2015, 6, 1, 10, 0, tzinfo=timezone(timedelta(hours=8))),
        datetime(2026, 12, 2, 1, 2, 3, 456789, tzinfo=UTC),
        datetime(2016, 2, 29, 23, 59, 59, 1, tzinfo=ZoneInfo("Asia/Shanghai")),
        datetime(2015, 1, 1, 0, 0, 0, 500000, tzinfo=timezone(timedelta(hours=-3, minutes=-30))),
    ],
)
def test_envelope_text_is_str_and_isoformat(occurred_at: datetime) -> None:
    event_id = uuid.UUID("6f1d3c52-8e0b-4f5a-9a51-2015041600aa")
    raw = encode_envelope(event_id=event_id, event_type="X", occurred_at=occurred_at, source="s", data={"a": 1})
    assert json.loads(raw) == {
        "event_id": str(event_id),
        "event_type": "X",
        "schema_version": 1,
        "occurred_at": occurred_at.isoformat(),
        "source": "s",
        "data": {"a": 1},
    }


def test_dumps_gives_exactly_orjsons_bytes() -> None:
    value = {"id": uuid.UUID("6f1d3c52-8e0b-4f5a-9a51-2015041600aa"), "name": "新疆某某科技有限公司", "n": [1, None]}
    raw = dumps(value)
    assert type(raw) is bytes
    assert raw == orjson.dumps(value)
    assert raw == '{"id":"6f1d3c52-8e0b-4f5a-9a51-2015041600aa","name":"新疆某某科技有限公司","n":[1,null]}'.encode()
