"""The sender registry file is judged by what it holds, not by its timestamp: a revocation
written while the registry was being read is never skipped, and a refused file shows on a
gauge until it parses."""

import json
import os
from pathlib import Path

from services.registration.adapters.sender_registry import REFUSED, RegistryFile


def write(path: Path, senders: dict[str, list[str]] | None, *, stamp_ns: int | None = None) -> None:
    path.write_text(
        '{"senders": {"half'
        if senders is None
        else json.dumps({"senders": {k: {"event_types": v} for k, v in senders.items()}})
    )
    if stamp_ns is not None:
        os.utime(path, ns=(stamp_ns, stamp_ns))


def test_a_revocation_written_while_the_file_was_read_half_written_is_not_skipped(tmp_path: Path) -> None:
    path = tmp_path / "senders.json"
    write(path, {"kjt": ["HighTechCertified"], "amr": ["EnterpriseRegistered"]})
    registry = RegistryFile(path)
    assert sorted(registry.current()) == ["amr", "kjt"]
    stamp = path.stat().st_mtime_ns + 1_000_000
    write(path, None, stamp_ns=stamp)  # read while half written
    assert sorted(registry.current()) == ["amr", "kjt"]  # the last good one stays
    assert REFUSED._value.get() == 1
    write(path, {"amr": ["EnterpriseRegistered"]}, stamp_ns=stamp)  # finished: kjt revoked, same stamp
    assert sorted(registry.current()) == ["amr"]
    assert REFUSED._value.get() == 0


def test_a_refused_file_put_back_clears_the_gauge(tmp_path: Path) -> None:
    path = tmp_path / "senders.json"
    write(path, {"amr": ["EnterpriseRegistered"]})
    registry = RegistryFile(path)
    write(path, {"amr": ["NoSuchEvent"]}, stamp_ns=path.stat().st_mtime_ns + 1_000_000)
    assert sorted(registry.current()) == ["amr"] and REFUSED._value.get() == 1
    write(path, {"amr": ["EnterpriseRegistered"]}, stamp_ns=path.stat().st_mtime_ns + 1_000_000)
    assert sorted(registry.current()) == ["amr"] and REFUSED._value.get() == 0
