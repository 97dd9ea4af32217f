#!/usr/bin/env bash
# test/deps.sh -- make sure the Debian packages needed to build, test, lint
# and demo pool_observer are installed (`make deps`; run-all.sh and demo.sh
# call it too).  Idempotent: when everything is present it only checks.
#
# As root, installs what is missing (one `apt-get update`, then
# `apt-get install --no-install-recommends`).  Otherwise prints what is
# missing and exits 1.
#
# THE package list is PO_PACKAGES below.  Work that needs more packages
# either adds them there or drops a file test/deps.d/<topic>.list (one
# package per line, '#' comments allowed), which is read as well.
#
# `test/deps.sh --list` prints the package list (one a line) and exits:
# test/chroot.sh installs the same set into its chroots.
#
# Environment: PO_PG_MAJOR (default 15); PO_EXTRA_PACKAGES (space separated);
# PO_DEPS_NO_START=1 (default when CI=true) keeps apt from starting the
# services it installs (system postgres cluster, prometheus, exporters), which
# would only occupy ports in a throwaway CI container.

set -euo pipefail
# shellcheck source=test/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PO_PACKAGES=(
	# build
	make
	gcc
	clang # PGXS builds LLVM bitcode (with_llvm = yes); scan-build needs it
	"postgresql-$PO_PG_MAJOR"
	"postgresql-client-$PO_PG_MAJOR"
	"postgresql-server-dev-$PO_PG_MAJOR"
	# headers the server headers pull in: libpq/libpq-be.h (via auth.h,
	# MyProcPort) includes <openssl/ssl.h> and <gssapi/gssapi.h>
	libssl-dev
	libkrb5-dev
	# tests: TAP (PostgreSQL::Test::Cluster uses IPC::Run), scripts
	libipc-run-perl
	perl
	curl
	python3
	python3-yaml # dashboard test
	prometheus-postgres-exporter
	prometheus # promtool
	git
	rsync
	procps
	# lint
	cppcheck
	clang-tools # scan-build
	# the version matrix (test/matrix.sh, test/chroot.sh)
	debootstrap
)

packages=()
for p in "${PO_PACKAGES[@]}" ${PO_EXTRA_PACKAGES:-}; do
	packages+=("$p")
done
shopt -s nullglob
for list in "$PO_ROOT"/test/deps.d/*.list; do
	while read -r p _; do
		case "$p" in '' | '#'*) continue ;; esac
		packages+=("$p")
	done <"$list"
done
shopt -u nullglob

if [ "${1:-}" = --list ]; then
	printf '%s\n' "${packages[@]}"
	exit 0
fi

missing=()
for p in "${packages[@]}"; do
	status="$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)"
	if [ "$status" != installed ]; then
		case " ${missing[*]:-} " in *" $p "*) ;; *) missing+=("$p") ;; esac
	fi
done

if [ "${#missing[@]}" -eq 0 ]; then
	po_log "deps: all ${#packages[@]} packages installed"
	exit 0
fi

if ! po_is_root; then
	printf 'deps: missing packages: %s\n' "${missing[*]}" >&2
	printf 'deps: install them with:\n  sudo apt-get install --no-install-recommends %s\n' "${missing[*]}" >&2
	printf 'deps: or run `sudo make deps`\n' >&2
	exit 1
fi

po_log "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive

# Keep apt from starting services in CI (restored on exit).
policy=/usr/sbin/policy-rc.d
policy_added=
if [ "${PO_DEPS_NO_START:-${CI:-}}" = true ] || [ "${PO_DEPS_NO_START:-}" = 1 ]; then
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\n# added by pool_observer test/deps.sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		policy_added=1
	fi
fi
cleanup() { if [ -n "$policy_added" ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null

still=()
for p in "${missing[@]}"; do
	status="$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)"
	[ "$status" = installed ] || still+=("$p")
done
if [ "${#still[@]}" -gt 0 ]; then
	po_die "deps: still missing after apt-get install: ${still[*]}"
fi
po_log "deps: installed ${#missing[@]} package(s)"
