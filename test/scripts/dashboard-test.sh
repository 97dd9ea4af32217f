#!/usr/bin/env bash
# dashboard-test.sh: every query of dashboards/pool_observer.json runs, as
# Grafana's PostgreSQL data source would run it, against a live server.
#
# No Grafana here, so test/dashboard_queries.py expands the dashboard's
# queries the way Grafana does (template variables in the browser, then the
# backend's $__interval and macros: $__timeFilter, $__timeGroupAlias, ...)
# for the last 15 minutes and $__interval 1s, 5s and 1m, with $pool set to
# All and to one pool.  The variable query runs first and feeds $pool.
#
#   1. throwaway cluster, pool_observer preloaded, sampling every 100 ms into
#      1 s history buckets, low thresholds;
#   2. real sessions: two left idle in transaction ("dash_leaky"), one
#      holding a lock and one waiting on it, one busy, one idle over TCP;
#      a statement timeout (in "dash_leaky") and a connection refused by a
#      CONNECTION LIMIT 0 role ("dash_refused");
#   3. poll with sample_now() until pool_history and profile_history have 3
#      buckets for the leaky pool, events an idle_in_transaction episode,
#      profile the busy session's PgSleep, and the outcomes are counted;
#   4. dashboard_queries.py as a pg_monitor-only role (what the README asks
#      of the Grafana data source): PASS/FAIL per panel query.
#
# Exit 0 pass, 77 skip ("SKIP: reason"), anything else fail.

set -uo pipefail
# shellcheck source=test/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../common.sh" || { echo "FAIL: cannot read test/common.sh"; exit 1; }
# shellcheck source=test/scripts/lib/cluster.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/cluster.sh" || po_die "cannot read test/scripts/lib/cluster.sh"
cd "$PO_ROOT" || exit 1

dashboard="$PO_ROOT/dashboards/pool_observer.json"
[ -f "$dashboard" ] || po_die "no $dashboard"
tc_requirements

trap 'tc_cleanup' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

tc_start pool_observer-dashboard \
	"pool_observer.sample_interval = 100ms" \
	"pool_observer.history_interval = 1s" \
	"pool_observer.idle_in_transaction_threshold = 1s" \
	"pool_observer.slow_statement_threshold = 1s" \
	"pool_observer.lock_wait_threshold = 1s" \
	"pool_observer.saturation_threshold = 1s" \
	"pool_observer.log_events = off"

tc_psql <<'SQL' || { TC_FAILED=1; po_die "setup failed"; }
CREATE ROLE dash_app LOGIN;
CREATE ROLE dash_refused LOGIN CONNECTION LIMIT 0;
CREATE ROLE grafana_reader LOGIN IN ROLE pg_monitor;
CREATE TABLE dash_locked (id int);
GRANT ALL ON dash_locked TO dash_app;
SQL

sock="$TC_DIR"
# the first leaky session has a statement timeout first, so that the pool
# shown in single-pool mode has something in the outcome panels too
tc_session dash_leaky "$sock" dash_app "SET statement_timeout = '100ms'; SELECT pg_sleep(5); BEGIN; SELECT 1;"
tc_session dash_leaky "$sock" dash_app "BEGIN; SELECT 2;"
tc_session dash_locker "$sock" dash_app "BEGIN; LOCK TABLE dash_locked;"
tc_session dash_busy 127.0.0.1 dash_app "SELECT pg_sleep(600);"
tc_session dash_idle 127.0.0.1 dash_app "SELECT 1;"
# the waiter starts once the lock is held, so that it really waits
tc_poll 30 "the lock holder" "SELECT count(*) = 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid)
	WHERE a.application_name = 'dash_locker' AND l.relation = 'dash_locked'::regclass AND l.granted" ||
	{ TC_FAILED=1; exit 1; }
tc_session dash_waiter "$sock" dash_app "SELECT count(*) FROM dash_locked;"
# what PostgreSQL itself did: a refused connection
PGAPPNAME=dash_refused po_as_pg_user psql -X -q -h "$sock" -p "$TC_PORT" \
	-U dash_refused -d postgres -c 'SELECT 1' >/dev/null 2>&1 &&
	{ TC_FAILED=1; po_die "dash_refused connected despite CONNECTION LIMIT 0"; }

po_log "waiting for history buckets and events"
tc_poll 60 "3 history and profile buckets and an idle_in_transaction episode" "
SELECT (SELECT count(DISTINCT bucket_start) FROM pool_observer.pool_history
         WHERE application_name = 'dash_leaky') >= 3
   AND (SELECT count(DISTINCT bucket_start) FROM pool_observer.server_history) >= 3
   AND (SELECT count(*) FROM pool_observer.pool_history
         WHERE application_name = 'dash_waiter' AND waiting_max > 0) > 0
   AND (SELECT count(*) FROM pool_observer.events
         WHERE kind = 'idle_in_transaction' AND application_name = 'dash_leaky') > 0
   AND (SELECT count(*) FROM pool_observer.events
         WHERE kind = 'statement_timeout' AND application_name = 'dash_leaky') > 0
   AND (SELECT sum(refused_connections) FROM pool_observer.pool_counters
         WHERE application_name = 'dash_refused') > 0
   AND (SELECT count(DISTINCT bucket_start) FROM pool_observer.profile_history
         WHERE application_name = 'dash_leaky' AND state = 'idle in transaction') >= 3
   AND (SELECT count(*) FROM pool_observer.profile
         WHERE application_name = 'dash_busy' AND wait_event = 'PgSleep') > 0" ||
	{ TC_FAILED=1; exit 1; }

mapfile -t psql_argv < <(TC_PSQL_USER=grafana_reader tc_psql_argv)
python3 "$PO_ROOT/test/dashboard_queries.py" "$dashboard" \
	--range-minutes 15 --interval 1s --interval 5s --interval 1m \
	--single-pool '^dash_leaky ' --require-rows -- "${psql_argv[@]}"
rc=$?
if [ "$rc" -ne 0 ]; then
	TC_FAILED=1
	echo "FAIL: dashboard queries (see FAIL lines above)"
	exit 1
fi
echo "PASS: every dashboard query runs as Grafana would run it"
exit 0
