#!/usr/bin/env bash
# test/demo.sh start|stop -- a throwaway PostgreSQL cluster that shows
# pool_observer catching a leaked connection (`make demo`, `make demo-stop`).
#
# start: installs dependencies, builds and installs the extension, stops any
# previous demo, then creates a cluster in ./demo/ (data in demo/data, log in
# demo/log, Unix socket in demo/ itself; /tmp/pool_observer-demo-<uid> when
# the postgres user cannot reach the checkout) on port DEMO_PORT (default
# 54329), listening on the Unix socket only.  The system cluster is never
# touched.  It then runs:
#   - pgbench -N for ~15 s                        (application demo_app)
#   - a session that updates a row and stays idle in transaction forever
#                                                  (leaky_worker)
#   - a session blocked on that row lock           (blocked_worker)
# waits (30 s at most) until pool_observer reports the leak, prints the
# pools, sessions, health and events views and leaves everything running.
#
# stop: ends the background sessions, stops the cluster, removes its files
# (the demo in the checkout and the one in /tmp; only DEMO_DIR when set).
#
# Environment: DEMO_PORT (54329), DEMO_DIR (override the directory),
# DEMO_LISTEN (listen_addresses, default '' = socket only; e.g. 127.0.0.1),
# DEMO_KEEP=1 (keep the cluster running when start fails, for inspection).

