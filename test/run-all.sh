#!/usr/bin/env bash
# test/run-all.sh -- everything `make test` (and CI, via .ci/run) checks.
#
# Steps, all of them run whatever happens before (nothing stops the run):
#   deps     test/deps.sh (installs missing packages when root)
#   build    make clean; make COPT=-Werror; make install
#   regress  make installcheck TAP_TESTS=   (pg_regress, temp instance)
#   tap      make installcheck REGRESS=     (prove test/t/*.pl)
#   lint     make lint                      (test/lint.sh)
#   scripts  every executable test/scripts/*.sh (0 pass, 77 skip, else fail)
#
# initdb refuses root, so as root the checkout is copied (without .git and
# build products) to a temp dir owned by "postgres" and regress/tap run there
# as that user; their artifacts (regression.diffs, results/, log/,
# tmp_check/log/) are copied back into the checkout afterwards.  Not root:
# everything runs in place.
#
# Counting: each pg_regress test, each TAP assertion (plus one failure per
# test file that died or broke its plan), lint as one, each script as one.
# deps and build count only when they fail (one failure each); regress and
# tap count one failure each when the build failed and they cannot run.
# The last line of output is exactly "N passed, N failed" (", N skipped"
# appended when some were skipped).  Exit status is non-zero when anything
# failed or nothing ran.
#
# Environment: PO_REGRESS_TIMEOUT (600), PO_TAP_TIMEOUT (1200),
# PO_LINT_TIMEOUT (600), PO_SCRIPT_TIMEOUT (300) in seconds;
# PO_KEEP_TMP=1 keeps the temp copy.

set -uo pipefail
# shellcheck source=test/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$PO_ROOT" || exit 1

# The build is installed into the PostgreSQL that the tests run: two runs
# (or a run and make bench) on one machine must not replace each other's
# installed files mid-run, so a run holds a lock until it ends.  flock(1)
# holds it in a process of its own (close-on-exec), so a server a test
# leaves behind never keeps it.
PO_INSTALL_LOCK="${PO_INSTALL_LOCK:-/tmp/pool_observer-install.lock}"
if [ -z "${PO_RUN_LOCKED:-}" ] && command -v flock >/dev/null; then
	export PO_RUN_LOCKED=1
	flock -n "$PO_INSTALL_LOCK" true ||
		po_log "waiting for another pool_observer run on this machine ($PO_INSTALL_LOCK)"
	exec flock "$PO_INSTALL_LOCK" bash "$PO_ROOT/test/run-all.sh" "$@"
fi


PO_REGRESS_TIMEOUT="${PO_REGRESS_TIMEOUT:-600}"
PO_TAP_TIMEOUT="${PO_TAP_TIMEOUT:-1200}"
PO_LINT_TIMEOUT="${PO_LINT_TIMEOUT:-600}"
PO_SCRIPT_TIMEOUT="${PO_SCRIPT_TIMEOUT:-300}"
export PO_SCRIPT_TIMEOUT

JOBS="$(nproc 2>/dev/null || echo 2)"
PASSED=0
FAILED=0
SKIPPED=0
SUMMARY=()
RUN_DIR=
WORK=
LOGS="$(mktemp -d "${TMPDIR:-/tmp}/pool_observer-run-all.XXXXXX")" || po_die "mktemp failed"
CLEANED=

section() {
	printf '\n==================== %s ====================\n' "$*"
}

summary() {
	SUMMARY+=("$(printf '%-9s %s' "$1" "$2")")
}

# elapsed START -> "12s"
elapsed() {
	printf '%ss' "$((SECONDS - $1))"
}

