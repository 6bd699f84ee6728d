-- A batch's row holds thousands of messages: its payloads went out of line uncompressed
-- (compressing JSON with pglz cost more CPU than it saved), and its topics, keys and
-- headers arrays, past the TOAST threshold too, were compressed with pglz inside the
-- consumer's transaction. lz4 compresses all four several times faster than pglz, and a
-- batch's payloads a third as large in the WAL (docs/performance.md). New rows only: a
-- row is gone within a second. Needs a server built with lz4 (Debian's and the official
-- image are).
ALTER TABLE outbox
    ALTER COLUMN topics SET COMPRESSION lz4,
    ALTER COLUMN keys SET COMPRESSION lz4,
    ALTER COLUMN headers SET COMPRESSION lz4,
    ALTER COLUMN payloads SET STORAGE EXTENDED,
    ALTER COLUMN payloads SET COMPRESSION lz4;
