"""The shape every service keeps (docs/architecture.md): the same rooms, SQL only in
adapters, and imports that point inward only."""

import ast
import re
from pathlib import Path

import pytest

from stack.layout import ROOT

SERVICES = ("registration", "awards", "reporting")
ROOMS = {"domain", "service_layer", "adapters", "entrypoints", "migrations"}
# Awards is six features, each with the rooms it needs. A feature may use those before it
# in this order, never one after it: the ledger announces what a reversal asks of
# disbursement (services/awards/handlers.py), it does not call it.
AWARDS_FEATURES = ("audit", "policy", "ledger", "disbursement", "treasury", "office")
FEATURE_ROOM = r"services\.\w+\.(?:\w+\.)?"  # a service's room, or a feature's room in awards
# A SQL statement in a string: a keyword that starts one, followed by what it acts on.
SQL = re.compile(
    r"\b(SELECT\b.*\bFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|SCHEMA|INDEX)|DROP\s+"
    r"(TABLE|SCHEMA)|ALTER\s+TABLE|pg_advisory\w*)",
    re.DOTALL,  # the project writes SQL keywords in capitals; prose has them in lower case
)
IO_PACKAGES = {"asyncpg", "aiokafka", "faststream", "fastapi", "starlette", "httpx", "psycopg", "yoyo", "uvicorn"}
IO_SHARED = {
    "shared.process.db",
    "shared.messaging.outbox",
    "shared.messaging.kafka",
    "shared.messaging.consumer",
    "shared.process.runtime",
    "shared.web.app",
}
FRAMEWORKS = {"aiokafka", "faststream", "fastapi", "starlette", "uvicorn", "httpx"}
FRAMEWORK_SHARED = {
    "shared.messaging.kafka",
    "shared.messaging.consumer",
    "shared.process.runtime",
    "shared.web.app",
    "shared.web.errors",
    "shared.web.params",
}


def room_of(service: str, path: Path) -> str:
    parts = path.relative_to(ROOT / "services" / service).parts
    return parts[1] if service == "awards" and parts[0] in AWARDS_FEATURES and len(parts) > 2 else parts[0]


