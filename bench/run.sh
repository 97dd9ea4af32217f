#!/bin/bash
# pool_observer overhead benchmark: `make bench` (see bench/README.md).
#
# As root on Debian: installs what is missing (PostgreSQL 15 server and
# headers, a compiler, valgrind, postgresql-15-pg-wait-sampling), builds and
# installs the extension from this checkout, then runs bench/bench.py as the
# postgres user in a fresh temporary directory.  As another user: nothing is
# installed; the extension must already be installed and that user must be
# able to run initdb.
#
# Environment (all optional):
#   BENCH_QUICK=1          ~3 minute smoke run (1 round, short windows)
#   BENCH_ROUNDS=3         rounds of every interleaved measurement
#   BENCH_SECONDS=5        length of each CPU measurement window (s)
#   BENCH_TPS_SECONDS=4    length of each pgbench TPS run (s)
#   BENCH_CONNECTIONS=10,200,1000
#   BENCH_PHASES=callgrind,cpu,tps,connect,reads
#   BENCH_BASELINE=ff6cbd8 commit whose callgrind figures are measured first (none: skip)
#   BENCH_TIMEOUT=2400     hard limit for the driver (s); stops early with partial tables
#   BENCH_OUT=file.md      where to write the report (and file.json); default
#                          /tmp/pool_observer-bench-DATE.md
#   BENCH_KEEP=1           keep the temporary directory (logs, callgrind files)
#   PO_PG_MAJOR            PostgreSQL major version, default 15
#   PG_CONFIG              default /usr/lib/postgresql/$PO_PG_MAJOR/bin/pg_config
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The major version: PO_PG_MAJOR (set by `make bench PG=18`, which runs
# this inside the chroot of that version, see test/matrix.sh), default 15.
PGVER=${PO_PG_MAJOR:-15}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/$PGVER/bin/pg_config}
BENCH_START=$(date +%s)
PGWS_NOTE=""

say() { echo "[bench] $*" >&2; }