set -euo pipefail
# shellcheck source=test/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DEMO_PORT="${DEMO_PORT:-54329}"
REPO_DEMO="$PO_ROOT/demo"
TMP_DEMO="/tmp/pool_observer-demo-$(id -u)"
MARKER=.pool_observer-demo
BG_NAMES=(pgbench leaker blocked)

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
	rm -f "$dir"/*.pid "$dir"/.s.PGSQL.* "$dir/$MARKER"
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

# start_bg NAME CMD...: run CMD in the background in a session of its own,
# tagged "pool_observer-demo-NAME" so that stop can recognise it; output to
# log/NAME.log, pid to NAME.pid.
start_bg() {
	local name="$1"
	shift
	setsid bash -c '"$@"; exit $?' "pool_observer-demo-$name" "$@" \
		>"$DEMO/log/$name.log" 2>&1 </dev/null &
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
max_connections = 50
shared_buffers = 32MB
log_line_prefix = '%m [%p] %q%a '
shared_preload_libraries = 'pg_stat_statements,pool_observer'
compute_query_id = on
pool_observer.sample_interval = 200ms
pool_observer.idle_in_transaction_threshold = 2s
pool_observer.slow_statement_threshold = 2s
pool_observer.lock_wait_threshold = 1s
pool_observer.saturation_threshold = 2s
EOF
	po_as_pg_user pg_ctl -D "$DEMO/data" -l "$DEMO/log/postgresql.log" -w -t 60 start >/dev/null ||
		failed_start "the demo server did not start"

	po_log "creating database demo, the extensions and pgbench tables"
	po_as_pg_user createdb -h "$DEMO" -p "$DEMO_PORT" -U "$PO_PG_USER" demo ||
		failed_start "createdb failed"
	dpsql -d demo -c "CREATE EXTENSION pool_observer" -c "CREATE EXTENSION pg_stat_statements" ||
		failed_start "CREATE EXTENSION failed"
	po_as_pg_user pgbench -i -s 1 -q -h "$DEMO" -p "$DEMO_PORT" -U "$PO_PG_USER" demo \
		>"$DEMO/log/pgbench-init.log" 2>&1 ||
		{ cat "$DEMO/log/pgbench-init.log" >&2; failed_start "pgbench -i failed"; }

	pg_prefix
	local conn=(-h "$DEMO" -p "$DEMO_PORT" -U "$PO_PG_USER")
	# -N (no updates of pgbench_branches/tellers): the workload runs its
	# 15 s instead of queueing behind the leaked row lock below.
	po_log "starting the workload: pgbench -N -c 4 -j 2 -T 15 (application_name demo_app)"
	start_bg pgbench "${PG_PREFIX[@]}" PGAPPNAME=demo_app \
		pgbench -N -c 4 -j 2 -T 15 -P 5 "${conn[@]}" demo

	po_log "leaking a connection: BEGIN; UPDATE pgbench_branches ...; then idle (leaky_worker)"
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

	po_log "starting a session that waits for the leaked row lock (blocked_worker)"
	start_bg blocked "${PG_PREFIX[@]}" PGAPPNAME=blocked_worker \
		psql -X "${conn[@]}" -c "UPDATE pgbench_branches SET bbalance = bbalance WHERE bid = 1" demo

	po_log "waiting for pool_observer to report the leak (30 s at most)"
	deadline=$((SECONDS + 30))
	last_err=
	ready=
	while :; do
		if out="$(dpsql -d demo -At \
			-c "SELECT pool_observer.sample_now()" \
			-c "SELECT (SELECT status FROM pool_observer.health) <> 'ok'
			       AND EXISTS (SELECT FROM pool_observer.pools
			                    WHERE application_name = 'leaky_worker'
			                      AND idle_in_transaction = 1)" 2>&1)"; then
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
		dpsql -d demo -c "SELECT application_name, connections, active, idle_in_transaction, waiting
		                    FROM pool_observer.pools ORDER BY 1" >&2 || true
		[ -n "$last_err" ] && printf 'last error:\n%s\n' "$last_err" >&2
		failed_start "pool_observer did not report the leaked session within 30 s (health.status <> 'ok' and pools.idle_in_transaction = 1 for leaky_worker)"
	fi

	# The idle-in-transaction and lock-wait events open once their
	# thresholds pass; give them a few seconds to appear.
	deadline=$((SECONDS + 10))
	until [ "$(dpsql -d demo -At -c "SELECT pool_observer.sample_now()" \
		-c "SELECT count(DISTINCT kind) FROM pool_observer.events
		     WHERE kind IN ('idle_in_transaction', 'lock_wait')" 2>/dev/null | tail -n 1)" = 2 ]; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			po_warn "no idle_in_transaction and lock_wait events yet"
			break
		fi
		sleep 0.3
	done

	echo
	echo "==================== pool_observer.pools ===================="
	dpsql -d demo -x -c "SELECT * FROM pool_observer.pools ORDER BY application_name"
	echo
	echo "==================== pool_observer.sessions ===================="
	dpsql -d demo -c "SELECT pid, application_name, state, wait_event_type,
	                         date_trunc('second', xact_age) AS xact_age, blocked_by,
	                         left(query, 60) AS query
	                    FROM pool_observer.sessions
	                   WHERE pid <> pg_backend_pid()
	                   ORDER BY application_name, pid"
	echo "==================== pool_observer.health ===================="
	dpsql -d demo -x -c "SELECT * FROM pool_observer.health"
	echo
	echo "==================== pool_observer.events ===================="
	dpsql -d demo -c "SELECT kind, pid, application_name, action,
	                         date_trunc('second', duration) AS duration,
	                         left(query, 60) AS query, blocked_pids, blocked_by
	                    FROM pool_observer.events ORDER BY id"

	echo
	echo "==================== pool_observer.profile: what holds each saturated pool ===================="
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
	                   ORDER BY p.application_name"
	echo "==================== pool_observer.profile: the leak's busy time ===================="
	dpsql -d demo -c "SELECT application_name,
	                         round(coalesce(sum(share) FILTER (WHERE state = 'idle in transaction'), 0)::numeric, 2)
	                           AS idle_in_transaction_share,
	                         round(sum(busy_seconds)::numeric, 1) AS busy_s
	                    FROM pool_observer.profile
	                   WHERE application_name = 'leaky_worker'
	                   GROUP BY application_name"

	cat <<EOF
The demo is running: data in $DEMO/data, server log in $DEMO/log/postgresql.log.
pgbench (demo_app) runs for 15 s; leaky_worker holds its transaction open and
blocked_worker waits on it until the demo is stopped.

Connect:  psql -h $DEMO -p $DEMO_PORT -U $PO_PG_USER demo
          then e.g.  SELECT * FROM pool_observer.events;
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
