"""Awards' PostgreSQL for the policy's versions: drafts, adoptions, and the enterprises an
adoption still has to re-decide. Every function runs in the caller's transaction."""

import logging
from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson

from services.awards.policy.domain.adoptions import AdoptionKey, LoggedAdoption, adoption_key_of
from services.awards.policy.domain.policy import PolicyDocument, PolicyVersion, Versions
from shared.contract.enums import RecipientRole, Rule
from shared.messaging.consumer import NotYet
from shared.process import locks

log = logging.getLogger(__name__)

COLUMNS = (
    "version_id, jurisdiction, effective_from, amounts, window_years, allows_recovery, doc_issuer, doc_title, "
    "doc_issued_on, doc_number, doc_link, drafted_by, drafted_at, adopted_by, adopted_at"
)


def version_of(r: asyncpg.Record) -> PolicyVersion:
    amounts = orjson.loads(r["amounts"])
    windows = orjson.loads(r["window_years"])
    return PolicyVersion(
        version_id=r["version_id"],
        jurisdiction=r["jurisdiction"],
        effective_from=r["effective_from"],
        amounts={
            (Rule(rule), RecipientRole(role)): cny for rule, by_role in amounts.items() for role, cny in by_role.items()
        },
        window_years={Rule(rule): years for rule, years in windows.items()},
        document=PolicyDocument(r["doc_issuer"], r["doc_title"], r["doc_issued_on"], r["doc_number"], r["doc_link"]),
        allows_recovery=r["allows_recovery"],
    )


def amounts_json(v: PolicyVersion) -> str:
    out: dict[str, dict[str, int]] = {}
    for (rule, role), cny in sorted(v.amounts.items()):
        out.setdefault(rule.value, {})[role.value] = cny
    return orjson.dumps(out).decode()


class AdoptedCache:
    """The adopted versions, read again only when their number changed: adoption only ever
    adds one, and an adopted version never changes."""

    def __init__(self) -> None:
        self._count = -1
        self._versions = Versions.of([])
        self._said = ""

    async def current(self, conn: asyncpg.Connection) -> Versions:
        """The versions every decision in this transaction uses. Holds the policy lock shared,
        so an adoption waits for this transaction and this one for an adoption. Raises
        NotYet while the award log records an adoption these books lack (after a restore)."""
        await locks.hold_shared(conn, locks.AWARDS_POLICY)
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM policy_versions WHERE adopted_at IS NOT NULL) AS adopted, "
            f"(SELECT array_agg(l.jurisdiction || ' from ' || l.effective_from ORDER BY 1) {_MISSING}) AS missing"
        )
        if row["missing"]:
            why = (
                f"the award log records adopted policy versions these books lack ({', '.join(row['missing'])}): "
                "decisions wait until they are adopted again (python -m services.awards redo lists them)"
            )
            if why != self._said:  # once per state, not once per redelivered batch
                log.warning(why)
                self._said = why
            raise NotYet(why)
        if row["adopted"] != self._count:
            self._versions, self._count = await adopted(conn), row["adopted"]
        return self._versions


# Versions the award log records as adopted that the books do not hold adopted, as they were.
_MISSING = (
    "FROM policy_versions_in_log l WHERE NOT EXISTS (SELECT 1 FROM policy_versions v WHERE v.adopted_at IS NOT NULL "
    "AND v.jurisdiction = l.jurisdiction AND v.effective_from = l.effective_from AND v.amounts = l.amounts "
    "AND v.window_years = l.window_years)"
)


async def record_logged(conn: asyncpg.Connection, logged: Sequence[LoggedAdoption]) -> int:
    """Remember what the award log says was adopted; how many of them the books lack."""
    await conn.executemany(
        "INSERT INTO policy_versions_in_log (jurisdiction, effective_from, amounts, window_years, logged_version_id) "
        "VALUES ($1, $2, $3::jsonb, $4::jsonb, $5) ON CONFLICT (jurisdiction, effective_from) DO UPDATE SET "
        "amounts = excluded.amounts, window_years = excluded.window_years, "
        "logged_version_id = excluded.logged_version_id",
        [
            (a.jurisdiction, a.effective_from, orjson.dumps(a.amounts).decode(), orjson.dumps(a.window_years).decode(),
             a.version_id)
            for a in logged
        ],
    )  # fmt: skip
    missing: int = await conn.fetchval(f"SELECT count(*) {_MISSING}")
    return missing


