"""DLQ messages (docs/contract/topics.md#dead-letters): the value unchanged, the reason in headers."""

from datetime import UTC, datetime

from shared.contract.codec import OutgoingMessage


def dlq_message(
    *,
    dlq_topic: str,
    service: str,
    error_code: str,
    error: str,
    source_topic: str,
    source_partition: int,
    source_offset: int,
    key: bytes | None,
    value: bytes,
    original_headers: tuple[tuple[str, bytes], ...] = (),
    failed_at: datetime | None = None,
) -> OutgoingMessage:
    when = (failed_at or datetime.now(UTC)).isoformat()
    headers = (
        # The reason headers are this failure's; a redrive's mark stays (no redrive loops).
        *(h for h in original_headers if not h[0].startswith("dlq.") or h[0] == "dlq.redriven_from"),
        ("dlq.error_code", error_code.encode()),
        ("dlq.error", error.encode()[:4000]),
        ("dlq.service", service.encode()),
        ("dlq.source_topic", source_topic.encode()),
        ("dlq.source_partition", str(source_partition).encode()),
        ("dlq.source_offset", str(source_offset).encode()),
        ("dlq.failed_at", when.encode()),
    )
    return OutgoingMessage(topic=dlq_topic, key=key, value=value, headers=headers)
