#!/usr/bin/env bash
# test/demo.sh start|stop -- a throwaway PostgreSQL cluster that shows
# pool_observer on the classic incidents (`make demo`, `make demo-stop`).
#
# start: installs dependencies, builds and installs the extension, stops any
# previous demo, then creates a cluster in ./demo/ (data in demo/data, log in
# demo/log, Unix socket in demo/ itself; /tmp/pool_observer-demo-<uid> when
# the postgres user cannot reach the checkout) on port DEMO_PORT (default
# 54329), listening on the Unix socket only.  The system cluster is never
# touched.  max_connections = 20 (17 for roles without SUPERUSER), 1 s
# history buckets.  It then plays the classic incidents, as role app, one
# pool (application_name) each:
#   batch_jobs           5 jobs on a pool of 5 (pgbench -c 5, four queries)
#   static_pool          one connection pinned by a slow endpoint (1 s)
#   leaky_worker         BEGIN; UPDATE ...; then idle in transaction
#   blocked_worker       waits for the leaked row lock
#   nightly_report       a statement cancelled by statement_timeout
#   export_job           a statement the client cancels (SIGINT to psql)
#   connect_per_request  40 requests, a connection each (pgbench -C); then,
#                        with the server full, 10 more, all refused
#   idle_pool            9 idle connections: the server is full for role app
# waits (30 s at most) until pool_observer has seen all of it, lets the
# pools run until DEMO_RUN seconds after they started, then prints, in
# headed sections: what is happening (pools, health, events), why (the
# profile of the saturated pools, the leak's idle-in-transaction share),
# what PostgreSQL itself did (timeouts, cancels, refusals; pool_counters)
# and what to change (advice over the workloads' time, with the reasons).
# It leaves everything running.
#
# stop: ends the background sessions, stops the cluster, removes its files
# (the demo in the checkout and the one in /tmp; only DEMO_DIR when set).
#
# Environment: DEMO_PORT (54329), DEMO_RUN (30 s), DEMO_DIR (override the directory),
# DEMO_LISTEN (listen_addresses, default '' = socket only; e.g. 127.0.0.1),
# DEMO_KEEP=1 (keep the cluster running when start fails, for inspection).

set -euo pipefail
# shellcheck source=test/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DEMO_PORT="${DEMO_PORT:-54329}"
DEMO_RUN="${DEMO_RUN:-30}"
REPO_DEMO="$PO_ROOT/demo"
TMP_DEMO="/tmp/pool_observer-demo-$(id -u)"
MARKER=.pool_observer-demo
BG_NAMES=(batch static leaker blocked cpr holders)

# ---------------------------------------------------------------------------
# stop

# kill_bg DIR NAME: end a background job started by start (pid file
# DIR/NAME.pid); checks that the pid still is our job first.
kill_bg() {
	local pidfile="$1/$2.pid" pid
	[ -f "$pidfile" ] || return 0
	pid="$(cat "$pidfile" 2>/dev/null || true)"
	rm -f "$pidfile"
	case "$pid" in '' | *[!0-9]*) return 0 ;; esac
	if tr "\0" " " 2>/dev/null <"/proc/$pid/cmdline" | grep -q "pool_observer-demo-$2"; then
		po_kill_tree "$pid"
		kill -TERM "$pid" 2>/dev/null || true
	fi
}

