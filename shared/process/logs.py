"""Structured JSON logs, one object a line, so event ids can be grepped and shipped."""

import logging
import sys
import time
from datetime import UTC, datetime

import orjson
from opentelemetry import trace


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": self._service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        within = trace.get_current_span().get_span_context()
        if within.is_valid:  # a line written inside a span names it
            entry["trace_id"] = trace.format_trace_id(within.trace_id)
            entry["span_id"] = trace.format_span_id(within.span_id)
        return orjson.dumps(entry).decode()


class QuietRepeats(logging.Filter):
    """aiokafka logs every reconnect attempt, ten a second while a broker is down: let each
    distinct aiokafka line through once per `window_s` seconds, so the log stays readable."""

    def __init__(self, window_s: float = 10.0) -> None:
        super().__init__()
        self._window_s = window_s
        self._last: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("aiokafka"):
            return True
        key, now = f"{record.name}:{record.getMessage()}", time.monotonic()
        if now - self._last.get(key, -self._window_s) < self._window_s:
            return False
        if len(self._last) > 1000:  # bounded: distinct messages are few, but never trust that
            self._last.clear()
        self._last[key] = now
        return True


# aiokafka's own routine recoveries, which it logs as warnings: the coordinator found again
# after it moved or a request to it timed out under load, a heartbeat answered "rebalancing".
# The client recovers by itself; real trouble shows as consumer lag and unprocessed age
# (ConsumerLagGrowing, BatchFailures), so these lines say INFO, not trouble.
ROUTINE_KAFKA = (
    "Marking the coordinator dead",
    "Heartbeat failed for group %s because it is rebalancing",
    "Heartbeat failed for group %s: coordinator (node %s) is either not started or not valid",
)


class RoutineAsInfo(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if (
            record.name.startswith("aiokafka")
            and record.levelno == logging.WARNING
            and isinstance(record.msg, str)
            and record.msg.startswith(ROUTINE_KAFKA)
        ):
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def setup_logging(service: str, level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    handler.addFilter(QuietRepeats())
    handler.addFilter(RoutineAsInfo())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))
