# shellcheck shell=bash
# test/scripts/lib/cluster.sh -- a throwaway cluster with pool_observer
# preloaded and real client sessions, for the scripts in test/scripts/
# (sourced after test/common.sh, not run; not executable on purpose).
#
#   tc_requirements          exit 77 (with a SKIP line) when the cluster
#                            cannot run here: no initdb, no python3, the
#                            extension not installed, no cluster user
#   tc_start NAME [CONF...]  initdb + start on a free loopback port with its
#                            Unix socket in the temp dir; CONF lines go to
#                            postgresql.conf; CREATE EXTENSION pool_observer
#   tc_psql [ARGS...]        psql as the superuser (-X, ON_ERROR_STOP)
#   tc_psql_argv             print the argv of that psql, for other programs
#                            (one word a line); TC_PSQL_USER overrides -U
#   tc_session APP HOST USER SQL
#                            a background psql (application_name APP, -h
#                            HOST: "$TC_DIR" for the socket or 127.0.0.1)
#                            that runs SQL and then stays connected, idle,
#                            until cleanup
#   tc_poll SECONDS WHAT SQL sample_now() then SQL, until SQL returns t or
#                            the deadline passes (then 1)
#   tc_free_port             print a free TCP port on 127.0.0.1
#   tc_cleanup               stop the cluster and every session, remove the
#                            temp dir (kept with PO_KEEP_TMP=1); print the
#                            server log tail when TC_FAILED is set
#
# Sets TC_DIR (temp dir, also the socket dir), TC_PORT, TC_DATA, TC_LOG.

TC_DIR=
TC_PORT=
TC_DATA=
TC_LOG=
TC_FAILED=
TC_FDS=()
TC_PIDS=()

tc_skip() {
	echo "SKIP: $*"
	exit 77
}

tc_requirements() {
	[ -x "$PG_BINDIR/initdb" ] || tc_skip "no initdb in $PG_BINDIR"
	command -v python3 >/dev/null 2>&1 || tc_skip "python3 is not installed"
	local ext
	ext="$("$PG_CONFIG" --sharedir)/extension/pool_observer.control"
	if [ ! -f "$ext" ] || [ ! -f "$("$PG_CONFIG" --pkglibdir)/pool_observer.so" ]; then
		tc_skip "pool_observer is not installed for $PG_CONFIG (make install)"
	fi
	id "$PO_PG_USER" >/dev/null 2>&1 || tc_skip "no user $PO_PG_USER to run the cluster"
}

tc_free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

tc_psql() {
	po_as_pg_user psql -X -q -v ON_ERROR_STOP=1 -h "$TC_DIR" -p "$TC_PORT" \
		-U postgres -d postgres "$@"
}

tc_psql_argv() {
	if po_is_root && [ "$PO_PG_USER" != root ]; then
		printf '%s\n' runuser -u "$PO_PG_USER" --
	fi
	printf '%s\n' "$PG_BINDIR/psql" -X -h "$TC_DIR" -p "$TC_PORT" \
		-U "${TC_PSQL_USER:-postgres}" -d postgres
}

tc_start() {
	local name="$1" line
	shift
	TC_DIR="$(po_mktemp_pg "$name")" || po_die "cannot make a temp dir"
	TC_DATA="$TC_DIR/data"
	TC_LOG="$TC_DIR/server.log"
	TC_PORT="$(tc_free_port)" || po_die "no free port"
	po_as_pg_user initdb -D "$TC_DATA" -U postgres -A trust >"$TC_DIR/initdb.log" 2>&1 ||
		{ cat "$TC_DIR/initdb.log"; po_die "initdb failed"; }
	{
		echo "shared_preload_libraries = 'pool_observer'"
		echo "listen_addresses = '127.0.0.1'"
		echo "port = $TC_PORT"
		echo "unix_socket_directories = '$TC_DIR'"
		echo "max_connections = 50"
		for line in "$@"; do
			echo "$line"
		done
	} | po_as_pg_user sh -c "cat >> '$TC_DATA/postgresql.conf'"
	po_as_pg_user pg_ctl -D "$TC_DATA" -l "$TC_LOG" -w -t 60 start >/dev/null ||
		{ TC_FAILED=1; po_die "the server did not start"; }
	tc_psql -c "CREATE EXTENSION pool_observer" ||
		{ TC_FAILED=1; po_die "CREATE EXTENSION failed"; }
	po_log "cluster up: port $TC_PORT, socket and data in $TC_DIR"
}

tc_session() {
	local app="$1" host="$2" user="$3" sql="$4" fifo fd
	fifo="$TC_DIR/session.${#TC_PIDS[@]}"
	mkfifo "$fifo" || po_die "mkfifo failed"
	# psql reads the fifo: it runs SQL at once and stays connected until
	# the write end is closed (tc_cleanup), or the server goes away.  The
	# write ends of earlier sessions are closed in the child, so that each
	# session sees its own end of input.
	(
		for fd in "${TC_FDS[@]}"; do
			exec {fd}>&-
		done
		PGAPPNAME="$app" po_as_pg_user psql -X -q -h "$host" -p "$TC_PORT" \
			-U "$user" -d postgres <"$fifo" >/dev/null 2>"$fifo.err"
	) &
	TC_PIDS+=("$!")
	exec {fd}>"$fifo"
	TC_FDS+=("$fd")
	printf '%s\n' "$sql" >&"$fd"
}

tc_poll() {
	local seconds="$1" what="$2" sql="$3" deadline out
	deadline=$((SECONDS + seconds))
	while :; do
		out="$(tc_psql -At -c "SELECT pool_observer.sample_now()" -c "$sql" 2>&1 | tail -n 1)"
		[ "$out" = t ] && return 0
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "timed out after ${seconds}s waiting for $what (last answer: $out)"
			return 1
		fi
		sleep 0.2
	done
}

tc_cleanup() {
	local fd pid
	# a reader that went away (`| head`) must not stop the cleanup halfway
	trap '' PIPE
	if [ -n "$TC_DATA" ] && [ -f "$TC_DATA/postmaster.pid" ]; then
		# fast shutdown also ends sessions that are busy or waiting
		po_as_pg_user pg_ctl -D "$TC_DATA" -m fast -w -t 30 stop >/dev/null 2>&1 ||
			po_stop_clusters_under "$TC_DIR"
	fi
	for fd in "${TC_FDS[@]}"; do
		exec {fd}>&-
	done
	TC_FDS=()
	for pid in "${TC_PIDS[@]}"; do
		po_kill_tree "$pid"
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	TC_PIDS=()
	if [ -n "$TC_DIR" ] && [ -d "$TC_DIR" ]; then
		if [ -n "$TC_FAILED" ] && [ -s "$TC_LOG" ]; then
			echo "---------- server log (tail) ----------"
			tail -n 40 "$TC_LOG"
		fi
		if [ "${PO_KEEP_TMP:-}" = 1 ]; then
			po_log "keeping $TC_DIR (PO_KEEP_TMP=1)"
		else
			rm -rf "$TC_DIR"
		fi
	fi
	TC_DIR=
}
