"""Run a service's ASGI app with uvicorn; SIGTERM lets the in-flight batch finish."""

import os
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from shared.logs import setup_logging


def serve(name: str, factory: Callable[[], FastAPI], *, default_port: int) -> None:
    setup_logging(name, os.environ.get("LOG_LEVEL", "INFO"))
    port = int(os.environ.get(f"{name.upper()}_PORT") or os.environ.get("HTTP_PORT") or default_port)
    host = os.environ.get("HTTP_HOST", "127.0.0.1")
    uvicorn.run(factory(), host=host, port=port, log_config=None, access_log=False, timeout_graceful_shutdown=20)
