"""A service's pool notices a cut link (shared/process/db.py): every connection it opens carries
TCP_USER_TIMEOUT and keepalive probes, on the real PostgreSQL with the pinned asyncpg."""

import socket

import pytest

from shared.process import db
from tests.support.stack import Infra

pytestmark = pytest.mark.integration


async def test_every_pooled_connection_gives_up_on_a_cut_link_after_ten_seconds(infra: Infra) -> None:
    pool = await db.create_pool(infra.dsn, schema="public", min_size=2, max_size=2)
    try:
        async with pool.acquire() as a, pool.acquire() as b:  # two connections at once: both opened by the pool
            assert [await a.fetchval("SELECT 1"), await b.fetchval("SELECT 1")] == [1, 1]
            sockets = [c._con._transport.get_extra_info("socket") for c in (a, b)]  # the proxies' connections
            options = [
                (
                    sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                    sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
                    sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
                    sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
                    sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
                )
                for sock in sockets
            ]
    finally:
        await pool.close()
    assert options == [(1, 10, 5, 3, 10_000)] * 2
