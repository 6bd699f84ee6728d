"""Events on award.events.v1: keyed by the enterprise's USCC, so one enterprise's payouts,
approvals, payments and clawbacks stay in order."""

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from prometheus_client import Counter

from shared.contract import topics
from shared.contract.codec import OutgoingMessage, encode_envelope, event_message
from shared.contract.enums import RecipientRole, Rule
from shared.contract.events import Data
from shared.messaging.trace_context import Headers

AWARD_EVENTS = Counter("award_events_total", "Award events emitted", ["event_type", "rule"])


def award_message(
    event_id: uuid.UUID, event_type: str, data: Data, uscc: str, now: datetime, *, trace: Headers = ()
) -> OutgoingMessage:
    AWARD_EVENTS.labels(event_type, getattr(data, "rule", "")).inc()
    value = encode_envelope(event_id=event_id, event_type=event_type, occurred_at=now, source="xj-awards", data=data)
    return event_message(topic=topics.AWARD_EVENTS, key=uscc, envelope_bytes=value, event_type=event_type, trace=trace)


def payout_fields(r: Mapping[str, Any]) -> dict[str, Any]:
    """The fields every disbursement event repeats of its payout (from a `lock_payouts` row)."""
    return {
        "payout_id": r["payout_id"],
        "rule": Rule(r["rule"]),
        "recipient_role": RecipientRole(r["recipient_role"]),
        "recipient_uscc": r["recipient_uscc"],
        "enterprise_uscc": r["enterprise_uscc"],
    }


def policy_message(event_id: uuid.UUID, data: Data, jurisdiction: str, now: datetime) -> OutgoingMessage:
    """PolicyVersionAdopted, keyed by the version's jurisdiction: one jurisdiction's
    adoptions stay in order."""
    return award_message(event_id, "PolicyVersionAdopted", data, jurisdiction, now)
