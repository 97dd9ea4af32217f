#!/usr/bin/env bash
# package-test.sh: build the Debian package the way PostgreSQL extensions
# ship, check it with lintian, install it and use it in a throwaway cluster.
#
#   1. build tools present (installed with apt-get when root and missing);
#   2. copy of the checkout in a temporary directory (the working tree and
#      its parent get nothing: dpkg-buildpackage writes into ..);
#   3. dpkg-buildpackage -us -uc -b (no compiler warning), then the .deb's
#      contents; under `make test` (PO_PG_MAJOR set) for that version only;
#   4. lintian: any E: tag fails;
#   5. as root: dpkg -i, then as user postgres a cluster with its own port
#      and socket directory, pool_observer preloaded: CREATE EXTENSION,
#      SELECT from pool_observer.pools, pool_observer.health reports
#      worker_running (polled until a deadline); the sampling path the
#      worker uses (direct, or the snapshot fallback it logs) is reported;
#   6. cleanup: cluster stopped and removed; the package removed again and
#      any files it replaced (from an earlier `make install`) restored, so
#      the script can run any number of times.  The package stays
#      installed if it was installed before, or with
#      POOL_OBSERVER_KEEP_PACKAGE=1.
#
# Exit 0 pass, 77 skip (a "SKIP: reason" line says why), anything else fail.
# Environment: POOL_OBSERVER_PKG_TIMEOUT (seconds to wait for the worker,
# default 60), POOL_OBSERVER_KEEP_TMP=1 keeps the temporary directory.

set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ext=pool_observer
timeout="${POOL_OBSERVER_PKG_TIMEOUT:-60}"

say() { echo "package-test: $*"; }
skip() {
	echo "SKIP: $*"
	exit 77
}
fail() {
	echo "FAIL: $*"
	exit 1
}

is_root() { [ "$(id -u)" -eq 0 ]; }

#
# 1. Build tools.
#

missing_tools() {
	local t lack=()
	for t in dpkg-buildpackage dpkg-parsechangelog dpkg-deb dh pg_buildext lintian; do
		command -v "$t" >/dev/null 2>&1 || lack+=("$t")
	done
	[ -e /usr/share/perl5/Debian/Debhelper/Sequence/pgxs_loop.pm ] ||
		lack+=("dh-sequence-pgxs_loop (postgresql-server-dev-all)")
	dpkg -s build-essential >/dev/null 2>&1 || lack+=("build-essential")
	echo "${lack[*]}"
}

apt_install() {
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 && return 0
	apt-get update >/dev/null 2>&1 || true
	apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1
}

missing="$(missing_tools)"
if [ -n "$missing" ]; then
	if ! is_root; then
		skip "build tools missing ($missing) and not root to install them"
	fi
	say "installing build tools (missing: $missing)"
	apt_install debhelper devscripts lintian postgresql-server-dev-all \
		dpkg-dev fakeroot build-essential || true
	missing="$(missing_tools)"
	[ -z "$missing" ] || skip "build tools missing and apt-get could not install them: $missing"
fi

#
# 2. A copy of the checkout.
#

tmp="$(mktemp -d /tmp/pool_observer-pkg.XXXXXX)"
src="$tmp/pool-observer"
mkdir "$src"

cluster_dir=""
bindir=""
installed_pkgs=()
restore_tars=()

