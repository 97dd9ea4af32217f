#!/usr/bin/env bash
# test/matrix.sh -- `make test`: the whole suite (test/run-all.sh) on every
# supported PostgreSQL version Debian ships: 15 on the host (Debian 12), 17,
# 18 and 19 each in a chroot of the suite that ships it (test/chroot.sh:
# trixie; sid; experimental on top of the same sid chroot).
#
#   test/matrix.sh [VERSION...]          default: 15 17 18 19
#   test/matrix.sh --bench [VERSION...]  bench/run.sh instead (default: 15)
#
# `make test PG=18`, `make test PG="15 18"` pass VERSIONs.  While the host
# versions run, the chroots the others need are made (or checked) in the
# background; making them is network- and disk-bound, the tests CPU-bound.
#
# Each version's own summary is kept; then a matrix summary, one line per
# version with its counts and time and, under a version that failed, what
# failed (its failing steps, files and assertions, at most 16 lines); the
# last line counts them all, exactly
# "N passed, N failed" (", N skipped" appended when some were skipped).  A
# version whose chroot cannot be made (no network to the archive, ...)
# counts as one skipped, with the reason.  Exit status non-zero when
# anything failed.  Logs: tmp_matrix/pgNN.log; artifacts of chroot runs
# (regression.diffs, results/, tmp_check/log/) in tmp_matrix/pgNN/.
# (`make clean`, which run-all.sh does, leaves tmp_matrix/ alone.)

set -uo pipefail
# shellcheck source=test/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$PO_ROOT" || exit 1

ALL_VERSIONS="15 17 18 19"
MODE=test
if [ "${1:-}" = --bench ]; then
	MODE=bench
	shift
fi
versions=("$@")
if [ "${#versions[@]}" -eq 0 ]; then
	if [ "$MODE" = bench ]; then versions=(15); else read -r -a versions <<<"$ALL_VERSIONS"; fi
fi
for v in "${versions[@]}"; do
	case " $ALL_VERSIONS " in
		*" $v "*) ;;
		*) po_die "PostgreSQL $v is not in the matrix ($ALL_VERSIONS)" ;;
	esac
done

OUT="$PO_ROOT/tmp_matrix"
mkdir -p "$OUT"
PASSED=0
FAILED=0
SKIPPED=0
LINES=()
T_START=$SECONDS
PREP_PID=

# Where a version runs: "host" or the name of its chroot.
where() {
	bash test/chroot.sh name "$1" 2>/dev/null || echo host
}

stop_prep() {
	if [ -n "$PREP_PID" ] && kill -0 "$PREP_PID" 2>/dev/null; then
		kill -TERM "$PREP_PID" 2>/dev/null
		wait "$PREP_PID" 2>/dev/null
	fi
}
# The test/chroot.sh run in progress, signalled by its pid so that it
# unmounts before we go (seen: a group-wide TERM from po_kill_tree alone
# left it running with its mounts).
CHROOT_PIDFILE="$OUT/chroot-run.pid"
stop_chroot_run() {
	local pid deadline=$((SECONDS + 20))
	[ -s "$CHROOT_PIDFILE" ] || return 0
	pid="$(cat "$CHROOT_PIDFILE")"
	rm -f "$CHROOT_PIDFILE"
	case "$pid" in '' | *[!0-9]*) return 0 ;; esac
	kill -TERM "$pid" 2>/dev/null || return 0
	while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
		sleep 0.2
	done
}
on_signal() {
	echo "matrix: interrupted by SIG$1" >&2
	trap - INT TERM
	stop_chroot_run
	stop_prep
	po_kill_tree $$
	exit "$2"
}
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap stop_prep EXIT

section() {
	printf '\n#################### %s ####################\n' "$*"
}

# debootstrap (in test/deps.sh's list) before the chroots are made.
need_chroot=
for v in "${versions[@]}"; do
	[ "$(where "$v")" != host ] && need_chroot=1
done
if [ -n "$need_chroot" ] && po_is_root && ! command -v debootstrap >/dev/null; then
	bash test/deps.sh </dev/null || true
fi

