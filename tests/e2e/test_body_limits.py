"""No unauthenticated client can exhaust a service with a body: 50 MB sent without a token
to each route that reads a body is answered 413, whether its length is declared or it is
streamed in chunks; the service reads at most the route's limit plus one chunk, and its
memory does not grow with what was sent."""

import asyncio
import re
from pathlib import Path

import pytest

from services.awards.treasury.service_layer.confirmations import MAX_BYTES as CONFIRMATION_BYTES
from shared.web.body_limit import DEFAULT_LIMIT
from tests.support.http import metrics
from tests.support.stack import SERVICE_PORTS, TEST_STACK, Stack

pytestmark = pytest.mark.e2e
FIFTY_MB = 50 * 1024 * 1024
CHUNK = 64 * 1024
# uvicorn hands the application what one read of the socket gave: asyncio reads at most
# 256 KiB at a time.
ONE_CHUNK = 256 * 1024
INTAKE_BYTES = 1 << 20  # registration's MAX_EVENT_BYTES on the test stack (its default)
# (service, path, its limit, whether it reads the body before it authenticates: a route
# whose body is a JSON parameter does, FastAPI parses it before any dependency; a route
# that reads its body itself authenticates first and reads nothing from a stranger)
ROUTES = [
    ("awards", "/v1/approvals", DEFAULT_LIMIT, True),
    ("awards", "/v1/payment-batches", DEFAULT_LIMIT, True),
    ("awards", "/v1/treasury-exceptions/1/resolution", DEFAULT_LIMIT, True),
    ("awards", "/v1/what-if", DEFAULT_LIMIT, True),
    ("awards", "/v1/policy/versions", DEFAULT_LIMIT, True),
    ("awards", "/dev/sign-in", DEFAULT_LIMIT, True),
    ("awards", "/v1/confirmations", CONFIRMATION_BYTES, False),
    ("registration", "/v1/events", INTAKE_BYTES, False),
]


def rss_kib(pid: int) -> int:
    found = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    assert found
    return int(found.group(1))


async def bytes_read(service: str) -> float:
    text = await metrics(f"http://127.0.0.1:{SERVICE_PORTS[service]}", TEST_STACK)
    pattern = r'^http_request_body_bytes_read_total\{service="' + service + r'"\} (\S+)$'
    found = re.search(pattern, text, re.M)
    return float(found.group(1)) if found else 0.0


async def send_raw(port: int, path: str, *, chunked: bool) -> tuple[int, bytes]:
    """50 MB to `path` without a token, as a client that keeps sending until it is answered:
    the status line and the response's first bytes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {FIFTY_MB}"
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{length}\r\n\r\n".encode()
    )

    async def body() -> None:
        piece = b" " * CHUNK
        for _ in range(FIFTY_MB // CHUNK):
            writer.write(f"{CHUNK:x}\r\n".encode() + piece + b"\r\n" if chunked else piece)
            await writer.drain()

    sending = asyncio.create_task(body())
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=60)
        length = re.search(rb"content-length: (\d+)", head, re.I)
        answer = head + (await asyncio.wait_for(reader.readexactly(int(length.group(1))), 10) if length else b"")
    finally:
        sending.cancel()
        writer.close()
    status = int(answer.split(b" ", 2)[1])
    return status, answer


@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
@pytest.mark.parametrize(("service", "path", "limit", "reads_first"), ROUTES, ids=[f"{s}{p}" for s, p, _, _ in ROUTES])
async def test_fifty_megabytes_without_a_token_are_refused_reading_at_most_the_limit_and_a_chunk(
    stack: Stack, service: str, path: str, limit: int, reads_first: bool, chunked: bool
) -> None:
    pid = stack.pid(service)
    rss_before, read_before = rss_kib(pid), await bytes_read(service)
    status, head = await send_raw(SERVICE_PORTS[service], path, chunked=chunked)
    read = await bytes_read(service) - read_before
    if not chunked:
        assert (status, read) == (413, 0), head[:300]  # refused on its declared length: not a byte read
        assert b"TOO_LARGE" in head
    elif reads_first:
        assert status == 413 and b"TOO_LARGE" in head, head[:300]
        assert limit < read <= limit + ONE_CHUNK
    else:
        assert (status, read) == (401, 0), head[:300]  # a stranger is refused before its body is read
    assert rss_kib(pid) - rss_before < 20 * 1024
