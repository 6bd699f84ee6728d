"""Registration's command line: `python -m services.registration [serve]`, `migrate`."""

from pathlib import Path

from shared.process.cli import Command, dispatch, migrate_command
from shared.process.serve import serve

SERVICE = "registration"


def serve_command(argv: list[str]) -> None:
    from services.registration.app import create_app

    serve(SERVICE, create_app, default_port=8001)


def main(argv: list[str] | None = None) -> None:
    dispatch(
        "python -m services.registration",
        {
            "serve": Command("serve HTTP intake and consume every sender's intake topic", serve_command),
            "migrate": migrate_command(SERVICE, Path(__file__).parents[1] / "migrations"),
        },
        argv,
    )