async def adoption_keys(conn: asyncpg.Connection) -> frozenset[AdoptionKey]:
    """What identifies each adopted version beyond its number (restored books may number a
    re-adoption differently): jurisdiction, start, amounts and windows."""
    rows = await conn.fetch(f"SELECT {COLUMNS} FROM policy_versions WHERE adopted_at IS NOT NULL")
    return frozenset(adoption_key_of(version_of(r)) for r in rows)


async def adopted(conn: asyncpg.Connection) -> Versions:
    rows = await conn.fetch(f"SELECT {COLUMNS} FROM policy_versions WHERE adopted_at IS NOT NULL")
    return Versions.of(version_of(r) for r in rows)


async def insert_draft(conn: asyncpg.Connection, v: PolicyVersion, drafted_by: str) -> asyncpg.Record:
    """The draft under the next version number."""
    row: asyncpg.Record = await conn.fetchrow(
        "INSERT INTO policy_versions (version_id, jurisdiction, effective_from, amounts, window_years, "
        "allows_recovery, doc_issuer, doc_title, doc_issued_on, doc_number, doc_link, drafted_by) "
        "VALUES ((SELECT coalesce(max(version_id), 0) + 1 FROM policy_versions), $1, $2, $3::jsonb, $4::jsonb, $5, "
        f"$6, $7, $8, $9, $10, $11) RETURNING {COLUMNS}",
        v.jurisdiction,
        v.effective_from,
        amounts_json(v),
        orjson.dumps({r.value: y for r, y in sorted(v.window_years.items())}).decode(),
        v.allows_recovery,
        v.document.issuer,
        v.document.title,
        v.document.issued_on,
        v.document.number,
        v.document.link,
        drafted_by,
    )
    return row


async def version_row(conn: asyncpg.Connection, version_id: int, *, lock: bool = False) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {COLUMNS} FROM policy_versions WHERE version_id = $1{' FOR UPDATE' if lock else ''}", version_id
    )


async def all_rows(conn: asyncpg.Connection, *, lock: bool = False) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        f"SELECT {COLUMNS} FROM policy_versions ORDER BY version_id{' FOR UPDATE' if lock else ''}"
    )
    return rows


async def mark_adopted(conn: asyncpg.Connection, version_id: int, adopted_by: str) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        "UPDATE policy_versions SET adopted_by = $2, adopted_at = clock_timestamp() WHERE version_id = $1 "
        f"RETURNING {COLUMNS}",
        version_id,
        adopted_by,
    )
    return row


def document_dict(r: asyncpg.Record) -> dict[str, Any]:
    return {
        "issuer": r["doc_issuer"],
        "title": r["doc_title"],
        "issued_on": r["doc_issued_on"].isoformat(),
        "number": r["doc_number"],
        "link": r["doc_link"],
    }


def version_document(r: asyncpg.Record) -> dict[str, Any]:
    """A version as the API shows it."""
    v = version_of(r)
    return {
        "version_id": v.version_id,
        "jurisdiction": v.jurisdiction,
        "funding": v.funding,
        "effective_from": v.effective_from.isoformat(),
        "amounts_cny": orjson.loads(amounts_json(v)),
        "window_years": {rule.value: y for rule, y in sorted(v.window_years.items())},
        "allows_recovery": v.allows_recovery,
        "document": document_dict(r),
        "drafted_by": r["drafted_by"],
        "drafted_at": r["drafted_at"].isoformat(),
        "adopted_by": r["adopted_by"],
        "adopted_at": r["adopted_at"].isoformat() if r["adopted_at"] else None,
        "status": "adopted" if r["adopted_at"] else "draft",
    }


async def rewrite_version_1(conn: asyncpg.Connection, v: PolicyVersion, drafted_by: str, adopted_by: str) -> None:
    """The upgrade's one rewrite of an adopted version (legacy_policy.py): only the table's
    owner, the migration role, can lift the immutability trigger, inside its transaction."""
    await conn.execute("ALTER TABLE policy_versions DISABLE TRIGGER policy_versions_immutable")
    await conn.execute(
        "UPDATE policy_versions SET effective_from = $1, amounts = $2::jsonb, window_years = $3::jsonb, "
        "doc_issuer = $4, doc_title = $5, doc_issued_on = $6, drafted_by = $7, adopted_by = $8 WHERE version_id = 1",
        v.effective_from,
        amounts_json(v),
        orjson.dumps({r.value: y for r, y in sorted(v.window_years.items())}).decode(),
        v.document.issuer,
        v.document.title,
        v.document.issued_on,
        drafted_by,
        adopted_by,
    )
    await conn.execute("ALTER TABLE policy_versions ENABLE TRIGGER policy_versions_immutable")
