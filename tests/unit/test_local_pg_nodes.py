"""The local stack after a failover: a plain `make up` comes up on the current primary
(not on the fenced old one), and `make down` stops every server, a promoted standby too."""

from pathlib import Path

import pytest

from stack import postgres


def test_without_a_standby_the_stack_runs_the_current_primary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres, "PRIMARY_FILE", tmp_path / "primary")
    monkeypatch.setattr(postgres, "STANDBY", False)
    assert postgres.nodes() == (postgres.NODES[0],)  # never failed over: pg-a
    (tmp_path / "primary").write_text("pg-b\n")  # `make failover` promoted pg-b
    assert [n.name for n in postgres.nodes()] == ["pg-b"]
    monkeypatch.setattr(postgres, "STANDBY", True)
    assert [n.name for n in postgres.nodes()] == ["pg-a", "pg-b"]


def test_down_stops_every_server_whatever_the_stack_was_started_with(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres, "STANDBY", False)
    asked: list[str] = []
    monkeypatch.setattr(postgres, "node_running", lambda n: asked.append(n.name) or False)
    postgres.stop_postgres()
    assert asked == ["pg-a", "pg-b"]
