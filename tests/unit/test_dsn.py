"""DSNs with one host or a primary and its standby, read without urlsplit's `.port`."""

import pytest

from shared.process.dsn import Dsn, parse


def test_a_multi_host_dsn_keeps_every_host_and_the_session_attribute() -> None:
    dsn = parse("postgresql://xj_awards:p%40ss@127.0.0.1:5432,127.0.0.1:5433/xj?target_session_attrs=read-write")
    assert dsn == Dsn(
        "xj_awards", "p@ss", (("127.0.0.1", 5432), ("127.0.0.1", 5433)), "xj", {"target_session_attrs": "read-write"}
    )
    assert dsn.yoyo_uri("awards") == (
        "postgresql+psycopg://xj_awards:p%40ss@/xj?target_session_attrs=read-write"
        "&host=127.0.0.1%2C127.0.0.1&port=5432%2C5433&schema=awards"
    )


@pytest.mark.parametrize(
    ("given", "hosts"),
    [
        ("postgresql://u:p@db/x", (("db", 5432),)),
        ("postgres://u@[::1]:6432,[fe80::1]/x", (("::1", 6432), ("fe80::1", 5432))),
        ("postgresql:///x", (("localhost", 5432),)),
    ],
)
def test_hosts_ports_and_defaults(given: str, hosts: tuple[tuple[str, int], ...]) -> None:
    assert parse(given).hosts == hosts


def test_one_host_is_recognised_and_other_schemes_refused() -> None:
    assert parse("postgresql://xj:xj@127.0.0.1:25432/xj").is_only("127.0.0.1", 25432)
    assert not parse("postgresql://xj:xj@127.0.0.1:25432,127.0.0.1:25433/xj").is_only("127.0.0.1", 25432)
    with pytest.raises(ValueError, match="not a PostgreSQL URI"):
        parse("mysql://u@h/x")