# stop_in DIR: stop the demo living in DIR, if there is one.
stop_in() {
	local dir="$1" pid _
	[ -d "$dir" ] && [ -f "$dir/$MARKER" ] || return 1
	po_log "stopping the demo in $dir"
	for name in "${BG_NAMES[@]}"; do
		kill_bg "$dir" "$name"
	done
	if [ -f "$dir/data/postmaster.pid" ]; then
		pid="$(head -n 1 "$dir/data/postmaster.pid")"
		if ! (cd / && po_as_pg_user pg_ctl -D "$dir/data" -m fast -w -t 60 stop); then
			po_warn "pg_ctl stop failed; sending SIGQUIT to postmaster $pid"
			kill -QUIT "$pid" 2>/dev/null || true
			for _ in $(seq 1 20); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.5
			done
		fi
	fi
	rm -rf "${dir:?}/data" "${dir:?}/log"
	rm -f "$dir"/*.pid "$dir"/.s.PGSQL.* "$dir"/*.sql "$dir"/*.up "$dir"/cpr.phase1 "$dir"/cpr.done "$dir/$MARKER"
	rmdir "$dir" 2>/dev/null || true
	return 0
}

do_stop() {
	local found='' dir
	local dirs=("$REPO_DEMO" "$TMP_DEMO")
	# DEMO_DIR set: that demo only
	[ -n "${DEMO_DIR:-}" ] && dirs=("$DEMO_DIR")
	for dir in "${dirs[@]}"; do
		if stop_in "$dir"; then
			found=1
		fi
	done
	if [ -n "$found" ]; then
		po_log "demo stopped"
	else
		po_log "no demo running"
	fi
}

# ---------------------------------------------------------------------------
# start

# Where the demo lives: the checkout, unless the postgres user cannot get
# there or the socket path would be too long for a Unix socket (107 bytes).
choose_dir() {
	local sock_suffix="/.s.PGSQL.$DEMO_PORT"
	if [ -n "${DEMO_DIR:-}" ]; then
		DEMO="$DEMO_DIR"
	elif po_pg_user_can_enter "$PO_ROOT" &&
		[ $((${#REPO_DEMO} + ${#sock_suffix})) -lt 100 ]; then
		DEMO="$REPO_DEMO"
	else
		DEMO="$TMP_DEMO"
		po_log "the checkout is not reachable by $PO_PG_USER (or its path is too long for a socket): using $DEMO"
	fi
	if [ -L "$DEMO" ] || { [ -e "$DEMO" ] && [ -n "$(ls -A "$DEMO" 2>/dev/null)" ] && [ ! -f "$DEMO/$MARKER" ]; }; then
		po_die "$DEMO exists and was not made by demo.sh; remove it or set DEMO_DIR"
	fi
}

# psql on the demo cluster, as the cluster owner (its own queries show up
# as the pool "demo_monitor").
dpsql() {
	PGAPPNAME=demo_monitor po_as_pg_user psql -X -q -v ON_ERROR_STOP=1 -P pager=off \
		-h "$DEMO" -p "$DEMO_PORT" -U "$PO_PG_USER" "$@"
}

# Command prefix that runs a program as the cluster owner, for background
# jobs (po_as_pg_user is a shell function and cannot be exec'ed).
pg_prefix() {
	if po_is_root && [ "$PO_PG_USER" != root ]; then
		PG_PREFIX=(runuser -u "$PO_PG_USER" -- env "PATH=$PATH")
	else
		PG_PREFIX=(env)
	fi
}

# close_fds: close every descriptor above 2 in this (sub)shell.  The server
# and the jobs outlive this script: run as `flock LOCK make demo`, they must
# not inherit the lock's descriptor (nor make's), or the lock stays held
# until the demo is stopped.
close_fds() {
	local fd n
	for fd in /proc/"$BASHPID"/fd/*; do
		n="${fd##*/}"
		case "$n" in 0 | 1 | 2 | 255 | *[!0-9]*) continue ;; esac
		eval "exec $n>&-" 2>/dev/null || true
	done
}

# start_bg NAME CMD...: run CMD in the background in a session of its own,
# tagged "pool_observer-demo-NAME" so that stop can recognise it; output to
# log/NAME.log, pid to NAME.pid.
start_bg() {
	local name="$1"
	shift
	(
		close_fds
		exec setsid bash -c '"$@"; exit $?' "pool_observer-demo-$name" "$@" \
			>"$DEMO/log/$name.log" 2>&1 </dev/null
	) &
	echo "$!" >"$DEMO/$name.pid"
}