# Make the chroots ahead, in the background, while the host versions run.
chroots=()
for v in "${versions[@]}"; do
	c="$(where "$v")"
	[ "$c" = host ] && continue
	case " ${chroots[*]:-} " in *" $c "*) ;; *) chroots+=("$c") ;; esac
done
if [ "${#chroots[@]}" -gt 0 ] && po_is_root && [ "${PO_MATRIX_PREPARE_AHEAD:-1}" = 1 ]; then
	(
		for c in "${chroots[@]}"; do
			t=$SECONDS
			bash test/chroot.sh ensure "$c" </dev/null
			echo "chroot: $c: ensure exited $? after $((SECONDS - t))s"
		done
	) >"$OUT/chroots.log" 2>&1 &
	PREP_PID=$!
	po_log "making/checking chroots ${chroots[*]} in the background (log: $OUT/chroots.log)"
fi

# run_one VERSION: run the suite (or the bench) for one version.
run_one() {
	local v="$1" w log t0=$SECONDS rc counts reason cmd
	w="$(where "$v")"
	log="$OUT/pg$v.log"
	section "PostgreSQL $v ($([ "$w" = host ] && echo host || echo "chroot $w"))"
	if [ "$MODE" = test ]; then
		cmd=(bash test/run-all.sh)
	else
		cmd=(bash bench/run.sh)
	fi
	if [ "$w" = host ]; then
		(
			PO_PG_MAJOR="$v" PG_BINDIR="/usr/lib/postgresql/$v/bin" \
				PG_CONFIG="/usr/lib/postgresql/$v/bin/pg_config" \
				"${cmd[@]}" </dev/null 2>&1 | sed -u "s/^/pg$v| /" | tee "$log"
			exit "${PIPESTATUS[0]}"
		) &
		wait "$!"
		rc=$?
	else
		if [ -n "$PREP_PID" ] && kill -0 "$PREP_PID" 2>/dev/null; then
			po_log "waiting for the chroots to be ready (tail $OUT/chroots.log)"
		fi
		local report=
		if [ "$MODE" = bench ]; then
			report="/tmp/pool_observer-bench-pg$v-$(date -u +%Y%m%d-%H%M%S)"
			cmd=(env BENCH_OUT="$report.md" "${cmd[@]}")
		fi
		(
			PO_CHROOT_PIDFILE="$CHROOT_PIDFILE" bash test/chroot.sh run "$v" "${cmd[@]}" </dev/null 2>&1 |
				sed -u "s/^/pg$v| /" | tee "$log"
			exit "${PIPESTATUS[0]}"
		) &
		wait "$!"
		rc=$?
		rm -f "$CHROOT_PIDFILE"
		# Artifacts back out of the chroot.
		local src="$PO_CHROOT_CACHE_DIR/$w/srv/pool_observer" a
		rm -rf "${OUT:?}/pg$v"
		mkdir -p "$OUT/pg$v"
		for a in regression.diffs regression.out results log tmp_check/log; do
			if [ -e "$src/$a" ]; then
				mkdir -p "$OUT/pg$v/$(dirname "$a")"
				cp -R "$src/$a" "$OUT/pg$v/$a"
			fi
		done
		# The bench report (.md and .json), out of the chroot's /tmp.
		if [ -n "$report" ] && ls "$PO_CHROOT_CACHE_DIR/$w$report".* >/dev/null 2>&1; then
			mkdir -p bench/out
			cp "$PO_CHROOT_CACHE_DIR/$w$report".* bench/out/
			po_log "bench report: bench/out/$(basename "$report").md"
		fi
	fi
	local secs=$((SECONDS - t0))
	if [ "$MODE" = bench ]; then
		if [ "$rc" -eq 0 ]; then
			PASSED=$((PASSED + 1))
			LINES+=("$(printf 'PostgreSQL %-3s %-15s bench ok (%ss)' "$v" "$w" "$secs")")
		elif [ "$rc" -eq 75 ]; then
			SKIPPED=$((SKIPPED + 1))
			reason="$(sed -n 's/^pg[0-9]*| CHROOT-UNAVAILABLE: //p' "$log" | tail -n 1)"
			LINES+=("$(printf 'PostgreSQL %-3s %-15s skipped: %s' "$v" "$w" "$reason")")
		else
			FAILED=$((FAILED + 1))
			LINES+=("$(printf 'PostgreSQL %-3s %-15s bench FAILED (exit %s, %ss)' "$v" "$w" "$rc" "$secs")")
		fi
		return
	fi
	counts="$(sed -n 's/^pg[0-9]*| \([0-9]* passed, [0-9]* failed\(, [0-9]* skipped\)\{0,1\}\)$/\1/p' "$log" | tail -n 1)"
	if [ "$rc" -eq 75 ] && grep -q '^pg[0-9]*| CHROOT-UNAVAILABLE: ' "$log"; then
		reason="$(sed -n 's/^pg[0-9]*| CHROOT-UNAVAILABLE: //p' "$log" | tail -n 1)"
		SKIPPED=$((SKIPPED + 1))
		LINES+=("$(printf 'PostgreSQL %-3s %-15s skipped: %s (%ss)' "$v" "$w" "$reason" "$secs")")
		return
	fi
	if [ -z "$counts" ]; then
		FAILED=$((FAILED + 1))
		LINES+=("$(printf 'PostgreSQL %-3s %-15s FAILED: no result line (exit %s, %ss)' "$v" "$w" "$rc" "$secs")")
		return
	fi
	local p f s=0
	p="$(sed 's/ passed.*//' <<<"$counts")"
	f="$(sed 's/.* \([0-9]*\) failed.*/\1/' <<<"$counts")"
	case "$counts" in *skipped) s="$(sed 's/.* \([0-9]*\) skipped$/\1/' <<<"$counts")" ;; esac
	# A run that exits non-zero without a counted failure still failed.
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		counts="$counts (exit $rc: counted as 1 failure)"
	fi
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + f))
	SKIPPED=$((SKIPPED + s))
	local minor
	minor="$(sed -n 's/^pg[0-9]*| .*PostgreSQL \([0-9][0-9.a-z~]*\) (.*sampling path: \([a-z]*\).*/\1, \2/p' "$log" | head -n 1)"
	LINES+=("$(printf 'PostgreSQL %-3s %-15s %s (%ss)%s' "$v" "$w" "$counts" "$secs" "${minor:+  [$minor]}")")
	if [ "$f" -gt 0 ]; then failure_digest "$log"; fi
}