def modules(room: str | None = None) -> list[tuple[str, Path]]:
    found = []
    for service in SERVICES:
        base = ROOT / "services" / service
        for path in sorted(base.rglob("*.py")):
            if room is None or room_of(service, path) == room:
                found.append((service, path))
    return found


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def starts(name: str, prefixes: set[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def dirs(base: Path) -> set[str]:
    return {p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith("__")}


@pytest.mark.parametrize("service", ["registration", "reporting"])
def test_every_service_has_the_same_rooms(service: str) -> None:
    base = ROOT / "services" / service
    files = {p.name for p in base.iterdir() if p.suffix == ".py"}
    assert dirs(base) == ROOMS
    assert files == {"__init__.py", "__main__.py", "app.py", "settings.py"}
    for door in ("consumer.py", "cli.py", "http_api.py"):
        assert (base / "entrypoints" / door).is_file()


def test_awards_is_features_with_the_same_rooms_inside() -> None:
    base = ROOT / "services" / "awards"
    files = {p.name for p in base.iterdir() if p.suffix == ".py"}
    assert dirs(base) == {*AWARDS_FEATURES, "migrations"}
    assert files == {"__init__.py", "__main__.py", "app.py", "settings.py", "handlers.py"}
    for feature in AWARDS_FEATURES:
        assert dirs(base / feature) <= ROOMS - {"migrations"}, feature
        assert (base / feature / "domain").is_dir(), feature
    for door in ("ledger/entrypoints/consumer.py", "ledger/entrypoints/http_api.py", "office/entrypoints/cli.py"):
        assert (base / door).is_file()


def test_a_feature_uses_only_those_before_it() -> None:
    bad = []
    for i, feature in enumerate(AWARDS_FEATURES):
        later = {f"services.awards.{f}" for f in AWARDS_FEATURES[i + 1 :]} | {"services.awards.handlers"}
        for path in python_files(f"services/awards/{feature}"):
            bad += [f"{rel(path)}: {name}" for name in imports_of(path) if starts(name, later)]
    assert bad == []


def test_sql_lives_only_in_adapters() -> None:
    leaks = []
    for _, path in modules():
        if "adapters" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
                leaks.append(f"{rel(path)}:{node.lineno}")
            if isinstance(node, ast.Attribute) and node.attr in {"fetch", "fetchrow", "fetchval", "executemany"}:
                leaks.append(f"{rel(path)}:{node.lineno} .{node.attr}")
    assert leaks == []


def test_the_sql_pattern_sees_a_statement() -> None:
    # The check above is only as good as its pattern.
    assert SQL.search("SELECT uscc FROM enterprises")
    assert SQL.search("DELETE FROM parked WHERE true")
    assert SQL.search("SELECT pg_advisory_xact_lock($1)")
    assert not SQL.search("select the payouts from the list")  # prose: no FROM after SELECT as a word pair
    assert not SQL.search("a batch's files answer 409 until it is released")


def test_domain_imports_no_io() -> None:
    bad = [
        f"{rel(p)}: {name}"
        for service, p in modules("domain")
        for name in imports_of(p)
        if starts(name, IO_PACKAGES | IO_SHARED)
        or re.match(FEATURE_ROOM + r"(adapters|service_layer|entrypoints)", name)
    ]
    assert bad == []


def test_service_layer_imports_no_http_or_kafka_framework() -> None:
    bad = [
        f"{rel(p)}: {name}"
        for service, p in modules("service_layer")
        for name in imports_of(p)
        if starts(name, FRAMEWORKS | FRAMEWORK_SHARED) or re.match(FEATURE_ROOM + "entrypoints", name)
    ]
    assert bad == []


def test_adapters_import_neither_use_cases_nor_entrypoints() -> None:
    bad = [
        f"{rel(p)}: {name}"
        for service, p in modules("adapters")
        for name in imports_of(p)
        if re.match(FEATURE_ROOM + r"(service_layer|entrypoints)", name)
    ]
    assert bad == []


def test_doors_do_not_import_each_other() -> None:
    """A router, consumer or page module uses no other door's helpers (they live in
    shared/ or in a helper module of entrypoints/, e.g. intake_schema.py)."""
    door = r"(\w*_api|consumer|pages)"
    bad = [
        f"{rel(p)}: {name}"
        for service, p in modules("entrypoints")
        for name in imports_of(p)
        if re.fullmatch(door, p.stem) and re.match(rf"services\.{service}\.(?:\w+\.)?entrypoints\.{door}\b", name)
    ]
    assert bad == []


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_imports_another(service: str) -> None:
    others = {f"services.{s}" for s in SERVICES if s != service}
    bad = [f"{rel(p)}: {n}" for s, p in modules() if s == service for n in imports_of(p) if starts(n, others)]
    assert bad == []


SHARED_PACKAGES = ("contract", "messaging", "web", "process")


def python_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def test_shared_is_four_packages_by_concern() -> None:
    shared = ROOT / "shared"
    assert sorted(p.name for p in shared.iterdir() if p.suffix == ".py") == ["__init__.py"]
    assert sorted(p.name for p in shared.iterdir() if p.is_dir() and not p.name.startswith("__")) == sorted(
        SHARED_PACKAGES
    )


def test_the_contract_depends_on_nothing_else_of_the_platform() -> None:
    leaks = [
        f"{rel(path)} imports {name}"
        for path in python_files("shared/contract")
        for name in imports_of(path)
        if starts(name, {"shared.messaging", "shared.web", "shared.process", "services", "ops", "stack"})
    ]
    assert leaks == []


def test_operator_tools_are_outside_the_services_import_path() -> None:
    """Services and shared/ never import the operator's tools (ops/); the tools use
    shared/, never a service's insides."""
    into_ops = [
        f"{rel(path)} imports {name}"
        for path in python_files("services", "shared")
        for name in imports_of(path)
        if starts(name, {"ops"})
    ]
    into_services = [
        f"{rel(path)} imports {name}"
        for path in python_files("ops", "shared")
        for name in imports_of(path)
        if starts(name, {"services", "stack"})
    ]
    assert (into_ops, into_services) == ([], [])


def test_use_cases_run_in_one_kind_of_transaction() -> None:
    """A use case writes in `unit_of_work` and reads in `snapshot` (shared/process/db.py),
    never a transaction of its own making on a pooled connection."""
    own = re.compile(r"\.acquire\(\)\s+as\s+\w+,\s*\w+\.transaction\(")
    found = [rel(path) for _, path in modules() if own.search(path.read_text(encoding="utf-8"))]
    assert found == []
