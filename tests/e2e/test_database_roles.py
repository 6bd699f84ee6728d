"""PostgreSQL roles that mean something (stack/postgres.py, shared/process/db.py): the services run
as roles of their own that are not superusers, own nothing and may not touch another
service's schema; the audit log is INSERT and SELECT for awards, whose role cannot switch
its triggers off, drop it, change or delete a row. Passwords over TCP, never trust."""

from urllib.parse import quote

import asyncpg
import pytest

from tests.support.stack import TEST_STACK, Stack

pytestmark = pytest.mark.e2e


def dsn(role: str) -> str:
    password = (TEST_STACK / "pg-secrets" / f"{role}.password").read_text().strip()
    return f"postgresql://{role}:{quote(password, safe='')}@127.0.0.1:25432/xj"


async def refused(conn: asyncpg.Connection, sql: str) -> str:
    """The error PostgreSQL answers `sql` with (inside a transaction rolled back either way)."""
    try:
        async with conn.transaction():
            await conn.execute(sql)
    except asyncpg.PostgresError as exc:
        return type(exc).__name__
    return "allowed"


async def test_awards_may_append_to_the_audit_log_and_nothing_more(stack: Stack) -> None:
    conn = await asyncpg.connect(dsn("xj_awards"))
    try:
        powers = "SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles WHERE rolname = current_user"
        assert await conn.fetchval(powers) is False
        assert await conn.fetchval("SELECT count(*) >= 0 FROM awards.audit_log") is True
        for sql in (
            "ALTER TABLE awards.audit_log DISABLE TRIGGER ALL",
            "ALTER TABLE awards.audit_log DISABLE TRIGGER audit_log_no_update_delete",
            "DROP TABLE awards.audit_log",
            "UPDATE awards.audit_log SET actor = 'nobody'",
            "DELETE FROM awards.audit_log",
            "TRUNCATE awards.audit_log",
            "CREATE TABLE awards.mine (a int)",  # no DDL in its own schema either
            "DROP TABLE awards.payouts",
            "DELETE FROM awards._yoyo_migration",  # nor rewriting which migrations ran
            "UPDATE awards.access_log SET actor = 'nobody'",  # who read payment data stays written
            "DELETE FROM awards.access_log",
            "ALTER TABLE awards.policy_versions DISABLE TRIGGER policy_versions_immutable",  # adopted stays adopted
        ):
            assert await refused(conn, sql) == "InsufficientPrivilegeError", sql
        # It may change its own rows (rolled back here).
        assert await refused(conn, "UPDATE awards.payouts SET amount_cny = amount_cny WHERE false") == "allowed"
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("role", "foreign"),
    [
        ("xj_awards", "SELECT 1 FROM registration.enterprises LIMIT 1"),
        ("xj_awards", "UPDATE reporting.targets SET target = 0"),
        ("xj_reporting", "SELECT 1 FROM awards.audit_log LIMIT 1"),
        ("xj_reporting", "DELETE FROM awards.payouts"),
        ("xj_registration", "SELECT 1 FROM awards.payouts LIMIT 1"),
    ],
)
async def test_no_service_touches_another_services_schema(stack: Stack, role: str, foreign: str) -> None:
    conn = await asyncpg.connect(dsn(role))
    try:
        assert await refused(conn, foreign) == "InsufficientPrivilegeError"
    finally:
        await conn.close()


async def test_the_server_wants_passwords_and_the_schemas_belong_to_the_migration_role(stack: Stack) -> None:
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect("postgresql://xj_awards:not-its-password@127.0.0.1:25432/xj")
    admin = await asyncpg.connect(stack.dsn)
    try:
        methods = await admin.fetch("SELECT DISTINCT auth_method FROM pg_hba_file_rules WHERE type = 'host'")
        assert [r["auth_method"] for r in methods] == ["scram-sha-256"]
        owners = await admin.fetch(
            "SELECT nspname, nspowner::regrole::text AS owner FROM pg_namespace "
            "WHERE nspname IN ('registration', 'awards', 'reporting') ORDER BY nspname"
        )
        assert [(r["nspname"], r["owner"]) for r in owners] == [
            ("awards", "xj_migrator"),
            ("registration", "xj_migrator"),
            ("reporting", "xj_migrator"),
        ]
        supers = await admin.fetch("SELECT rolname FROM pg_roles WHERE rolname LIKE 'xj_%' AND rolsuper")
        assert supers == []
    finally:
        await admin.close()


@pytest.mark.parametrize("role", ["xj_registration", "xj_awards", "xj_reporting"])
async def test_a_service_role_reaches_its_own_database_only_and_makes_no_temporary_objects(
    stack: Stack, role: str
) -> None:
    for other in ("postgres", "template1"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied for database"):
            await asyncpg.connect(dsn(role).rsplit("/", 1)[0] + f"/{other}")
    conn = await asyncpg.connect(dsn(role))
    try:
        assert await refused(conn, "CREATE TEMP TABLE shadow (a int)") == "InsufficientPrivilegeError"
    finally:
        await conn.close()


async def test_the_audit_chains_functions_resolve_names_in_their_schema_only(stack: Stack) -> None:
    conn = await asyncpg.connect(dsn("xj_awards"))
    try:
        rows = await conn.fetch(
            "SELECT p.proname, p.proconfig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'awards' AND p.proname LIKE 'audit%' ORDER BY 1"
        )
    finally:
        await conn.close()
    assert [(r["proname"], r["proconfig"]) for r in rows] == [
        (name, ["search_path=awards, pg_catalog"])
        for name in ("audit_chain_genesis", "audit_log_chain", "audit_log_is_append_only", "audit_row_hash")
    ]
