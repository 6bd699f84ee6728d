"""Registration's command line: `python -m services.registration [serve]`."""

from shared.cli import Command, dispatch
from shared.serve import serve


def serve_command(argv: list[str]) -> None:
    from services.registration.app import create_app

    serve("registration", create_app, default_port=8001)


def main(argv: list[str] | None = None) -> None:
    dispatch(
        "python -m services.registration",
        {"serve": Command("serve HTTP intake and consume registration.intake.v1", serve_command)},
        argv,
    )
