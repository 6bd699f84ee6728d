"""Run a service's ASGI app with uvicorn; SIGTERM lets the in-flight batch finish.

With HTTP_TLS_CERTFILE and HTTP_TLS_KEYFILE set the service serves HTTPS only, so bearer
tokens never cross the network in clear (docs/operations.md: or terminate TLS at a
reverse proxy in front of it)."""

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from shared.process.logs import setup_logging


def tls_options(env: dict[str, str]) -> dict[str, Any]:
    """uvicorn's TLS arguments from the environment: both files or neither."""
    cert, key = env.get("HTTP_TLS_CERTFILE"), env.get("HTTP_TLS_KEYFILE")
    if not cert and not key:
        return {}
    if not (cert and key):
        raise SystemExit("HTTP_TLS_CERTFILE and HTTP_TLS_KEYFILE go together: set both, or neither for HTTP")
    for variable, path in (("HTTP_TLS_CERTFILE", cert), ("HTTP_TLS_KEYFILE", key)):
        if not Path(path).is_file():
            raise SystemExit(f"{variable}={path}: no such file")
    return {"ssl_certfile": cert, "ssl_keyfile": key}


def serve(name: str, factory: Callable[[], FastAPI], *, default_port: int) -> None:
    setup_logging(name, os.environ.get("LOG_LEVEL", "INFO"))
    port = int(os.environ.get(f"{name.upper()}_PORT") or os.environ.get("HTTP_PORT") or default_port)
    tls = tls_options(dict(os.environ))
    app = factory()
    host = bound_host(app)
    # uvloop: libuv's event loop in C, under asyncpg's and aiokafka's sockets (docs/decisions.md).
    uvicorn.run(
        app,
        host=host,
        port=port,
        loop="uvloop",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=20,
        **tls,
    )


def bound_host(app: FastAPI) -> str:
    """The address to bind: the one the app's settings hold, never the raw variable, so
    what the app checked (the development sign-in's loopback guard) is what is bound.
    An empty HTTP_HOST is the default, loopback — not every interface."""
    host: str = app.state.runtime.settings.http_host
    return host
