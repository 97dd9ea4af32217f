#!/usr/bin/env bash
# test/chroot.sh -- Debian chroots that ship the PostgreSQL versions the host
# (Debian 12, PostgreSQL 15) does not: 17 from trixie, 18 from sid, 19 from
# experimental (on top of sid, installed side by side with 18); and, with
# PO_PG15_IN_CHROOT=1, 15 in a bookworm chroot instead of on the host.
#
#   test/chroot.sh name MAJOR            print the chroot that hosts MAJOR
#   test/chroot.sh ensure NAME           make NAME (or check the cached one)
#   test/chroot.sh run MAJOR CMD...      copy the checkout into MAJOR's
#                                        chroot and run CMD there, in the
#                                        copy, as root, with PO_PG_MAJOR=MAJOR
#
# Chroots live in $PO_CHROOT_CACHE (default /var/cache/pool_observer), one
# directory per suite, made with `debootstrap --variant=minbase` from the
# mirror the host's apt sources use (PO_MIRROR overrides).  The host's own
# apt sources are never touched.  A chroot is reused only when its stamp
# (.pool_observer-complete, written last) matches the hash of its recipe:
# suites, mirror and package set (test/deps.sh --list for each version it
# hosts, plus the packaging and bench tools).  A directory without the base
# stamp (debootstrap interrupted, ...) is deleted and made again; with the
# base stamp but a different package hash, the package step is redone, and
# if that fails the chroot is made again from scratch, once.
#
# Mounts (proc, dev, dev/pts, a fresh tmpfs on dev/shm) are made for each
# `run` or package step and always undone, also on error or interrupt.
# The checkout is copied (rsync) to /srv/pool_observer inside the chroot.
#
# Exit status of `run` is that of CMD; 75 when the chroot could not be made
# (no network to the archive, ...), after a line "CHROOT-UNAVAILABLE: why".

set -uo pipefail
# shellcheck source=test/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

CACHE="${PO_CHROOT_CACHE:-/var/cache/pool_observer}"
# Bump when the way a chroot is made changes: cached chroots are redone.
RECIPE=1

# What each chroot is: its suites (the first is debootstrapped), the
# versions it hosts, and which suite each version's packages come from.
chroot_for() {
	case "$1" in
		15)
			# On the host unless asked: on a machine shared with others who
			# `make install` other builds into the host's PostgreSQL 15,
			# a bookworm chroot keeps this run's installed files its own.
			[ "${PO_PG15_IN_CHROOT:-}" = 1 ] && echo bookworm || return 1
			;;
		17) echo trixie ;;
		18 | 19) echo sid ;;
		*) return 1 ;;
	esac
}
suites_of() {
	case "$1" in
		bookworm) echo "bookworm bookworm-updates" ;;
		trixie) echo "trixie" ;;
		sid) echo "sid experimental" ;;
	esac
}
versions_of() {
	case "$1" in
		bookworm) echo "15" ;;
		trixie) echo "17" ;;
		sid) echo "18 19" ;;
	esac
}
# The suite a version's PostgreSQL packages are installed from ("" = default).
release_of() {
	case "$1" in
		19) echo experimental ;;
		*) echo "" ;;
	esac
}

# Tools the package test and the benchmark need besides test/deps.sh's list.
EXTRA_PACKAGES=(debhelper devscripts lintian
	dpkg-dev fakeroot build-essential postgresql-server-dev-all valgrind)
# Installed when the suite has them (the bench reports their absence).
optional_packages() {
	echo "postgresql-$1-pg-wait-sampling"
}

# The mirror of the host's Debian sources (deb822 or one-line format).
host_mirror() {
	local uri
	uri="$(awk '
		FNR == 1 { uris = "" }
		/^URIs:/ { uris = $2 }
		/^Suites:/ && uris != "" { for (i = 2; i <= NF; i++) if ($i !~ /-security$/) { print uris; exit } }
		/^deb / && $0 !~ /-security/ && $0 ~ /debian/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }
	' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | head -n 1)"
	case "$uri" in
		*debian*) printf '%s\n' "${uri%/}" ;;
		*) echo http://deb.debian.org/debian ;;
	esac
}
MIRROR="${PO_MIRROR:-$(host_mirror)}"

say() { printf 'chroot: %s\n' "$*"; }
unavailable() {
	printf 'CHROOT-UNAVAILABLE: %s\n' "$*"
	exit 75
}

# ---------------------------------------------------------------------------
# Mounts.  MOUNTED lists what we mounted, innermost last.

MOUNTED=()

