"""Reporting's command line: `python -m services.reporting [serve]`, `rebuild` (drop the
state and re-read every topic from offset 0, with the service stopped) and `follow`
(live progress from reporting.progress.v1)."""

import asyncio
from pathlib import Path

from shared.process.cli import Command, dispatch, migrate_command
from shared.process.serve import serve

SERVICE = "reporting"


def serve_command(argv: list[str]) -> None:
    from services.reporting.app import create_app

    serve(SERVICE, create_app, default_port=8000)


def rebuild_command(argv: list[str]) -> None:
    from services.reporting.entrypoints.rebuild import rebuild
    from services.reporting.settings import ReportingSettings

    try:
        asyncio.run(rebuild(ReportingSettings()))
    except (PermissionError, RuntimeError) as exc:
        raise SystemExit(f"rebuild: {exc}") from None


def follow_command(argv: list[str]) -> None:
    from services.reporting.entrypoints.progress_follow import main as follow

    follow(argv)


def main(argv: list[str] | None = None) -> None:
    dispatch(
        "python -m services.reporting",
        {
            "serve": Command("serve the dashboard and API and consume the event topics", serve_command),
            "migrate": migrate_command(SERVICE, Path(__file__).parents[1] / "migrations"),
            "rebuild": Command("drop reporting's state; its next start re-reads every topic from 0", rebuild_command),
            "follow": Command("print progress rows from reporting.progress.v1 as they change", follow_command),
        },
        argv,
    )