# failure_digest LOG: what failed in a version's run, a few lines under its
# summary line, so that the end of the output names it: the summary lines
# that failed, prove's failing files and assertions, pg_regress's "not ok".
failure_digest() {
	local line
	while IFS= read -r line; do
		LINES+=("    ${line}")
	done < <(sed -n -e 's/^pg[0-9]*| //' \
		-e '/^\(regress\|tap\|lint\|build\|deps\|scripts\) .*\([1-9][0-9]* failed\|FAIL\|not run\)/p' \
		-e '/^ *test\/scripts\/.* FAIL/p' \
		-e '/^#   Failed test /p' \
		-e '/^#   at .* line [0-9]*\.$/p' \
		-e '/^# *\(got\|expected\):/p' \
		-e '/(Wstat: [0-9]*.*Failed: [0-9]*)$/p' \
		-e '/^not ok /p' "$1" | head -n 16)
}

PO_CHROOT_CACHE_DIR="${PO_CHROOT_CACHE:-/var/cache/pool_observer}"

# Host versions first (the chroots get made meanwhile), then the others.
for v in "${versions[@]}"; do
	[ "$(where "$v")" = host ] && run_one "$v"
done
if [ -n "$PREP_PID" ]; then
	wait "$PREP_PID" 2>/dev/null
	PREP_PID=
	section "chroots"
	cat "$OUT/chroots.log"
fi
for v in "${versions[@]}"; do
	[ "$(where "$v")" != host ] && run_one "$v"
done

section "matrix summary"
for line in "${LINES[@]}"; do
	printf '%s\n' "$line"
done
printf 'total %ss; logs in %s\n' "$((SECONDS - T_START))" "$OUT"
echo "=================================================="
if [ "$SKIPPED" -gt 0 ]; then
	echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
else
	echo "$PASSED passed, $FAILED failed"
fi
[ "$FAILED" -eq 0 ] && [ $((PASSED + FAILED)) -gt 0 ]