failed_start() {
	po_warn "$1"
	if [ -f "$DEMO/log/postgresql.log" ]; then
		echo "---------- server log (tail, without demo_monitor's polling): $DEMO/log/postgresql.log ----------" >&2
		grep -v ' demo_monitor ' "$DEMO/log/postgresql.log" | tail -n 40 >&2
	fi
	for name in "${BG_NAMES[@]}"; do
		if [ -s "$DEMO/log/$name.log" ]; then
			echo "---------- $DEMO/log/$name.log (tail) ----------" >&2
			tail -n 10 "$DEMO/log/$name.log" >&2
		fi
	done
	if [ "${DEMO_KEEP:-}" = 1 ]; then
		po_warn "DEMO_KEEP=1: left running; connect with: psql -h $DEMO -p $DEMO_PORT -U $PO_PG_USER demo; stop with: make demo-stop"
	else
		stop_in "$DEMO" || true
		po_warn "demo stopped (set DEMO_KEEP=1 to keep it running for inspection)"
	fi
	exit 1
}

do_start() {
	local deadline out last_err ready

	do_stop
	bash "$PO_ROOT/test/deps.sh" </dev/null

	po_log "building and installing pool_observer"
	make -C "$PO_ROOT" --no-print-directory -s PG_CONFIG="$PG_CONFIG" </dev/null
	if po_is_root || [ -w "$("$PG_CONFIG" --pkglibdir)" ]; then
		make -C "$PO_ROOT" --no-print-directory -s install PG_CONFIG="$PG_CONFIG" </dev/null >/dev/null
	elif sudo -n true 2>/dev/null; then
		sudo -n make -C "$PO_ROOT" --no-print-directory -s install PG_CONFIG="$PG_CONFIG" </dev/null >/dev/null
	else
		po_die "installing needs root: run 'sudo make install' first, or 'sudo make demo'"
	fi

	choose_dir
	mkdir -p "$DEMO/log"
	chmod 700 "$DEMO"
	touch "$DEMO/$MARKER"
	if po_is_root && [ "$PO_PG_USER" != root ]; then
		chown -R "$PO_PG_USER": "$DEMO"
	fi
	cd "$DEMO"

	po_log "creating a cluster in $DEMO/data (port $DEMO_PORT)"
	po_as_pg_user initdb -D "$DEMO/data" -U "$PO_PG_USER" --auth=trust \
		--encoding=UTF8 --no-locale --no-sync --no-instructions >"$DEMO/log/initdb.log" 2>&1 ||
		{ cat "$DEMO/log/initdb.log" >&2; failed_start "initdb failed"; }
	cat >>"$DEMO/data/postgresql.conf" <<EOF

# ---- pool_observer demo (test/demo.sh) ----
port = $DEMO_PORT
listen_addresses = '${DEMO_LISTEN:-}'
unix_socket_directories = '$DEMO'
unix_socket_permissions = 0700		# trust auth: only the owner (and root)
max_connections = 20			# 17 for roles without SUPERUSER
superuser_reserved_connections = 3
shared_buffers = 32MB
log_line_prefix = '%m [%p] %q%a '
shared_preload_libraries = 'pg_stat_statements,pool_observer'
compute_query_id = on
pool_observer.sample_interval = 200ms
pool_observer.history_interval = 1s	# advice over the demo's few seconds
pool_observer.idle_in_transaction_threshold = 2s
pool_observer.slow_statement_threshold = 2s
pool_observer.lock_wait_threshold = 1s
pool_observer.saturation_threshold = 2s
EOF
	(close_fds && po_as_pg_user pg_ctl -D "$DEMO/data" -l "$DEMO/log/postgresql.log" -w -t 60 start >/dev/null) ||
		failed_start "the demo server did not start"

	po_log "creating database demo, the extensions and pgbench tables"
	po_as_pg_user createdb -h "$DEMO" -p "$DEMO_PORT" -U "$PO_PG_USER" demo ||
		failed_start "createdb failed"
	dpsql -d demo -c "CREATE EXTENSION pool_observer" -c "CREATE EXTENSION pg_stat_statements" ||
		failed_start "CREATE EXTENSION failed"
	po_as_pg_user pgbench -i -s 1 -q -h "$DEMO" -p "$DEMO_PORT" -U "$PO_PG_USER" demo \
		>"$DEMO/log/pgbench-init.log" 2>&1 ||
		{ cat "$DEMO/log/pgbench-init.log" >&2; failed_start "pgbench -i failed"; }

	dpsql -d demo -c "CREATE ROLE app LOGIN" \
		-c "GRANT SELECT, UPDATE ON pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history TO app" ||
		failed_start "creating the role app failed"

	pg_prefix
	local conn=(-h "$DEMO" -p "$DEMO_PORT" -U app)
	local t0=$SECONDS

	# --- the workloads: each one a classic incident, as role app --------
	# 1. batch_jobs: a pool of 5 connections held by 5 jobs, each running
	#    one of four different queries (no single one dominates).
	local f
	for f in branches tellers history accounts; do
		case "$f" in
			accounts) echo "SELECT max(bid) FROM pgbench_branches, pg_sleep(0.4);" ;;
			*) echo "SELECT count(*) FROM pgbench_$f, pg_sleep(0.4);" ;;
		esac >"$DEMO/batch_$f.sql"
	done
	# 2. static_pool: one connection (a StaticPool) and a slow endpoint.
	echo "SELECT count(*) AS slow_endpoint FROM pgbench_branches, pg_sleep(1);" >"$DEMO/slow_endpoint.sql"
	# 4. connect_per_request: a new connection per request.
	echo "SELECT abalance FROM pgbench_accounts WHERE aid = 42;" >"$DEMO/request.sql"
	if po_is_root && [ "$PO_PG_USER" != root ]; then
		chown "$PO_PG_USER": "$DEMO"/*.sql
	fi

	po_log "batch_jobs: 5 jobs on a pool of 5 connections (pgbench -c 5, four queries)"
	start_bg batch "${PG_PREFIX[@]}" PGAPPNAME=batch_jobs \
		pgbench -n -c 5 -j 1 -T 3600 -f "$DEMO/batch_branches.sql" -f "$DEMO/batch_tellers.sql" \
		-f "$DEMO/batch_history.sql" -f "$DEMO/batch_accounts.sql" "${conn[@]}" demo
	po_log "static_pool: one connection, pinned by a slow endpoint (1 s a request)"
	start_bg static "${PG_PREFIX[@]}" PGAPPNAME=static_pool \
		pgbench -n -c 1 -T 3600 -f "$DEMO/slow_endpoint.sql" "${conn[@]}" demo

	# 3. the leak, and a session waiting for its row lock
	po_log "leaky_worker: BEGIN; UPDATE pgbench_branches ...; then idle in transaction"
	local q=$'BEGIN;\nUPDATE pgbench_branches SET bbalance = bbalance WHERE bid = 1;\n'
	start_bg leaker bash -c '{ printf "%s" "$1"; exec sleep 3600; } | "${@:2}"' leak "$q" \
		"${PG_PREFIX[@]}" PGAPPNAME=leaky_worker psql -X "${conn[@]}" demo
	deadline=$((SECONDS + 15))
	until [ "$(dpsql -d demo -At -c "SELECT count(*) FROM pg_stat_activity
			WHERE application_name = 'leaky_worker' AND state = 'idle in transaction'
			  AND backend_xid IS NOT NULL" 2>/dev/null)" = 1 ]; do
		[ "$SECONDS" -lt "$deadline" ] || failed_start "the leaky_worker session did not get idle in transaction"
		sleep 0.2
	done
	po_log "blocked_worker: waits for the leaked row lock"
	start_bg blocked "${PG_PREFIX[@]}" PGAPPNAME=blocked_worker \
		psql -X "${conn[@]}" -c "UPDATE pgbench_branches SET bbalance = bbalance WHERE bid = 1" demo

	# what PostgreSQL itself does: a statement timeout and a client's cancel
	po_log "nightly_report: a statement cancelled by statement_timeout = 500ms"
	"${PG_PREFIX[@]}" PGAPPNAME=nightly_report PGOPTIONS='-c statement_timeout=500ms' \
		psql -X -q "${conn[@]}" -c "SELECT count(*) AS nightly_report FROM pgbench_accounts, pg_sleep(2)" demo \
		>"$DEMO/log/timeout.log" 2>&1 || true
	po_log "export_job: a client cancels its statement (Ctrl-C in psql, after 1 s)"
	"${PG_PREFIX[@]}" PGAPPNAME=export_job timeout -s INT 1 \
		psql -X -q "${conn[@]}" -c "SELECT pg_sleep(30) AS export_all_orders" demo \
		>"$DEMO/log/cancel.log" 2>&1 || true

	# 4. connect_per_request (pgbench -C: a connection per transaction),
	# then, once the server is full (5. below), ten more requests.
	po_log "connect_per_request: 40 requests in 4 s, a new connection each (pgbench -C -R 10)"
	# shellcheck disable=SC2016  # expanded by the inner bash
	start_bg cpr "${PG_PREFIX[@]}" PGAPPNAME=connect_per_request bash -c '
		pgbench -n -C -c 1 -R 10 -t 40 -f "$1/request.sql" "${@:2}" demo
		touch "$1/cpr.phase1"
		for _ in $(seq 1 300); do [ -e "$1/holders.up" ] && break; sleep 0.1; done
		for i in $(seq 1 10); do
			psql -X -q -At "${@:2}" -c "SELECT $i AS request" demo
			sleep 0.1
		done
		touch "$1/cpr.done"' cpr "$DEMO" "${conn[@]}"
	deadline=$((SECONDS + 30))
	until [ -e "$DEMO/cpr.phase1" ]; do
		[ "$SECONDS" -lt "$deadline" ] || failed_start "connect_per_request did not finish its first 40 requests in 30 s"
		sleep 0.2
	done

	# 5. max_connections nearly reached: idle_pool opens 9 connections and
	# keeps them idle.  With the 8 of the pools above that is 17, all that
	# max_connections = 20 leaves to roles without SUPERUSER (3 reserved):
	# every further connection of role app is refused.  The monitor (a
	# superuser) stays off the server until they are all in.
	po_log "idle_pool: opens 9 connections and leaves them idle; the server is then full for role app"
	# shellcheck disable=SC2016  # expanded by the inner bash
	start_bg holders "${PG_PREFIX[@]}" PGAPPNAME=idle_pool bash -c '
		for i in $(seq 1 9); do
			psql -X -q "${@:2}" -c "SELECT 1" -c "\\! touch $1/holder.$i.up; exec sleep 3600" demo >/dev/null &
		done
		wait' holders "$DEMO" "${conn[@]}"
	deadline=$((SECONDS + 30))
	until [ "$(find "$DEMO" -maxdepth 1 -name 'holder.*.up' | wc -l)" = 9 ]; do
		[ "$SECONDS" -lt "$deadline" ] || failed_start "idle_pool did not get its 9 connections in 30 s"
		sleep 0.2
	done
	touch "$DEMO/holders.up"
	deadline=$((SECONDS + 30))
	until [ -e "$DEMO/cpr.done" ]; do
		[ "$SECONDS" -lt "$deadline" ] || failed_start "connect_per_request did not finish its last 10 requests in 30 s"
		sleep 0.2
	done

	po_log "waiting for pool_observer to see it all (30 s at most)"
	deadline=$((SECONDS + 30))
	last_err=
	ready=
	while :; do
		if out="$(dpsql -d demo -At \
			-c "SELECT pool_observer.sample_now()" \
			-c "SELECT (SELECT count(DISTINCT kind) FROM pool_observer.events
			            WHERE kind IN ('idle_in_transaction', 'lock_wait', 'pool_saturated',
			                           'statement_timeout', 'query_cancelled', 'connection_refused')) = 6
			       AND EXISTS (SELECT FROM pool_observer.pools
			                    WHERE application_name = 'leaky_worker' AND idle_in_transaction = 1)
			       AND (SELECT count(*) FROM pool_observer.pools WHERE saturated_since IS NOT NULL) >= 2" 2>&1)"; then
			if [ "$(printf '%s\n' "$out" | tail -n 1)" = t ]; then
				ready=1
				break
			fi
		else
			last_err="$out"
		fi
		[ "$SECONDS" -lt "$deadline" ] || break
		sleep 0.3
	done
	if [ -z "$ready" ]; then
		echo "---------- what pool_observer shows now ----------" >&2
		dpsql -d demo -x -c "SELECT * FROM pool_observer.health" >&2 || true
		dpsql -d demo -c "SELECT application_name, connections, active, idle_in_transaction, waiting, saturated_since
		                    FROM pool_observer.pools ORDER BY 1" >&2 || true
		dpsql -d demo -c "SELECT kind, application_name FROM pool_observer.events ORDER BY id" >&2 || true
		[ -n "$last_err" ] && printf 'last error:\n%s\n' "$last_err" >&2
		failed_start "pool_observer did not see every incident within 30 s"
	fi
	# Let the pools run for 30 s in all, so that the advice's window (the
	# workloads' time) is not dominated by the one-off statements above.
	po_log "letting the pools run until $DEMO_RUN s after the workloads started"
	while [ $((SECONDS - t0)) -lt "$DEMO_RUN" ]; do
		dpsql -d demo -At -c "SELECT pool_observer.sample_now()" >/dev/null 2>&1 || true
		sleep 0.5
	done
	# the advice covers the workloads' time: whole seconds since they started
	local window=$((SECONDS - t0))

	section() { printf '\n==================== %s ====================\n' "$1"; }

	section "1. What is happening: pool_observer.pools"
	dpsql -d demo -c "SELECT application_name, connections AS conns, active, idle, idle_in_transaction AS idle_in_xact,
	                         waiting, round(utilization::numeric, 2) AS utilization,
	                         date_trunc('second', now() - saturated_since) AS saturated_for
	                    FROM pool_observer.pools
	                   WHERE usename = 'app'
	                   ORDER BY application_name"
	section "1. What is happening: pool_observer.health"
	dpsql -d demo -x -c "SELECT status, connections, max_connections, round(utilization::numeric, 2) AS utilization,
	                            saturated_pools, idle_in_transaction_sessions, lock_waits, reasons
	                       FROM pool_observer.health"
	section "1. What is happening: pool_observer.events"
	dpsql -d demo -c "SELECT kind, application_name, pid,
	                         date_trunc('second', coalesce(ended_at, now()) - detected_at) AS duration,
	                         left(query, 50) AS query, blocked_by
	                    FROM pool_observer.events
	                   WHERE kind IN ('idle_in_transaction', 'lock_wait', 'slow_statement', 'pool_saturated')
	                   ORDER BY id"

	section "2. Why: what holds each saturated pool (pool_observer.profile)"
	dpsql -d demo -c "SELECT p.application_name, f.state, f.wait_event_type, f.wait_event,
	                         round(f.share::numeric, 2) AS share,
	                         round(f.busy_seconds::numeric, 1) AS busy_s,
	                         left(f.query, 60) AS query
	                    FROM pool_observer.pools p
	                    JOIN LATERAL (SELECT * FROM pool_observer.profile f
	                                   WHERE NOT f.other AND f.overflow = p.overflow
	                                     AND f.datname IS NOT DISTINCT FROM p.datname
	                                     AND f.usename IS NOT DISTINCT FROM p.usename
	                                     AND f.application_name IS NOT DISTINCT FROM p.application_name
	                                     AND f.client_addr IS NOT DISTINCT FROM p.client_addr
	                                   ORDER BY f.busy_seconds DESC LIMIT 1) f ON true
	                   WHERE p.saturated_since IS NOT NULL
	                     AND p.usename = 'app'
	                   ORDER BY p.application_name"
	section "2. Why: the leak's busy time (pool_observer.profile)"
	dpsql -d demo -c "SELECT application_name,
	                         round(coalesce(sum(share) FILTER (WHERE state = 'idle in transaction'), 0)::numeric, 2)
	                           AS idle_in_transaction_share,
	                         round(sum(busy_seconds)::numeric, 1) AS busy_s,
	                         left(max(query) FILTER (WHERE state = 'idle in transaction'), 60) AS left_idle_after
	                    FROM pool_observer.profile
	                   WHERE application_name = 'leaky_worker'
	                   GROUP BY application_name"

	section "3. What PostgreSQL itself did: timeouts, cancels, refusals (pool_observer.events)"
	dpsql -d demo -c "SELECT kind, application_name, left(query, 55) AS query, detail
	                    FROM pool_observer.events
	                   WHERE kind IN ('statement_timeout', 'lock_timeout', 'query_cancelled',
	                                  'idle_in_transaction_timeout', 'idle_session_timeout',
	                                  'transaction_timeout', 'session_terminated',
	                                  'connection_refused', 'authentication_failed')
	                   ORDER BY id"
	section "3. What PostgreSQL itself did: pool_observer.pool_counters"
	dpsql -d demo -c "SELECT application_name, new_connections AS new_conns, refused_connections AS refused,
	                         statement_timeouts, queries_cancelled
	                    FROM pool_observer.pool_counters
	                   WHERE usename = 'app'
	                   ORDER BY application_name"

	section "4. What to change: pool_observer.advice('$window s')"
	dpsql -d demo -c "SELECT coalesce(application_name, '(server)') AS pool, verdict,
	                         recommended_size AS recommended, connections_max AS conns_max,
	                         round(busy_avg::numeric, 1) AS busy_avg, busy_p95, busy_max,
	                         round(saturated_share::numeric, 2) AS saturated,
	                         round(idle_in_transaction_share::numeric, 2) AS idle_in_xact,
	                         left(top_query, 40) AS top_query
	                    FROM pool_observer.advice('$window s')
	                   WHERE usename = 'app' OR (datname IS NULL AND NOT overflow)
	                   ORDER BY datname IS NULL, application_name"
	section "4. What to change: the reasons"
	dpsql -d demo -At -F ': ' -c "SELECT coalesce(application_name, '(server)') || ' (' || verdict || ')',
	                         r
	                    FROM pool_observer.advice('$window s'), unnest(reasons) r
	                   WHERE usename = 'app' OR (datname IS NULL AND NOT overflow)
	                   ORDER BY datname IS NULL, application_name" |
		sed 's/^/  /'

	cat <<EOF

(Shown: the pools of role app, the workloads; the demo's own psql sessions,
pool demo_monitor as a superuser, are left out.  Workloads ran $((SECONDS - t0)) s.)

The demo is running: data in $DEMO/data, server log in $DEMO/log/postgresql.log.
batch_jobs, static_pool, leaky_worker, blocked_worker and idle_pool keep
going until the demo is stopped; the server stays full for role app.

Connect:  psql -h $DEMO -p $DEMO_PORT -U $PO_PG_USER demo
          then e.g.  SELECT * FROM pool_observer.advice('5 min');
                     SELECT * FROM pool_observer.profile ORDER BY busy_seconds DESC;
                     SELECT * FROM pool_observer.terminate_idle_in_transaction('2 s');
Stop:     make demo-stop
EOF
}


case "${1:-}" in
	start) do_start ;;
	stop) do_stop ;;
	*)
		echo "usage: $0 start|stop" >&2
		exit 2
		;;
esac
