# shellcheck shell=bash
# test/common.sh -- shared helpers for the scripts in test/ (sourced, not run).
#
#   . "$(dirname "${BASH_SOURCE[0]}")/common.sh"
#
# Sets:
#   PO_ROOT       absolute path of the checkout (the directory above test/)
#   PO_PG_MAJOR   PostgreSQL major version (default 15)
#   PG_BINDIR     server binaries, put first on PATH (exported)
#   PG_CONFIG     pg_config of that version (exported, also passed to make)
#   PO_PG_USER    the unprivileged OS user that runs clusters: "postgres" when
#                 we are root (initdb refuses root), else the current user
#
# Helpers: po_log, po_warn, po_die, po_is_root, po_as_pg_user,
# po_pg_user_can_enter, po_mktemp_pg, po_stop_clusters_under, po_kill_tree.
#
# Every variable can be overridden from the environment, e.g.
# PO_PG_MAJOR=16 make test, or PO_PG_USER=someone.

if [ -n "${PO_COMMON_SOURCED:-}" ]; then
	return 0
fi
PO_COMMON_SOURCED=1

PO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
PO_PG_MAJOR="${PO_PG_MAJOR:-15}"
PG_BINDIR="${PG_BINDIR:-/usr/lib/postgresql/$PO_PG_MAJOR/bin}"
PG_CONFIG="${PG_CONFIG:-$PG_BINDIR/pg_config}"
# A relative PG_CONFIG (e.g. the Makefile's default "pg_config") would pick
# whatever version /usr/bin/pg_config points at; pin the version we test.
case "$PG_CONFIG" in
	/*) ;;
	*) PG_CONFIG="$PG_BINDIR/pg_config" ;;
esac
case ":$PATH:" in
	"$PG_BINDIR:"*) ;;
	*) PATH="$PG_BINDIR:$PATH" ;;
esac
export PO_ROOT PO_PG_MAJOR PG_BINDIR PG_CONFIG PATH

if [ "$(id -u)" -eq 0 ]; then
	PO_PG_USER="${PO_PG_USER:-postgres}"
else
	PO_PG_USER="${PO_PG_USER:-$(id -un)}"
fi
export PO_PG_USER

po_log() { printf '==> %s\n' "$*"; }
po_warn() { printf 'WARNING: %s\n' "$*" >&2; }
po_die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }
po_is_root() { [ "$(id -u)" -eq 0 ]; }

# po_as_pg_user CMD [ARGS...]
# Run a command as $PO_PG_USER (via runuser when root, directly otherwise),
# with PATH and PG_CONFIG kept.  The command starts in the current directory
# when that user may enter it, else in / (initdb and pg_ctl fail with "could
# not identify current directory" in a directory they cannot read).
po_as_pg_user() {
	if po_is_root && [ "$PO_PG_USER" != root ]; then
		runuser -u "$PO_PG_USER" -- env PATH="$PATH" PG_CONFIG="$PG_CONFIG" \
			sh -c 'cd "$0" 2>/dev/null || cd /; exec "$@"' "$PWD" "$@"
	else
		"$@"
	fi
}

# po_pg_user_can_enter DIR: true when $PO_PG_USER can reach and list DIR
# (every parent directory must be searchable).
po_pg_user_can_enter() {
	po_as_pg_user test -x "$1" -a -r "$1" 2>/dev/null
}

# po_mktemp_pg [NAME]: make a fresh temp dir owned by $PO_PG_USER, print it.
# Parent: $PO_TMPDIR, else $TMPDIR, else /tmp; /tmp when the pg user cannot
# enter the chosen parent.
po_mktemp_pg() {
	local parent="${PO_TMPDIR:-${TMPDIR:-/tmp}}" dir
	if ! po_pg_user_can_enter "$parent"; then
		parent=/tmp
	fi
	dir="$(mktemp -d "$parent/${1:-pool_observer}.XXXXXX")" || return 1
	if po_is_root && [ "$PO_PG_USER" != root ]; then
		chown "$PO_PG_USER": "$dir" || return 1
	fi
	printf '%s\n' "$dir"
}

# po_stop_clusters_under DIR: stop every postmaster whose data directory lies
# under DIR (a postmaster.pid with a live pid), immediate mode.  Used by
# cleanup traps so that an interrupted test never leaves a server behind.
po_stop_clusters_under() {
	local top="$1" pidfile datadir pid
	[ -n "$top" ] && [ -d "$top" ] || return 0
	while IFS= read -r pidfile; do
		datadir="$(dirname "$pidfile")"
		pid="$(head -n 1 "$pidfile" 2>/dev/null)"
		case "$pid" in '' | *[!0-9]*) continue ;; esac
		kill -0 "$pid" 2>/dev/null || continue
		po_log "stopping leftover server in $datadir (pid $pid)"
		po_as_pg_user pg_ctl -D "$datadir" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
			kill -QUIT "$pid" 2>/dev/null || true
	done < <(find "$top" -name postmaster.pid -type f 2>/dev/null)
}

# po_kill_tree PID: end every descendant of PID (not PID itself): SIGTERM,
# up to 5 s to exit, then SIGKILL.  Needed because runuser and timeout put
# their commands in process groups of their own, out of reach of a Ctrl-C or
# a group kill.  (Servers started by pg_ctl detach; see
# po_stop_clusters_under.)
po_kill_tree() {
	local root="$1" pids _
	pids="$(ps -eo pid=,ppid= | awk -v root="$root" '
		{ parent[$1] = $2 }
		END {
			do {
				changed = 0
				for (p in parent)
					if (!(p in mine) && (parent[p] == root || parent[p] in mine)) {
						mine[p] = 1; changed = 1
					}
			} while (changed)
			for (p in mine) print p
		}')"
	[ -n "$pids" ] || return 0
	# shellcheck disable=SC2086
	kill -TERM $pids 2>/dev/null
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		# shellcheck disable=SC2086
		kill -0 $pids 2>/dev/null || return 0
		sleep 0.5
	done
	# shellcheck disable=SC2086
	kill -KILL $pids 2>/dev/null
	return 0
}
