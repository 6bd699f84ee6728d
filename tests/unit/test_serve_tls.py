"""HTTPS settings: both files or neither; a half-configured one stops the process with one
line naming what is wrong."""

from pathlib import Path

import pytest

from shared.process.serve import tls_options


def test_tls_settings_go_together_and_name_what_is_wrong(tmp_path: Path) -> None:
    assert tls_options({}) == {}
    with pytest.raises(SystemExit, match="HTTP_TLS_CERTFILE and HTTP_TLS_KEYFILE go together"):
        tls_options({"HTTP_TLS_CERTFILE": "x.pem"})
    with pytest.raises(SystemExit, match=f"HTTP_TLS_KEYFILE={tmp_path}/missing.pem: no such file"):
        (tmp_path / "cert.pem").write_text("x")
        tls_options(
            {"HTTP_TLS_CERTFILE": str(tmp_path / "cert.pem"), "HTTP_TLS_KEYFILE": str(tmp_path / "missing.pem")}
        )
