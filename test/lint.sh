#!/usr/bin/env bash
# test/lint.sh [PROJECT_DIR] -- static analysis of the C sources (`make lint`).
#
#  1. cppcheck over src/*.c with the PostgreSQL server headers, so PG macros
#     (ereport, PG_TRY, PG_FUNCTION_INFO_V1, ...) are expanded rather than
#     guessed at.  Checks: warning, performance, portability; findings inside
#     the PostgreSQL or system headers are not reported.  Silence a reviewed
#     false positive in place with a comment on the line above it:
#         // cppcheck-suppress <id>
#  2. scan-build (clang static analyzer) over a clean build of a throwaway
#     copy of the project, so the checkout's build products are not touched.
#  3. test/layers.py over that build's objects: no call cycle between the
#     src/ files, and no call from a lower layer to a higher one.
#  4. test/sizes.py over src/*.c: no file over 600 lines, no function over
#     80 (declarative tables listed there excepted).
#
# Exits non-zero when any of them reports anything, or when there is no C
# source to check.  PROJECT_DIR defaults to the checkout; it must be a PGXS
# project with its sources in src/.  scan-build's HTML report is kept (path
# printed) when it found bugs.

set -uo pipefail
# shellcheck source=test/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

project="$(cd "${1:-$PO_ROOT}" && pwd -P)" || po_die "no such directory: ${1:-}"
cd "$project" || exit 1

shopt -s nullglob
sources=(src/*.c)
shopt -u nullglob
if [ "${#sources[@]}" -eq 0 ]; then
	po_die "lint: no C sources in $project/src"
fi
for tool in cppcheck scan-build; do
	command -v "$tool" >/dev/null || po_die "lint: $tool not found (run: make deps)"
done
[ -x "$PG_CONFIG" ] || po_die "lint: $PG_CONFIG not found (run: make deps)"

status=0
incdir="$("$PG_CONFIG" --includedir-server)"
jobs="$(nproc 2>/dev/null || echo 2)"

po_log "lint: cppcheck ${sources[*]}"
case "$(uname -m)" in
	x86_64) arch_define=(-D__x86_64__) ;;
	aarch64 | arm64) arch_define=(-D__aarch64__) ;;
	*) arch_define=() ;;
esac
# shellcheck disable=SC2054  # commas inside --enable= are cppcheck's
cppcheck_args=(
	--quiet
	--language=c --std=c99
	--enable=warning,performance,portability
	--inline-suppr
	--error-exitcode=1
	# the server headers are read for their macros; system headers are not
	# needed (and libc internals only add noise)
	--suppress=missingIncludeSystem
	# cppcheck 2.11+ (trixie, sid) reports that it limits branch analysis
	# as an "information" that --error-exitcode counts; 2.10 (bookworm)
	# limits it silently
	--suppress=normalCheckLevelMaxBranches
	"--suppress=*:$incdir/*"
	"--suppress=*:/usr/include/*"
	# one configuration: what gcc sees (cppcheck would otherwise try to
	# combine every #ifdef in the PG headers)
	-D__GNUC__ -D__linux__ "${arch_define[@]}"
	"-I$incdir" -Isrc
	-j "$jobs"
)
if cppcheck "${cppcheck_args[@]}" "${sources[@]}" 2>&1; then
	po_log "lint: cppcheck clean"
else
	po_warn "lint: cppcheck reported problems (above)"
	status=1
fi

po_log "lint: scan-build on a clean build"
work="$(mktemp -d "${TMPDIR:-/tmp}/pool_observer-lint.XXXXXX")" || po_die "mktemp failed"
keep_work=
cleanup() { if [ -z "$keep_work" ]; then rm -rf "$work"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$work/build" "$work/report"
tar -C "$project" \
	--exclude=./.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
	--exclude=./tmp_check --exclude=./tmp_check_regress --exclude=./results \
	--exclude=./log --exclude=./demo --exclude=./debian --exclude=./bench \
	-cf - . | tar -C "$work/build" -xf - || po_die "lint: copying the project failed"

log="$work/scan-build.log"
(
	cd "$work/build" &&
		scan-build --status-bugs -o "$work/report" \
			make -j "$jobs" PG_CONFIG="$PG_CONFIG" with_llvm=no
) >"$log" 2>&1
rc=$?
# Show the analyzer's findings and the summary, not every compiler command.
grep -v -E '^(/[^ ]*/)?(ccc-analyzer|c\+\+-analyzer|gcc|cc|clang[-0-9]*) ' "$log" |
	grep -v -E '^make(\[[0-9]+\])?: (Entering|Leaving) directory' || true
if [ "$rc" -eq 0 ]; then
	po_log "lint: scan-build clean"
else
	if grep -q 'bugs\? found' "$log" && ls -d "$work"/report/*/ >/dev/null 2>&1; then
		keep_work=1
		po_warn "lint: scan-build found bugs; report: scan-view $(ls -d "$work"/report/*/ | head -n 1)"
	else
		po_warn "lint: scan-build failed (exit $rc); full log:"
		cat "$log" >&2
	fi
	status=1
fi

# 3. The layering of src/: derived from the objects' symbols (nm), it must
#    have no call cycle and no call from a lower layer to a higher one.
po_log "lint: layers (test/layers.py)"
if ! python3 "$PO_ROOT/test/layers.py" "$work/build/src"; then
	status=1
fi

# 4. Sizes: files and functions small enough to read in one go.
po_log "lint: sizes (test/sizes.py)"
if ! python3 "$PO_ROOT/test/sizes.py" "$project/src"; then
	status=1
fi

if [ "$status" -eq 0 ]; then
	po_log "lint: passed"
else
	po_warn "lint: FAILED"
fi
exit "$status"
