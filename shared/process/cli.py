"""One command-line shape for every service: `python -m services.<svc> [command] [args]`.

With no command the service serves HTTP and consumes Kafka (`serve`); other commands are
the service's tools (e.g. `python -m services.awards what-if --listing-window-years 3`)."""

import asyncio
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Command:
    help: str
    run: Callable[[list[str]], None]


def migrate_command(service: str, directory: Path) -> Command:
    """`python -m services.<svc> migrate`: run by the migration role (its DSN in DATABASE_URL),
    never by the service; DATABASE_RUNTIME_ROLE names the service's role to grant."""

    def run(argv: list[str]) -> None:
        from shared.process import db
        from shared.process.settings import ServiceSettings

        s = ServiceSettings()
        roles = [s.database_runtime_role] if s.database_runtime_role else []
        asyncio.run(db.migrate(s.dsn, schema=service, directory=directory, runtime_roles=roles))
        print(f"{service}: migrated{' and granted to ' + roles[0] if roles else ''}")

    return Command("apply the schema's migrations (as the migration role) and grant the service's role", run)


def dispatch(prog: str, commands: Mapping[str, Command], argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    name = args[0] if args and not args[0].startswith("-") else "serve"
    if name not in commands or args[:1] in (["-h"], ["--help"]):
        usage = "\n".join(f"  {n:<10} {c.help}" for n, c in commands.items())
        print(f"usage: {prog} [command] [options]\n\ncommands (default: serve):\n{usage}", file=sys.stderr)
        raise SystemExit(0 if args[:1] in (["-h"], ["--help"]) else 2)
    commands[name].run(args[1:] if args and args[0] == name else args)