# shellcheck disable=SC2317  # invoked through trap
cleanup() {
	local rc=$?
	set +e
	if [ -n "$cluster_dir" ] && [ -f "$cluster_dir/data/postmaster.pid" ]; then
		runuser -u postgres -- "$bindir/pg_ctl" -D "$cluster_dir/data" \
			-m immediate -w stop >/dev/null 2>&1
	fi
	[ -n "$cluster_dir" ] && rm -rf "$cluster_dir"
	if [ "${#installed_pkgs[@]}" -gt 0 ]; then
		say "removing ${installed_pkgs[*]} again (POOL_OBSERVER_KEEP_PACKAGE=1 keeps it)"
		dpkg --purge "${installed_pkgs[@]}" >/dev/null 2>&1 ||
			echo "package-test: WARNING: dpkg --purge ${installed_pkgs[*]} failed"
	fi
	for t in "${restore_tars[@]}"; do
		say "restoring the files the package had replaced"
		tar -xpf "$t" -C / ||
			echo "package-test: WARNING: could not restore files from $t"
	done
	if [ "${POOL_OBSERVER_KEEP_TMP:-}" = 1 ]; then
		say "kept $tmp"
	else
		rm -rf "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Tracked and untracked-but-not-ignored files: what a clone plus the work in
# progress would have, without build products (*.o, *.so, tmp_check, ...).
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1 &&
	git -C "$root" ls-files -z --cached --others --exclude-standard >"$tmp/files" 2>/dev/null; then
	(cd "$root" && while IFS= read -r -d '' f; do
		[ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"
	done <"$tmp/files") | tar -C "$root" --null -T - -cf - | tar -C "$src" -xf -
else
	tar -C "$root" --exclude=.git --exclude='*.o' --exclude='*.so' \
		--exclude='*.bc' --exclude=tmp_check --exclude=tmp_check_regress \
		--exclude=results --exclude=log --exclude='debian/.debhelper' \
		--exclude='debian/files' --exclude='debian/*.substvars' \
		--exclude='debian/postgresql-*-pool-observer' \
		--exclude='debian/debhelper-build-stamp' -cf - . | tar -C "$src" -xf -
fi
[ -f "$src/debian/control" ] || fail "debian/control is missing from the copy of $root"

# What the build might leave behind in the working tree, were it to run there.
tree_state() {
	(cd "$root" && find debian -maxdepth 1 -print 2>/dev/null | LC_ALL=C sort
		ls -d build-* 2>/dev/null || true)
}
tree_before="$(tree_state)"

cd "$src"
version="$(dpkg-parsechangelog -S Version)"
arch="$(dpkg --print-architecture)"
# Under `make test` (test/run-all.sh sets PO_PG_MAJOR), the package of the
# version under test only: in a chroot with several majors side by side
# (18 and 19 in sid) each run builds its own.  debian/control of the copy is
# regenerated for that set (the working tree's stays as it is).
if [ -n "${PO_PG_MAJOR:-}" ]; then
	export PG_SUPPORTED_VERSIONS="$PO_PG_MAJOR"
	if ! pg_buildext checkcontrol >/dev/null 2>&1; then
		pg_buildext updatecontrol >/dev/null 2>&1 || fail "pg_buildext updatecontrol failed for $PO_PG_MAJOR"
		say "debian/control of the copy regenerated for PostgreSQL $PO_PG_MAJOR"
	fi
fi
pgversions="$(pg_buildext supported-versions)"
[ -n "$pgversions" ] ||
	skip "no PostgreSQL version in both debian/pgversions and /usr/share/postgresql-common/supported-versions"
for v in $pgversions; do
	if [ ! -x "/usr/lib/postgresql/$v/bin/pg_config" ]; then
		if is_root; then apt_install "postgresql-server-dev-$v" || true; fi
		[ -x "/usr/lib/postgresql/$v/bin/pg_config" ] ||
			skip "postgresql-server-dev-$v is not installed (pg_buildext supported-versions: $pgversions)"
	fi
done
say "building pool-observer $version for PostgreSQL $pgversions ($arch) in $src"

#
# 3. Build.
#

if ! dpkg-buildpackage -us -uc -b >"$tmp/build.log" 2>&1; then
	tail -n 60 "$tmp/build.log"
	fail "dpkg-buildpackage -us -uc -b failed (log above)"
fi
say "dpkg-buildpackage -us -uc -b: ok"
# The package is built with Debian's flags (hardening, -O2 -g), not the
# -Werror of `make test`: its compiler warnings are counted here.
if grep -E '^[^ :]+\.[ch]:[0-9]+(:[0-9]+)?: warning:' "$tmp/build.log"; then
	fail "the package build printed compiler warnings (above)"
fi
say "package build: 0 compiler warnings"

debs=()
for v in $pgversions; do
	pkg="postgresql-$v-pool-observer"
	deb="$tmp/${pkg}_${version}_${arch}.deb"
	[ -f "$deb" ] || fail "$(basename "$deb") was not built; built: $(cd "$tmp" && echo ./*.deb)"
	debs+=("$deb")

	contents="$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|')"
	expect=("/usr/lib/postgresql/$v/lib/$ext.so"
		"/usr/share/postgresql/$v/extension/$ext.control"
		"/usr/share/doc/$pkg/copyright")
	for f in "$src/$ext"--*.sql; do
		expect+=("/usr/share/postgresql/$v/extension/$(basename "$f")")
	done
	for f in "${expect[@]}"; do
		grep -qxF "$f" <<<"$contents" || fail "$(basename "$deb") lacks $f"
	done
	depends="$(dpkg-deb -f "$deb" Depends)"
	grep -q "postgresql-$v" <<<"$depends" ||
		fail "$(basename "$deb") does not depend on postgresql-$v (Depends: $depends)"
	say "$(basename "$deb"): ${#expect[@]} expected files present; Depends: $depends"
done

#
# 4. Lintian.
#

lintian_out="$(lintian --fail-on error "${debs[@]}" 2>&1)" && lintian_rc=0 || lintian_rc=$?
lintian_out="$(grep -v 'running with root privileges is not recommended' <<<"$lintian_out" || true)"
[ -n "$lintian_out" ] && printf '%s\n' "$lintian_out" | sed 's/^/lintian: /'
if [ "$lintian_rc" -ne 0 ] || grep -q '^E: ' <<<"$lintian_out"; then
	fail "lintian reports errors"
fi
say "lintian: no errors ($(grep -c '^W: ' <<<"$lintian_out" || true) warnings)"

if [ "$(tree_state)" != "$tree_before" ]; then
	fail "the build changed the working tree $root (debian/ or build-*)"
fi

#
# 5. Install and use.
#

if ! is_root; then
	echo "SKIP: install part (dpkg -i, cluster check) needs root; build and lintian passed"
	exit 0
fi
id postgres >/dev/null 2>&1 || {
	echo "SKIP: install part: no 'postgres' user to run the cluster as; build and lintian passed"
	exit 0
}

for i in "${!debs[@]}"; do
	deb="${debs[$i]}"
	pkg="$(dpkg-deb -f "$deb" Package)"
	if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed'; then
		say "$pkg was already installed: upgrading it in place and leaving it installed"
	elif [ "${POOL_OBSERVER_KEEP_PACKAGE:-}" = 1 ]; then
		say "$pkg will stay installed (POOL_OBSERVER_KEEP_PACKAGE=1)"
	else
		# Files of an earlier `make install` at the same paths: keep a copy
		# to put back once the package is removed again.
		list="$tmp/replaced-files-$i.list"
		dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $6}' | sed 's|^\./||' |
			while read -r f; do [ -e "/$f" ] && printf '%s\n' "$f"; done \
				>"$list" || true
		if [ -s "$list" ]; then
			restore_tars+=("$tmp/replaced-files-$i.tar")
			tar -C / -cpf "$tmp/replaced-files-$i.tar" -T "$list"
			say "$(wc -l <"$list") files from an earlier install will be replaced (saved)"
		fi
		installed_pkgs+=("$pkg")
	fi
	if ! dpkg -i "$deb" >"$tmp/install.log" 2>&1; then
		# Missing dependencies: let apt fetch them and finish configuring.
		if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -f >>"$tmp/install.log" 2>&1; then
			tail -n 30 "$tmp/install.log"
			fail "dpkg -i $(basename "$deb") failed"
		fi
	fi
	dpkg-query -W -f='${Status}' "$pkg" | grep -q 'ok installed' ||
		fail "$pkg is not installed after dpkg -i"
	if ! verify="$(dpkg --verify "$pkg" 2>&1)" || [ -n "$verify" ]; then
		printf '%s\n' "$verify"
		fail "dpkg --verify $pkg reports changed files"
	fi
	say "dpkg -i $(basename "$deb"): ok"
done

default_version="$(sed -n "s/^[[:space:]]*default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" "$src/$ext.control")"

for v in $pgversions; do
	bindir="/usr/lib/postgresql/$v/bin"
	if [ ! -x "$bindir/postgres" ]; then
		echo "SKIP: cluster check for PostgreSQL $v: postgresql-$v is not installed"
		continue
	fi
	cluster_dir="$(mktemp -d "/tmp/pool_observer-pkg-pg$v.XXXXXX")"
	chown postgres: "$cluster_dir"
	port=$((50000 + ($$ + v) % 10000))

	as_pg() { (cd "$cluster_dir" && runuser -u postgres -- "$@"); }
	psql_q() {
		as_pg "$bindir/psql" -X -A -t -q -v ON_ERROR_STOP=1 \
			-h "$cluster_dir" -p "$port" -d postgres -c "$1"
	}
	server_log() {
		echo "--- server log (last 40 lines) ---"
		tail -n 40 "$cluster_dir/server.log" 2>/dev/null || true
	}

	as_pg "$bindir/initdb" -D "$cluster_dir/data" -U postgres -A trust \
		-E UTF8 --locale=C --no-sync >"$tmp/initdb-$v.log" 2>&1 || {
		cat "$tmp/initdb-$v.log"
		fail "initdb for PostgreSQL $v failed"
	}
	cat >>"$cluster_dir/data/postgresql.conf" <<-EOF
		# package-test.sh
		listen_addresses = ''
		port = $port
		unix_socket_directories = '$cluster_dir'
		shared_preload_libraries = '$ext'
		fsync = off
	EOF
	as_pg "$bindir/pg_ctl" -D "$cluster_dir/data" -l "$cluster_dir/server.log" \
		-w -t 60 start >/dev/null || {
		server_log
		fail "PostgreSQL $v with $ext preloaded did not start"
	}
	say "PostgreSQL $v cluster on socket $cluster_dir port $port: started"

	out="$(psql_q "CREATE EXTENSION $ext" 2>&1)" || {
		echo "$out"
		server_log
		fail "CREATE EXTENSION $ext failed on PostgreSQL $v"
	}
	got="$(psql_q "SELECT extversion FROM pg_extension WHERE extname = '$ext'")"
	[ "$got" = "$default_version" ] ||
		fail "CREATE EXTENSION installed version '$got', control says '$default_version'"
	got="$(psql_q "SELECT count(*) >= 0 FROM $ext.pools" 2>&1)" || true
	[ "$got" = t ] || {
		echo "$got"
		server_log
		fail "SELECT count(*) >= 0 FROM $ext.pools did not return true"
	}
	say "CREATE EXTENSION $ext (version $default_version); SELECT count(*) >= 0 FROM $ext.pools: ok"

	deadline=$((SECONDS + timeout))
	running=""
	while :; do
		running="$(psql_q "SELECT worker_running FROM $ext.health" 2>&1)" || true
		[ "$running" = t ] && break
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "last answer: $running"
			server_log
			fail "$ext.health did not report worker_running = true within ${timeout}s"
		fi
		sleep 0.5
	done
	say "$ext.health: worker_running = true"

	# Which sampling path the worker took: it logs when it falls back to the
	# snapshot interface (the status array could not be attached).
	server_version="$(psql_q "SHOW server_version")"
	method="$(psql_q "SHOW $ext.sampling_method")"
	if grep -q "$ext sampler uses the slower backend status snapshot" "$cluster_dir/server.log"; then
		path=snapshot
	elif [ "$method" = direct ]; then
		path=direct
	else
		path="$method"
	fi
	say "PostgreSQL $server_version (pg$v) sampling path: $path"

	as_pg "$bindir/pg_ctl" -D "$cluster_dir/data" -m fast -w stop >/dev/null ||
		fail "PostgreSQL $v did not stop"
	rm -rf "$cluster_dir"
	cluster_dir=""
done

say "PASS: built, lintian-clean, installed and working: $(for d in "${debs[@]}"; do basename "$d"; done | tr '\n' ' ')"
exit 0
