"""One command-line shape for every service: `python -m services.<svc> [command] [args]`.

With no command the service serves HTTP and consumes Kafka (`serve`); other commands are
the service's tools (e.g. `python -m services.awards what-if --listing-window-years 3`)."""

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    help: str
    run: Callable[[list[str]], None]


def dispatch(prog: str, commands: Mapping[str, Command], argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    name = args[0] if args and not args[0].startswith("-") else "serve"
    if name not in commands or args[:1] in (["-h"], ["--help"]):
        usage = "\n".join(f"  {n:<10} {c.help}" for n, c in commands.items())
        print(f"usage: {prog} [command] [options]\n\ncommands (default: serve):\n{usage}", file=sys.stderr)
        raise SystemExit(0 if args[:1] in (["-h"], ["--help"]) else 2)
    commands[name].run(args[1:] if args and args[0] == name else args)
