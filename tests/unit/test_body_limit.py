"""Bodies are bounded before routing: an over-long body is refused with 413 before
authentication or JSON parsing ever sees it, reading at most the limit plus one chunk."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel

from shared.web import errors as http_errors
from shared.web.body_limit import BODY_BYTES_READ, BodyLimit

CHUNK = 64 * 1024


class Body(BaseModel):
    x: int


def deny() -> None:
    raise HTTPException(401, "sign in")  # authentication, as a dependency: after the body is read


def app() -> FastAPI:
    a = FastAPI()
    http_errors.install(a)
    a.add_middleware(BodyLimit, service="t", limits={"/big": 5 * CHUNK}, default=2 * CHUNK)

    @a.post("/json", dependencies=[Depends(deny)])
    async def json_route(body: Body) -> dict[str, int]:
        return {"x": body.x}

    @a.post("/big")
    async def big(body: Body) -> dict[str, int]:
        return {"x": body.x}

    return a


def read_so_far() -> float:
    return BODY_BYTES_READ.labels("t")._value.get()


async def post(
    path: str, content: bytes | AsyncIterator[bytes], headers: dict[str, str] | None = None
) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app()), base_url="http://t") as client:
        return await client.post(path, content=content, headers=headers or {})


async def test_a_declared_length_over_the_limit_is_refused_without_reading_a_byte() -> None:
    before = read_so_far()
    r = await post("/json", b"{" * (2 * CHUNK + 1), {"content-type": "application/json"})
    assert (r.status_code, r.json()) == (
        413,
        {"error_code": "TOO_LARGE", "message": f"body exceeds {2 * CHUNK} bytes", "errors": []},
    )
    assert read_so_far() - before == 0


async def test_a_streamed_body_is_cut_off_after_the_limit_plus_one_chunk() -> None:
    async def fifty_megabytes() -> AsyncIterator[bytes]:
        for _ in range(50 * 1024 * 1024 // CHUNK):
            yield b" " * CHUNK

    before = read_so_far()
    r = await post("/json", fifty_megabytes(), {"content-type": "application/json"})
    assert (r.status_code, r.json()["error_code"]) == (413, "TOO_LARGE")
    assert read_so_far() - before == 3 * CHUNK  # the limit (two chunks) and the one that passed it


@pytest.mark.parametrize(("path", "size", "status"), [("/json", 2 * CHUNK, 401), ("/big", 5 * CHUNK, 200)])
async def test_under_the_limit_the_route_answers_as_before(path: str, size: int, status: int) -> None:
    body = b'{"x": 1}'
    r = await post(path, body + b" " * (size - len(body)), {"content-type": "application/json"})
    assert r.status_code == status