if [ "$(id -u)" = 0 ]; then
	need=()
	have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
	for p in postgresql-$PGVER postgresql-server-dev-$PGVER make gcc valgrind python3 \
		postgresql-client-$PGVER; do
		have "$p" || need+=("$p")
	done
	if [ ${#need[@]} -gt 0 ]; then
		say "installing: ${need[*]}"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
	fi
	if ! have postgresql-$PGVER-pg-wait-sampling; then
		say "installing postgresql-$PGVER-pg-wait-sampling"
		if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq postgresql-$PGVER-pg-wait-sampling >/dev/null; }; then
			PGWS_NOTE="apt-get install postgresql-$PGVER-pg-wait-sampling failed"
			say "WARNING: $PGWS_NOTE; its columns are skipped"
		fi
	fi
	RUNAS=(runuser -u postgres --)
	OWNER=postgres
else
	if [ ! -f "$("$PG_CONFIG" --pkglibdir)/pool_observer.so" ]; then
		echo "pool_observer is not installed; run as root (or make install first)" >&2
		exit 1
	fi
	RUNAS=()
	OWNER=$(id -un)
fi

install_from() {
	# build and install one source tree (serialised with other builds on this host)
	say "building and installing pool_observer from $1"
	if command -v flock >/dev/null; then
		flock /tmp/pool_observer-build.lock make -C "$1" install PG_CONFIG="$PG_CONFIG" >/dev/null
	else
		make -C "$1" install PG_CONFIG="$PG_CONFIG" >/dev/null
	fi
}

PKGLIB=$("$PG_CONFIG" --pkglibdir)
if [ -z "$PGWS_NOTE" ] && [ ! -f "$PKGLIB/pg_wait_sampling.so" ]; then
	PGWS_NOTE="postgresql-$PGVER-pg-wait-sampling is not installed (run as root to install it)"
fi
PGWS_VERSION=$(dpkg-query -W -f='${Version}' postgresql-$PGVER-pg-wait-sampling 2>/dev/null || true)
PO_VERSION="$(grep -m1 default_version "$REPO/pool_observer.control" | sed "s/.*= *'\(.*\)'.*/\1/")"
PO_VERSION="$PO_VERSION ($(git -C "$REPO" describe --always --dirty 2>/dev/null || echo 'no git'))"

TMPD=$(mktemp -d /tmp/pool_observer-bench.XXXXXX)
chmod 755 "$TMPD"
cleanup() {
	if [ -n "${BASELINE_DIR:-}" ]; then
		git -C "$REPO" worktree remove --force "$BASELINE_DIR" >/dev/null 2>&1 || true
	fi
	# stop any postmaster left in our directory (the driver normally does it)
	for d in "$TMPD"/*/; do
		[ -f "$d/postmaster.pid" ] || continue
		"${RUNAS[@]}" "$(dirname "$PG_CONFIG")/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1 || true
	done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		say "kept $TMPD"
	else
		rm -rf "$TMPD"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cp "$REPO/bench/bench.py" "$TMPD/"
if command -v cc >/dev/null && cc -O2 -o "$TMPD/wakeup" "$REPO/bench/wakeup.c" 2>/dev/null; then
	:
else
	say "no C compiler: the wake-up floor is measured with a python sleeper"
fi
# the empty-pass background worker (bench/empty_pass): built here, never installed
mkdir "$TMPD/empty_pass-src"
cp "$REPO/bench/empty_pass/empty_pass.c" "$REPO/bench/empty_pass/Makefile" "$TMPD/empty_pass-src/"
if make -s -C "$TMPD/empty_pass-src" PG_CONFIG="$PG_CONFIG" >"$TMPD/empty_pass-build.log" 2>&1; then
	cp "$TMPD/empty_pass-src/empty_pass.so" "$TMPD/"
else
	say "the empty-pass worker did not build (see $TMPD/empty_pass-build.log): its columns are skipped"
fi
chown -R "$OWNER" "$TMPD"

OUT=${BENCH_OUT:-}
RESULT=${OUT:-/tmp/pool_observer-bench-$(date -u +%Y%m%d-%H%M%S).md}
touch "$RESULT"
chown "$OWNER" "$RESULT"

CMD="make bench"
[ "${BENCH_QUICK:-0}" = 1 ] && CMD="BENCH_QUICK=1 make bench"

driver() {
	# driver PHASES OUT PO_VERSION BASELINE_JSON
	"${RUNAS[@]}" env \
		BENCH_TMP="$TMPD" PGBIN="$(dirname "$PG_CONFIG")" \
		BENCH_QUICK="${BENCH_QUICK:-0}" BENCH_ROUNDS="${BENCH_ROUNDS:-}" \
		BENCH_SECONDS="${BENCH_SECONDS:-}" BENCH_TPS_SECONDS="${BENCH_TPS_SECONDS:-}" \
		BENCH_CONNECTIONS="${BENCH_CONNECTIONS:-}" BENCH_PHASES="$1" \
		BENCH_EMPTY_PASS="${BENCH_EMPTY_PASS:-}" BENCH_CPU_STATES="${BENCH_CPU_STATES:-}" \
		BENCH_PROFILE_CONNECTIONS="${BENCH_PROFILE_CONNECTIONS:-}" \
		BENCH_CONNECT_SECONDS="${BENCH_CONNECT_SECONDS:-}" \
		BENCH_TIMEOUT="${BENCH_TIMEOUT:-}" BENCH_SCALE="${BENCH_SCALE:-}" \
		BENCH_HISTORY_BUCKETS="${BENCH_HISTORY_BUCKETS:-}" BENCH_CG_STEP="${BENCH_CG_STEP:-}" \
		BENCH_OUT="$2" BENCH_COMMAND="${BENCH_COMMAND:-$CMD}" \
		BENCH_PGWS_NOTE="$PGWS_NOTE" BENCH_PGWS_VERSION="$PGWS_VERSION" \
		BENCH_PO_VERSION="$3" BENCH_BASELINE_JSON="$4" BENCH_BASELINE_NOTE="$BASELINE_NOTE" \
		python3 "$TMPD/bench.py"
}

# The baseline (issue 10: instructions per sample before the restructure):
# BENCH_BASELINE (a commit, default ff6cbd8; "none" to skip) is checked out in
# a separate worktree, built and installed, and measured by the callgrind
# phase only; then this checkout is installed and measured in full.
PHASES=${BENCH_PHASES:-callgrind,cpu,tps,connect,reads,defaults}
BASELINE=${BENCH_BASELINE:-ff6cbd8}
BASELINE_DIR=""
BASELINE_JSON=""
BASELINE_NOTE=""
if [ "$BASELINE" != none ] && [[ ",$PHASES," == *,callgrind,* ]]; then
	if [ "$(id -u)" != 0 ]; then
		BASELINE_NOTE="baseline $BASELINE not measured: it has to be installed (run as root)"
	elif ! git -C "$REPO" rev-parse -q --verify "$BASELINE^{commit}" >/dev/null; then
		BASELINE_NOTE="baseline $BASELINE is not a commit of $REPO: not measured"
	else
		BASELINE_DIR="$TMPD/baseline-src"
		git -C "$REPO" worktree add -q --detach "$BASELINE_DIR" "$BASELINE"
		chmod -R a+rX "$BASELINE_DIR"
		install_from "$BASELINE_DIR"
		BV="$(grep -m1 default_version "$BASELINE_DIR/pool_observer.control" | sed "s/.*= *'\(.*\)'.*/\1/")"
		BV="$BV ($(git -C "$BASELINE_DIR" rev-parse --short HEAD))"
		say "baseline $BV: callgrind phase"
		touch "$TMPD/baseline.md"; chown "$OWNER" "$TMPD/baseline.md"
		set +e
		driver callgrind "$TMPD/baseline.md" "$BV" "" >/dev/null
		set -e
		if [ -s "$TMPD/baseline.json" ]; then
			BASELINE_JSON="$TMPD/baseline.json"
			cp "$TMPD/baseline.json" "${RESULT%.md}.baseline.json"
		else
			BASELINE_NOTE="baseline $BASELINE: the callgrind run gave no results"
		fi
	fi
fi
[ "$(id -u)" = 0 ] && install_from "$REPO"

say "driver starting in $TMPD (setup took $(( $(date +%s) - BENCH_START )) s)"
set +e
driver "$PHASES" "$RESULT" "$PO_VERSION" "$BASELINE_JSON"
rc=$?
set -e
say "report: $RESULT; total $(( $(date +%s) - BENCH_START )) s"
exit $rc