cleanup() {
	[ -n "$CLEANED" ] && return 0
	CLEANED=1
	if [ -n "$RUN_DIR" ]; then
		po_stop_clusters_under "$RUN_DIR/tmp_check_regress"
		po_stop_clusters_under "$RUN_DIR/tmp_check"
	fi
	if [ -n "$WORK" ] && [ -d "$WORK" ]; then
		if [ "${PO_KEEP_TMP:-}" = 1 ]; then
			po_log "keeping $WORK (PO_KEEP_TMP=1)"
		else
			rm -rf "$WORK"
		fi
	fi
	rm -rf "$LOGS"
}
on_signal() {
	echo "run-all: interrupted by SIG$1, stopping everything it started" >&2
	trap - INT TERM
	po_kill_tree $$
	cleanup
	exit "$2"
}
trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM

# Commands run in the background and are waited for, so that a signal is
# handled at once (bash delays traps until a foreground command ends).

# run_bg CMD...: run CMD (stdin /dev/null), return its exit status.
run_bg() {
	"$@" </dev/null &
	wait "$!"
}

# run_logged LOG CMD...: run CMD with output to the terminal and to LOG,
# return its exit status.
run_logged() {
	local log="$1"
	shift
	(
		"$@" 2>&1 </dev/null | tee "$log"
		exit "${PIPESTATUS[0]}"
	) &
	wait "$!"
}

# ---------------------------------------------------------------------------
section "deps"
t0=$SECONDS
if run_bg bash test/deps.sh; then
	summary deps "ok"
else
	FAILED=$((FAILED + 1))
	summary deps "FAILED (see above)"
fi

# ---------------------------------------------------------------------------
section "build"
t0=$SECONDS
# `make clean` removes demo/data: stop a demo running in the checkout first.
if [ -f "$PO_ROOT/demo/.pool_observer-demo" ]; then
	po_log "stopping the demo running in $PO_ROOT/demo (make clean removes it)"
	DEMO_DIR="$PO_ROOT/demo" run_bg bash test/demo.sh stop || true
fi
BUILD_OK=
INSTALLED="installed into $("$PG_CONFIG" --pkglibdir 2>/dev/null)"
if ! command -v make >/dev/null || [ ! -x "$PG_CONFIG" ]; then
	echo "make or $PG_CONFIG missing"
elif run_bg make clean PG_CONFIG="$PG_CONFIG" >/dev/null &&
	run_bg make -j "$JOBS" COPT=-Werror PG_CONFIG="$PG_CONFIG"; then
	pkglibdir="$("$PG_CONFIG" --pkglibdir)"
	if po_is_root || [ -w "$pkglibdir" ]; then
		run_bg make install PG_CONFIG="$PG_CONFIG" && BUILD_OK=1
	elif sudo -n true 2>/dev/null; then
		run_bg sudo -n make install PG_CONFIG="$PG_CONFIG" && BUILD_OK=1
	else
		# Cannot install: fine if what is installed is what we just built.
		same=1
		shopt -s nullglob
		for f in *.so; do
			cmp -s "$f" "$pkglibdir/$f" || same=
		done
		for f in *.control *--*.sql; do
			cmp -s "$f" "$("$PG_CONFIG" --sharedir)/extension/$f" || same=
		done
		shopt -u nullglob
		if [ -n "$same" ]; then
			echo "not root: the installed copy is identical to this build, using it"
			INSTALLED="installed copy identical"
			BUILD_OK=1
		else
			echo "make install needs root: run 'sudo make install' (or make test as root)"
		fi
	fi
fi
if [ -n "$BUILD_OK" ]; then
	summary build "ok: COPT=-Werror, $INSTALLED ($(elapsed $t0))"
else
	FAILED=$((FAILED + 1))
	summary build "FAILED ($(elapsed $t0))"
fi

# ---------------------------------------------------------------------------
# Where the cluster-side steps run.
if po_is_root; then
	if WORK="$(po_mktemp_pg pool_observer-test)" &&
		rsync -a \
			--exclude=/.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
			--exclude=/tmp_check --exclude=/tmp_check_regress --exclude=/results \
			--exclude=/log --exclude=/demo --exclude=/regression.diffs \
			--exclude=/regression.out --exclude=/bench/out --exclude=/tmp_matrix \
			"$PO_ROOT/" "$WORK/src/" &&
		mkdir -p "$WORK/tmp" &&
		chown -R "$PO_PG_USER": "$WORK"; then
		RUN_DIR="$WORK/src"
		po_log "cluster-side steps run as $PO_PG_USER in $RUN_DIR"
	else
		echo "could not prepare a copy of the checkout for $PO_PG_USER"
	fi
