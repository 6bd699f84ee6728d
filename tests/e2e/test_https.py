"""The services serve HTTPS from a configured certificate, so bearer tokens never cross
the network in clear."""

import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import trustme

from tests.support.stack import ROOT, Stack

pytestmark = pytest.mark.e2e
PORT = 18031


def test_https_with_a_configured_certificate(stack: Stack, tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile, cafile = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    cert.cert_chain_pems[0].write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    ca.cert_pem.write_to_path(str(cafile))
    env = {
        **stack.process_env(),
        "REGISTRATION_PORT": str(PORT),
        "HTTP_TLS_CERTFILE": str(certfile),
        "HTTP_TLS_KEYFILE": str(keyfile),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "services.registration"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        with httpx.Client(verify=ssl.create_default_context(cafile=str(cafile)), timeout=2) as client:
            body = _first_answer(client, f"https://127.0.0.1:{PORT}/healthz")
        assert body == {"status": "ok", "service": "registration"}
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{PORT}/healthz", timeout=2)  # no plain HTTP beside it
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"https://127.0.0.1:{PORT}/healthz", timeout=2)  # a certificate no one vouched for
    finally:
        process.terminate()
        process.wait(timeout=30)


def _first_answer(client: httpx.Client, url: str) -> object:
    deadline = time.monotonic() + 60
    while True:
        try:
            return client.get(url).json()
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
