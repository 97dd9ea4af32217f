#!/bin/bash
# bench/reads-default.sh -- read times of pool_history, profile_history and
# advice at the default sizes with a full history: 64 pools (64 connections
# in pg_sleep, each its own application_name), history_size 360 filled with
# history_interval = 1 s for 370 s.  Root, Debian 12, PostgreSQL 15; holds
# /tmp/pool_observer-install.lock while it runs (about 7 minutes).
set -u
exec 9>/tmp/pool_observer-install.lock; flock 9
cd "$(dirname "$0")/.." && make -s install >/dev/null
D=$(mktemp -d /tmp/advb.XXXXXX); chown postgres: $D
P=/usr/lib/postgresql/15/bin
runuser -u postgres -- $P/initdb -D $D/data >/dev/null
cat >> $D/data/postgresql.conf <<EOC
shared_preload_libraries = 'pool_observer'
compute_query_id = on
port = 59123
unix_socket_directories = '$D'
listen_addresses = ''
max_connections = 200
pool_observer.history_interval = 1
pool_observer.sample_interval = 100
EOC
runuser -u postgres -- $P/pg_ctl -D $D/data -l $D/log -w start >/dev/null
PSQL="runuser -u postgres -- $P/psql -X -q -h $D -p 59123 -d postgres"
$PSQL -c 'CREATE EXTENSION pool_observer'
for i in $(seq 1 64); do
  (PGAPPNAME=app$i runuser -u postgres -- env PGAPPNAME=app$i $P/psql -X -q -h $D -p 59123 -d postgres -c "SELECT pg_sleep(400)" >/dev/null 2>&1 &)
done
sleep 370
for q in "SELECT count(*) FROM pool_observer.pool_history" "SELECT count(*) FROM pool_observer.profile_history" "SELECT count(*) FROM pool_observer.advice" "SELECT count(*) FROM pool_observer.advice('1 hour')"; do
  for r in 1 2 3; do $PSQL -c "EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) $q" | grep "Execution Time" | sed "s|^|$q: |"; done
done
$PSQL -c "SELECT count(*) AS buckets FROM pool_observer.server_history"
runuser -u postgres -- $P/pg_ctl -D $D/data -m immediate stop >/dev/null
rm -rf $D
