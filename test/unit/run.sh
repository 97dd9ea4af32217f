#!/usr/bin/env bash
# test/unit/run.sh -- build and run the server-less unit tests of pure C
# files (src/outcome_classify.c) against the server headers of PG_CONFIG.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
pg_config="${PG_CONFIG:-pg_config}"
inc="$("$pg_config" --includedir-server)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cc -Wall -Werror -I"$inc" -I"$root/src" -o "$out/outcome_classify_test" \
	"$root/test/unit/outcome_classify_test.c" "$root/src/outcome_classify.c"
"$out/outcome_classify_test"