is_mounted() {
	# /proc/self/mounts escapes spaces as \040; our paths have none.
	awk -v m="$1" '$2 == m { found = 1 } END { exit !found }' /proc/self/mounts
}

# Anything mounted at or under DIR?
mounts_under() {
	awk -v d="$1" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/self/mounts
}

do_mount() {
	local target="$1"
	shift
	mount "$@" "$target" || return 1
	MOUNTED+=("$target")
}

mount_chroot() {
	local root="$1"
	mkdir -p "$root/proc" "$root/dev" || return 1
	do_mount "$root/proc" -t proc proc || return 1
	do_mount "$root/dev" --bind /dev || return 1
	# Private, so the mounts below never propagate to the host's /dev.
	mount --make-private "$root/dev" || return 1
	do_mount "$root/dev/pts" --bind /dev/pts || return 1
	do_mount "$root/dev/shm" -t tmpfs -o mode=1777,nosuid,nodev tmpfs || return 1
}

# Processes whose root directory is inside ROOT (left over by CMD: a server
# that detached).  Only ever processes we started in our chroot.
chroot_pids() {
	local root="$1" p r
	for p in /proc/[0-9]*; do
		r="$(readlink "$p/root" 2>/dev/null)" || continue
		case "$r" in "$root" | "$root"/*) echo "${p#/proc/}" ;; esac
	done
}

umount_chroot() {
	local root="$1" i pids
	[ "${#MOUNTED[@]}" -gt 0 ] || return 0
	pids="$(chroot_pids "$root")"
	if [ -n "$pids" ]; then
		say "stopping processes left in $root: $(echo $pids)"
		# shellcheck disable=SC2086
		kill -TERM $pids 2>/dev/null
		for i in $(seq 1 20); do
			pids="$(chroot_pids "$root")"
			[ -z "$pids" ] && break
			sleep 0.25
		done
		# shellcheck disable=SC2086
		[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
	fi
	for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
		umount "${MOUNTED[$i]}" 2>/dev/null || umount -l "${MOUNTED[$i]}" ||
			po_warn "could not unmount ${MOUNTED[$i]}"
	done
	MOUNTED=()
}

CURRENT_ROOT=
on_exit() {
	[ -n "$CURRENT_ROOT" ] && umount_chroot "$CURRENT_ROOT"
}
trap on_exit EXIT
trap 'echo "chroot: interrupted" >&2; exit 130' INT
trap 'echo "chroot: terminated" >&2; exit 143' TERM

# in_chroot ROOT CMD...: run CMD inside ROOT with a clean environment.
in_chroot() {
	local root="$1"
	shift
	chroot "$root" /usr/bin/env -i \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" DEBIAN_FRONTEND=noninteractive \
		"$@"
}

# ---------------------------------------------------------------------------
# Making a chroot.

package_set() {
	local name="$1" v
	for v in $(versions_of "$name"); do
		PO_PG_MAJOR="$v" bash "$PO_ROOT/test/deps.sh" --list | sed "s|^|$v |"
	done
	for p in "${EXTRA_PACKAGES[@]}"; do echo "- $p"; done
	for v in $(versions_of "$name"); do echo "? $(optional_packages "$v")"; done
}

recipe_hash() {
	local name="$1"
	{
		echo "recipe $RECIPE"
		echo "mirror $MIRROR"
		echo "suites $(suites_of "$name")"
		package_set "$name"
	} | sha256sum | cut -c1-16
}

configure_base() {
	local name="$1" root="$2" first=1 s
	: >"$root/etc/apt/sources.list"
	for s in $(suites_of "$name"); do
		echo "deb $MIRROR $s main" >>"$root/etc/apt/sources.list"
		first=
	done
	[ -z "$first" ] || return 1
	if [ "$name" = bookworm ]; then
		echo "deb ${PO_SECURITY_MIRROR:-http://deb.debian.org/debian-security} bookworm-security main" >>"$root/etc/apt/sources.list"
	fi
	if [ "$name" = sid ]; then
		# sid's Release on the archive snapshot is past its Valid-Until
		# date; signatures are still checked.
		echo 'Acquire::Check-Valid-Until "false";' >"$root/etc/apt/apt.conf.d/99pool-observer-valid-until"
	fi
	cat >"$root/etc/apt/apt.conf.d/99pool-observer" <<-'EOF'
		APT::Install-Recommends "false";
		APT::Install-Suggests "false";
		Acquire::Retries "3";
	EOF
	# No services start in the chroot; no "main" cluster is made on install.
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
	mkdir -p "$root/etc/postgresql-common/createcluster.d"
	echo "create_main_cluster = false" >"$root/etc/postgresql-common/createcluster.d/pool-observer.conf"
	# Without docs and man pages the chroot is smaller and apt faster.
	cat >"$root/etc/dpkg/dpkg.cfg.d/01pool-observer-nodoc" <<-'EOF'
		path-exclude /usr/share/man/*
		path-exclude /usr/share/info/*
		path-exclude /usr/share/locale/*
		path-include /usr/share/locale/locale.alias
	EOF
}

# is_versioned PACKAGE MAJOR: PACKAGE belongs to that PostgreSQL major.
is_versioned() {
	case "$1" in *-"$2" | *-"$2"-*) return 0 ;; *) return 1 ;; esac
}

install_packages() {
	local name="$1" root="$2" v rel pkgs opt p
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
	[ -s "$root/etc/hosts" ] || cp /etc/hosts "$root/etc/hosts"
	in_chroot "$root" apt-get update -q || return 1
	# Everything from the default suite first, except a version's own
	# packages (postgresql-19, ...) when they come from another suite
	# (experimental): those next, with -t so that what they need in that
	# suite (libpq5 19) may come from there too.  Generic tools (perl, git,
	# clang) always come from the default suite.
	pkgs=()
	while read -r v p; do
		[ "$v" = "?" ] && continue
		if [ "$v" != - ] && [ -n "$(release_of "$v")" ] && is_versioned "$p" "$v"; then
			continue
		fi
		case " ${pkgs[*]:-} " in *" $p "*) ;; *) pkgs+=("$p") ;; esac
	done < <(package_set "$name")
	in_chroot "$root" apt-get install -y -q "${pkgs[@]}" </dev/null || return 1
	for v in $(versions_of "$name"); do
		rel="$(release_of "$v")"
		[ -n "$rel" ] || continue
		pkgs=()
		while read -r w p; do
			[ "$w" = "$v" ] && is_versioned "$p" "$v" && pkgs+=("$p")
		done < <(package_set "$name")
		in_chroot "$root" apt-get install -y -q -t "$rel" "${pkgs[@]}" </dev/null || return 1
	done
	for v in $(versions_of "$name"); do
		opt="$(optional_packages "$v")"
		rel="$(release_of "$v")"
		if [ -n "$(in_chroot "$root" apt-cache policy "$opt" 2>/dev/null | sed -n 's/^ *Candidate: //p' | grep -v '(none)')" ]; then
			in_chroot "$root" apt-get install -y -q ${rel:+-t "$rel"} "$opt" </dev/null ||
				say "optional $opt failed to install (ignored)"
		else
			say "optional $opt: not in $(suites_of "$name") (ignored)"
		fi
	done
	in_chroot "$root" apt-get clean
	# Every version's server must be there.
	for v in $(versions_of "$name"); do
		[ -x "$root/usr/lib/postgresql/$v/bin/postgres" ] || {
			say "postgresql-$v is not installed in $root"
			return 1
		}
	done
	[ -z "$(in_chroot "$root" dpkg --audit 2>&1)" ]
}

# make_packages NAME ROOT: the package step, with the chroot mounted.
make_packages() {
	local name="$1" root="$2" rc
	CURRENT_ROOT="$root"
	mount_chroot "$root" || { umount_chroot "$root"; CURRENT_ROOT=; return 1; }
	install_packages "$name" "$root"
	rc=$?
	umount_chroot "$root"
	CURRENT_ROOT=
	return "$rc"
}

remove_chroot() {
	local root="$1"
	if [ -n "$(mounts_under "$root")" ]; then
		po_warn "refusing to delete $root: still mounted: $(mounts_under "$root" | tr '\n' ' ')"
		return 1
	fi
	rm -rf --one-file-system "$root"
}

ensure() {
	local name="$1" root want t0=$SECONDS first
	root="$CACHE/$name"
	[ -n "$(suites_of "$name")" ] || po_die "unknown chroot $name"
	po_is_root || unavailable "making chroots needs root"
	command -v debootstrap >/dev/null || unavailable "debootstrap is not installed (test/deps.sh installs it)"
	mkdir -p "$CACHE" || unavailable "cannot create $CACHE"
	exec 9>"$CACHE/$name.lock"
	flock 9
	want="$(recipe_hash "$name")"
	if [ -f "$root/.pool_observer-complete" ] &&
		[ "$(cat "$root/.pool_observer-complete")" = "$want" ] &&
		in_chroot "$root" /bin/true 2>/dev/null &&
		[ -z "$(in_chroot "$root" dpkg --audit 2>&1)" ]; then
		say "$name: cached in $root (recipe $want)"
		return 0
	fi
	[ -e "$root/.pool_observer-complete" ] && say "$name: stamp does not match the recipe $want: updating"
	rm -f "$root/.pool_observer-complete"
	for first in 1 0; do
		if [ ! -f "$root/.pool_observer-base" ] || ! in_chroot "$root" /bin/true 2>/dev/null; then
			[ -e "$root" ] && say "$name: $root is incomplete or broken: making it again"
			remove_chroot "$root" || unavailable "cannot remove the broken $root"
			remove_chroot "$root.new" || unavailable "cannot remove $root.new"
			say "$name: debootstrap --variant=minbase $(suites_of "$name" | cut -d' ' -f1) from $MIRROR"
			if ! debootstrap --variant=minbase "$(suites_of "$name" | cut -d' ' -f1)" \
				"$root.new" "$MIRROR" >"$CACHE/$name.debootstrap.log" 2>&1; then
				tail -n 20 "$CACHE/$name.debootstrap.log"
				remove_chroot "$root.new"
				unavailable "debootstrap of $name from $MIRROR failed (no network to the archive?)"
			fi
			configure_base "$name" "$root.new" || unavailable "configuring $root.new failed"
			echo "$MIRROR" >"$root.new/.pool_observer-base"
			mv "$root.new" "$root" || unavailable "cannot move $root.new to $root"
			say "$name: base system made ($((SECONDS - t0))s)"
		fi
		say "$name: installing packages"
		if make_packages "$name" "$root" >"$CACHE/$name.packages.log" 2>&1; then
			echo "$want" >"$root/.pool_observer-complete"
			say "$name: ready in $root ($((SECONDS - t0))s)"
			return 0
		fi
		tail -n 30 "$CACHE/$name.packages.log"
		[ "$first" = 1 ] || break
		say "$name: package step failed: making the chroot again from scratch"
		rm -f "$root/.pool_observer-base"
	done
	unavailable "installing packages into $name failed (see $CACHE/$name.packages.log)"
}

# ---------------------------------------------------------------------------
# Running in a chroot.

run() {
	local major="$1" name root rc
	shift
	name="$(chroot_for "$major")" || po_die "no chroot hosts PostgreSQL $major"
	root="$CACHE/$name"
	# Who to signal to stop this run cleanly (test/matrix.sh on Ctrl-C).
	[ -n "${PO_CHROOT_PIDFILE:-}" ] && echo $$ >"$PO_CHROOT_PIDFILE"
	(ensure "$name") || exit $?
	exec 9>"$CACHE/$name.lock"
	flock 9
	# A fresh copy of the checkout, without build products and artifacts
	# (--delete-excluded: objects of the version run before, say 19, must
	# not be linked into a build for 18 by a make without clean).
	mkdir -p "$root/srv/pool_observer"
	rsync -a --delete --delete-excluded \
		--exclude='*.o' --exclude='*.so' --exclude='*.bc' \
		--exclude=/tmp_check --exclude=/tmp_check_regress --exclude=/results \
		--exclude=/log --exclude=/demo --exclude=/regression.diffs \
		--exclude=/regression.out --exclude=/bench/out --exclude=/tmp_matrix \
		"$PO_ROOT/" "$root/srv/pool_observer/" || po_die "rsync into $root failed"
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
	CURRENT_ROOT="$root"
	mount_chroot "$root" || po_die "mounting proc/dev in $root failed"
	local envs=(PO_PG_MAJOR="$major")
	local var
	for var in $(compgen -v | grep -E '^(PO_[A-Z_]*TIMEOUT|PO_KEEP_TMP|POOL_OBSERVER_[A-Z_]*|BENCH_[A-Z_]*|CI)$'); do
		envs+=("$var=${!var}")
	done
	# In the background and waited for, so a signal is handled at once.
	in_chroot "$root" "${envs[@]}" sh -c 'cd /srv/pool_observer && exec "$@"' sh "$@" </dev/null &
	wait "$!"
	rc=$?
	umount_chroot "$root"
	CURRENT_ROOT=
	return "$rc"
}

case "${1:-}" in
	name)
		chroot_for "${2:?major}"
		;;
	ensure)
		ensure "${2:?chroot name}"
		;;
	run)
		shift
		[ $# -ge 2 ] || po_die "usage: test/chroot.sh run MAJOR CMD..."
		run "$@"
		exit $?
		;;
	*)
		sed -n '2,30s/^# \{0,1\}//p' "$0"
		exit 2
		;;
esac
