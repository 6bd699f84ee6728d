"""PostgreSQL lost in the middle of a request (a cut link, a failover) is a 503 that says
sending again is safe, not a 500; any other fault stays the server's 500."""

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from shared.web import errors as http_errors


async def get_raising(exc: Exception) -> httpx.Response:
    app = FastAPI()
    http_errors.install(app)

    @app.get("/boom")
    async def boom() -> None:
        raise exc

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get("/boom")


def closed_in_a_transaction() -> asyncpg.InterfaceError:
    """What asyncpg raises when the connection dies inside `conn.transaction()`."""
    try:
        try:
            raise asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")
        except asyncpg.ConnectionDoesNotExistError:
            raise asyncpg.InterfaceError("cannot call Transaction.__aexit__(): the underlying connection is closed")  # noqa: B904 - as asyncpg does
    except asyncpg.InterfaceError as e:
        return e


@pytest.mark.parametrize(
    "exc",
    [
        closed_in_a_transaction(),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.ReadOnlySQLTransactionError("cannot execute UPDATE in a read-only transaction"),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError(),  # a connect that found no server within 5 s
        # The server stopped mid-transaction: the pool dropped the connection under the request.
        asyncpg.InterfaceError("cannot call Connection.execute(): connection has been released back to the pool"),
    ],
    ids=[
        "closed-inside-a-transaction",
        "closed",
        "demoted-by-a-failover",
        "shut-down",
        "refused",
        "connect-timed-out",
        "dropped-by-the-pool",
    ],
)
async def test_the_database_lost_mid_request_is_a_503_that_says_sending_again_is_safe(exc: Exception) -> None:
    r = await get_raising(exc)
    assert (r.status_code, r.headers["retry-after"], r.json()) == (
        503,
        "5",
        {
            "error_code": "DATABASE_UNAVAILABLE",
            "message": "PostgreSQL was lost during the request: it was done wholly or not at all; "
            "sending it again is safe",
            "errors": [],
        },
    )


async def test_any_other_interface_error_stays_a_500() -> None:
    r = await get_raising(asyncpg.InterfaceError("cannot perform operation: another operation is in progress"))
    assert (r.status_code, r.text) == (500, "Internal Server Error")
