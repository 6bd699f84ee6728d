#!/usr/bin/env bash
# The synchronous standby's start in docker compose: on the first start its data is cloned
# from the primary (pg_basebackup -R writes standby.signal and primary_conninfo), then it
# streams. cluster_name is the name the primary's synchronous_standby_names waits for.
set -euo pipefail
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -h postgres -p 5432 -q; do sleep 1; done
  pg_basebackup -h postgres -p 5432 -U xj_replicator -D "$PGDATA" -R -X stream -c fast
  chmod 700 "$PGDATA"
fi
# The same keepalives as the primary: it takes over its clients after a promotion.
exec postgres -c cluster_name=standby -c hot_standby=on \
  -c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3 \
  -c tcp_user_timeout=10000