else
	RUN_DIR="$PO_ROOT"
fi

# in_run_dir CMD...: run CMD in $RUN_DIR as the cluster user.  In the temp
# copy, TMPDIR points inside it too, so the socket directories that
# pg_regress and the TAP framework make go away with it.
in_run_dir() {
	(
		cd "$RUN_DIR" || exit 1
		if [ -n "$WORK" ]; then
			export TMPDIR="$WORK/tmp"
		fi
		po_as_pg_user "$@"
	)
}

# ---------------------------------------------------------------------------
section "regress (pg_regress)"
t0=$SECONDS
if [ -z "$BUILD_OK" ] || [ -z "$RUN_DIR" ]; then
	echo "not run: the build (or copying the checkout) failed"
	FAILED=$((FAILED + 1))
	summary regress "not run (build failed): counted as 1 failure"
else
	log="$LOGS/regress.log"
	run_logged "$log" in_run_dir timeout -k 10 "$PO_REGRESS_TIMEOUT" \
		make installcheck TAP_TESTS= PG_CONFIG="$PG_CONFIG"
	rc=$?
	# PG15: "test setup ... ok", "     views ... FAILED" (parallel group),
	# "failed (ignored)"; PG16+: TAP-style "ok 1 - setup" / "not ok 2 - x".
	read -r r_pass r_fail r_ign < <(awk '
		/ \.\.\. ok/ { p++ }
		/ \.\.\. FAILED/ { f++ }
		/ \.\.\. failed \(ignored\)/ { i++ }
		/^ok [0-9]+ +[-+] / { if ($0 ~ /# \(ignored\)/) i++; else p++ }
		/^not ok [0-9]+ +[-+] / { if ($0 ~ /# \(ignored\)/) i++; else f++ }
		END { print p + 0, f + 0, i + 0 }' "$log")
	if [ $((r_pass + r_fail)) -eq 0 ]; then
		# fall back on the summary line
		if n="$(sed -n 's/^ *All \([0-9]*\) tests passed.*/\1/p' "$log" | head -n 1)" && [ -n "$n" ]; then
			r_pass=$n
		elif line="$(sed -n 's/^ *\([0-9]*\) of \([0-9]*\) tests failed.*/\1 \2/p' "$log" | head -n 1)" && [ -n "$line" ]; then
			r_fail=${line% *}
			r_pass=$((${line#* } - r_fail))
		fi
	fi
	note=
	if [ "$rc" -ne 0 ] && [ "$r_fail" -eq 0 ]; then
		r_fail=1
		if [ "$rc" -eq 124 ]; then note=" (timed out after ${PO_REGRESS_TIMEOUT}s)"; else note=" (pg_regress exited $rc)"; fi
	fi
	if [ "$r_fail" -gt 0 ] || [ "$rc" -ne 0 ]; then
		if [ -s "$RUN_DIR/regression.diffs" ]; then
			echo "---------- regression.diffs ----------"
			head -n 500 "$RUN_DIR/regression.diffs"
			lines=$(wc -l <"$RUN_DIR/regression.diffs")
			[ "$lines" -gt 500 ] && echo "... ($lines lines; truncated)"
		fi
		if [ -s "$RUN_DIR/log/postmaster.log" ]; then
			echo "---------- log/postmaster.log (tail) ----------"
			tail -n 60 "$RUN_DIR/log/postmaster.log"
		fi
	fi
	PASSED=$((PASSED + r_pass))
	FAILED=$((FAILED + r_fail))
	SKIPPED=$((SKIPPED + r_ign))
	summary regress "$r_pass passed, $r_fail failed$([ "$r_ign" -gt 0 ] && echo ", $r_ign ignored")$note ($(elapsed $t0))"
fi

# ---------------------------------------------------------------------------
section "tap (prove test/t/*.pl)"
t0=$SECONDS
shopt -s nullglob
tap_files=(test/t/*.pl)
shopt -u nullglob
if [ -z "$BUILD_OK" ] || [ -z "$RUN_DIR" ]; then
	echo "not run: the build (or copying the checkout) failed"
	FAILED=$((FAILED + 1))
	summary tap "not run (build failed): counted as 1 failure"
elif [ "${#tap_files[@]}" -eq 0 ]; then
	echo "SKIP: no test/t/*.pl"
	SKIPPED=$((SKIPPED + 1))
	summary tap "skipped: no test/t/*.pl"
else
	log="$LOGS/tap.log"
	run_logged "$log" in_run_dir timeout -k 10 "$PO_TAP_TIMEOUT" \
		make installcheck REGRESS= PG_CONFIG="$PG_CONFIG"
	rc=$?
	# prove: "Files=3, Tests=42, ..." and, for failing files, in the
	# "Test Summary Report": "t/x.pl (Wstat: 256 (exited 1) Tests: 3 Failed: 1)"
	# followed by indented detail lines ("Parse errors: ...").
	read -r t_files t_total t_failed_asserts t_broken t_result < <(awk '
		function flush() {
			if (cur != "" && curfail == 0 && (curwstat != 0 || curparse)) broken++
			cur = ""
		}
		/^Files=[0-9]+, Tests=[0-9]+/ {
			flush()
			split($0, a, /[=,]/); files = a[2]; tests = a[4]; seen = 1
		}
		/^Result: / { flush(); result = $2 }
		/ \(Wstat: [0-9]+.* Tests: [0-9]+ Failed: [0-9]+\)$/ {
			flush()
			cur = $1
			match($0, /Wstat: [0-9]+/); curwstat = substr($0, RSTART + 7, RLENGTH - 7) + 0
			match($0, /Failed: [0-9]+\)$/); curfail = substr($0, RSTART + 8, RLENGTH - 9) + 0
			failed += curfail; curparse = 0
		}
		/^  Parse errors:/ { curparse = 1 }
		END {
			flush()
			printf "%d %d %d %d %s\n", files, tests, failed, broken, (result == "" ? "NONE" : result)
		}' "$log")
	t_pass=$((t_total - t_failed_asserts))
	t_fail=$((t_failed_asserts + t_broken))
	[ "$t_pass" -lt 0 ] && t_pass=0
	note=
	if { [ "$rc" -ne 0 ] || [ "$t_result" != PASS ]; } && [ "$t_fail" -eq 0 ]; then
		t_fail=1
		if [ "$rc" -eq 124 ]; then note=" (timed out after ${PO_TAP_TIMEOUT}s)"; else note=" (prove/make exited $rc, result $t_result)"; fi
	fi
	if [ "$t_fail" -gt 0 ]; then
		# failing files, from the summary report; all files when unknown
		failing=$(awk '/ \(Wstat: [0-9]+.* Tests: [0-9]+ Failed: [0-9]+\)$/ { print $1 }' "$log")
		[ -z "$failing" ] && failing="${tap_files[*]}"
		for f in $failing; do
			base="$(basename "$f" .pl)"
			rl="$RUN_DIR/tmp_check/log/regress_log_$base"
			if [ -s "$rl" ]; then
				echo "---------- tmp_check/log/regress_log_$base (tail) ----------"
				tail -n 80 "$rl"
			fi
			for sl in "$RUN_DIR"/tmp_check/log/"$base"_*.log; do
				[ -s "$sl" ] || continue
				echo "---------- tmp_check/log/$(basename "$sl") (tail) ----------"
				tail -n 40 "$sl"
			done
		done
	fi
	PASSED=$((PASSED + t_pass))
	FAILED=$((FAILED + t_fail))
	summary tap "$t_pass passed, $t_fail failed in $t_files file(s)$note ($(elapsed $t0))"
fi

# Bring the test artifacts back into the checkout, where `make installcheck`
# would have left them, and stop anything left running.
if [ -n "$WORK" ] && [ -n "$RUN_DIR" ]; then
	po_stop_clusters_under "$RUN_DIR/tmp_check_regress"
	po_stop_clusters_under "$RUN_DIR/tmp_check"
	for a in regression.diffs regression.out results log; do
		if [ -e "$RUN_DIR/$a" ]; then
			rm -rf "${PO_ROOT:?}/$a"
			cp -R "$RUN_DIR/$a" "$PO_ROOT/$a"
		fi
	done
	if [ -d "$RUN_DIR/tmp_check/log" ]; then
		rm -rf "${PO_ROOT:?}/tmp_check"
		mkdir -p "$PO_ROOT/tmp_check"
		cp -R "$RUN_DIR/tmp_check/log" "$PO_ROOT/tmp_check/log"
	fi
fi

# ---------------------------------------------------------------------------
section "lint"
t0=$SECONDS
run_logged "$LOGS/lint.log" timeout -k 10 "$PO_LINT_TIMEOUT" make --no-print-directory lint PG_CONFIG="$PG_CONFIG"
rc=$?
if [ "$rc" -eq 0 ]; then
	PASSED=$((PASSED + 1))
	summary lint "passed ($(elapsed $t0))"
else
	FAILED=$((FAILED + 1))
	if [ "$rc" -eq 124 ]; then
		summary lint "FAILED: timed out after ${PO_LINT_TIMEOUT}s"
	else
		summary lint "FAILED ($(elapsed $t0))"
	fi
fi

# ---------------------------------------------------------------------------
section "scripts (test/scripts/*.sh)"
t0=$SECONDS
s_pass=0
s_fail=0
s_skip=0
script_lines=()
shopt -s nullglob
for script in test/scripts/*.sh; do
	if [ ! -x "$script" ]; then
		echo "(not executable, ignored: $script)"
		continue
	fi
	echo "---------- $script ----------"
	ts=$SECONDS
	(
		timeout -k 10 "$PO_SCRIPT_TIMEOUT" "./$script" </dev/null 2>&1 | sed -u 's/^/    /'
		exit "${PIPESTATUS[0]}"
	) &
	wait "$!"
	rc=$?
	case "$rc" in
		0)
			s_pass=$((s_pass + 1))
			res="PASS"
			;;
		77)
			s_skip=$((s_skip + 1))
			res="SKIP"
			;;
		124)
			s_fail=$((s_fail + 1))
			res="FAIL (timed out after ${PO_SCRIPT_TIMEOUT}s)"
			;;
		*)
			s_fail=$((s_fail + 1))
			res="FAIL (exit $rc)"
			;;
	esac
	echo "$res: $script ($(elapsed $ts))"
	script_lines+=("$(printf '            %-40s %s' "$script" "$res")")
done
shopt -u nullglob
PASSED=$((PASSED + s_pass))
FAILED=$((FAILED + s_fail))
SKIPPED=$((SKIPPED + s_skip))
if [ $((s_pass + s_fail + s_skip)) -eq 0 ]; then
	echo "no executable test/scripts/*.sh"
	summary scripts "none"
else
	summary scripts "$s_pass passed, $s_fail failed, $s_skip skipped ($(elapsed $t0))"
	SUMMARY+=("${script_lines[@]}")
fi

# ---------------------------------------------------------------------------
cleanup

section "summary"
for line in "${SUMMARY[@]}"; do
	printf '%s\n' "$line"
done
printf 'total     %ss\n' "$SECONDS"
status=0
if [ "$FAILED" -gt 0 ]; then
	status=1
elif [ $((PASSED + FAILED)) -eq 0 ]; then
	echo "no tests ran"
	status=1
fi
echo "=================================================="
if [ "$SKIPPED" -gt 0 ]; then
	echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
else
	echo "$PASSED passed, $FAILED failed"
fi
exit "$status"
