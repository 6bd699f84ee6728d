#!/usr/bin/env bash
# PostgreSQL's first start in docker compose (/docker-entrypoint-initdb.d): the migration
# role that owns the schemas and one login role per service (shared/process/db.py says what each
# may do). Passwords come from the environment (.env), never from this file.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v migrator="$POSTGRES_MIGRATOR_PASSWORD" -v registration="$POSTGRES_REGISTRATION_PASSWORD" \
  -v awards="$POSTGRES_AWARDS_PASSWORD" -v reporting="$POSTGRES_REPORTING_PASSWORD" \
  -v replicator="$POSTGRES_REPLICATOR_PASSWORD" <<'SQL'
CREATE ROLE xj_migrator LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'migrator';
CREATE ROLE xj_registration LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'registration';
CREATE ROLE xj_awards LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'awards';
CREATE ROLE xj_reporting LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'reporting';
-- Streaming to the standby and base backups, nothing else.
CREATE ROLE xj_replicator LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'replicator';
-- From the next start every commit waits for the standby (docker-compose.yml: postgres-standby).
ALTER SYSTEM SET synchronous_standby_names = 'standby';
SELECT format('GRANT CONNECT, CREATE ON DATABASE %I TO xj_migrator', current_database()) \gexec
-- The service roles reach their own database only, and make no temporary objects.
SELECT format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', current_database()) \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO xj_registration, xj_awards, xj_reporting', current_database()) \gexec
REVOKE CONNECT, TEMPORARY ON DATABASE postgres FROM PUBLIC;
REVOKE CONNECT, TEMPORARY ON DATABASE template1 FROM PUBLIC;
-- Extensions are a superuser's to install: awards' owed-payout search uses trigrams.
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
SQL
# Replication from the other server's fixed address only (docker-compose.yml's network);
# the standby's clone carries this file, so after a failover the old primary is admitted.
for address in "$PG_PRIMARY_ADDRESS" "$PG_STANDBY_ADDRESS"; do
  echo "host replication xj_replicator $address/32 scram-sha-256" >> "$PGDATA/pg_hba.conf"
done
