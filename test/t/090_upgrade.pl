# Copyright (c) 2026, pool_observer developers
#
# 090_upgrade.pl
#	  An updated installation must be indistinguishable from a fresh one.
#
# The versions come from the scripts in the repository root:
# pool_observer--X.Y.sql installs X.Y, pool_observer--A--B.sql updates A to B.
# For every installable version older than default_version (the oldest one
# included), database "from_<version>" gets CREATE EXTENSION ... VERSION
# '<version>' followed by ALTER EXTENSION ... UPDATE, and its catalog snapshot
# of the extension must equal the one of a fresh CREATE EXTENSION in database
# "fresh": members, function signatures and properties, view columns and
# definitions, owners, comments and ACLs.  While only one version exists that
# comparison is skipped, and the fresh install is still checked against the
# contract in INTERFACE.md: the documented views, columns and functions exist,
# no SECURITY DEFINER function lacks a pinned search_path, nothing in the
# schema is granted to PUBLIC, and the documented roles hold their grants.
#
# Needs the extension installed (make install) for the PostgreSQL whose
# binaries are first in PATH (make installcheck puts pg_config's bindir there).

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Spec;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $ext = 'pool_observer';
my $root = abs_path(File::Spec->catdir(dirname(__FILE__), '..', '..'));

#
# What the repository says: default_version and the scripts.
#

my $control_file = "$root/$ext.control";
open(my $cfh, '<', $control_file) or die "could not open $control_file: $!";
my ($default_version);
while (my $line = <$cfh>)
{
	$default_version = $1
	  if $line =~ /^\s*default_version\s*=\s*'([^']+)'/;
}
close($cfh);
die "no default_version in $control_file" unless defined $default_version;

my (%install_script, %update_script, %repo_versions);
opendir(my $dh, $root) or die "could not open $root: $!";
foreach my $file (sort readdir($dh))
{
	next unless $file =~ /^\Q$ext\E--(.+)\.sql$/;
	my @parts = split /--/, $1;
	if (@parts == 1)
	{
		$install_script{ $parts[0] } = $file;
		$repo_versions{ $parts[0] } = 1;
	}
	elsif (@parts == 2)
	{
		$update_script{"$parts[0]--$parts[1]"} = $file;
		$repo_versions{$_} = 1 foreach @parts;
	}
	else
	{
		die "unexpected script name $file";
	}
}
closedir($dh);

# Numeric where both parts are numbers: 1.9 < 1.10.
sub version_cmp
{
	my @a = split /\./, $_[0];
	my @b = split /\./, $_[1];
	while (@a || @b)
	{
		my $x = shift(@a) // '';
		my $y = shift(@b) // '';
		my $c =
		  ($x =~ /^\d+$/ && $y =~ /^\d+$/) ? ($x <=> $y) : ($x cmp $y);
		return $c if $c;
	}
	return 0;
}

my @repo_versions = sort { version_cmp($a, $b) } keys %repo_versions;
note "repository scripts: ",
  join(', ', sort(values %install_script), sort(values %update_script));
note "default_version: $default_version";

ok(exists $repo_versions{$default_version},
	"a script for default_version $default_version is in the repository");

#
# The server.
#

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = '$ext'\n");
$node->start;

my $available_default = $node->safe_psql('postgres',
	"SELECT default_version FROM pg_available_extensions WHERE name = '$ext'"
);
is($available_default, $default_version,
	'installed control file has the repository default_version');

my %available = map { $_ => 1 } split /\n/,
  $node->safe_psql('postgres',
	"SELECT version FROM pg_available_extension_versions WHERE name = '$ext'"
  );
my @missing = grep { !$available{$_} } @repo_versions;
is_deeply(\@missing, [],
	'every version in the repository is installed (else run make install)');

# Installable: PostgreSQL lists versions that have an install script or can
# be reached from one through update scripts.
my @older =
  grep { $available{$_} && version_cmp($_, $default_version) < 0 }
  @repo_versions;
note "installable versions older than $default_version: ",
  (@older ? join(', ', @older) : 'none');

#
# Catalog snapshot of the extension, one sorted text line per fact.
#
my $snapshot_sql = <<'SQL';
WITH ext AS (
    SELECT oid, extnamespace FROM pg_catalog.pg_extension
     WHERE extname = 'pool_observer'
), members AS (
    SELECT d.classid, d.objid, d.objsubid
      FROM pg_catalog.pg_depend d, ext
     WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
       AND d.refobjid = ext.oid
       AND d.deptype = 'e'
), procs AS (
    SELECT p.* FROM pg_catalog.pg_proc p, ext
     WHERE p.pronamespace = ext.extnamespace
        OR p.oid IN (SELECT objid FROM members
                      WHERE classid = 'pg_catalog.pg_proc'::pg_catalog.regclass)
), rels AS (
    SELECT c.* FROM pg_catalog.pg_class c, ext
     WHERE (c.relnamespace = ext.extnamespace AND c.relkind <> 'i')
        OR c.oid IN (SELECT objid FROM members
                      WHERE classid = 'pg_catalog.pg_class'::pg_catalog.regclass)
), lines(line) AS (
    SELECT pg_catalog.format('extension version=%s schema=%s relocatable=%s config=%s condition=%s',
                  e.extversion, e.extnamespace::pg_catalog.regnamespace,
                  e.extrelocatable, e.extconfig::pg_catalog.regclass[],
                  e.extcondition)
      FROM pg_catalog.pg_extension e WHERE e.extname = 'pool_observer'
    UNION ALL
    SELECT 'member ' OPERATOR(pg_catalog.||)
           pg_catalog.pg_describe_object(classid, objid, objsubid)
      FROM members
    UNION ALL
    SELECT pg_catalog.format('schema %s owner=%s acl=%s comment=%s',
                  n.nspname, n.nspowner::pg_catalog.regrole,
                  (SELECT pg_catalog.string_agg(a, ',' ORDER BY a)
                     FROM (SELECT pg_catalog.format('%s=%s%s/%s',
                                      CASE WHEN x.grantee = 0 THEN 'PUBLIC'
                                           ELSE x.grantee::pg_catalog.regrole::text END,
                                      x.privilege_type,
                                      CASE WHEN x.is_grantable THEN '*' ELSE '' END,
                                      x.grantor::pg_catalog.regrole) AS a
                             FROM pg_catalog.aclexplode(COALESCE(n.nspacl,
                                      pg_catalog.acldefault('n', n.nspowner))) x) s),
                  pg_catalog.obj_description(n.oid, 'pg_namespace'))
      FROM pg_catalog.pg_namespace n, ext WHERE n.oid = ext.extnamespace
    UNION ALL
    SELECT pg_catalog.format('function %s args=(%s) result=%s kind=%s language=%s volatility=%s strict=%s security_definer=%s leakproof=%s parallel=%s config=%s src=%s bin=%s cost=%s rows=%s owner=%s acl=%s comment=%s',
                  p.oid::pg_catalog.regprocedure,
                  pg_catalog.pg_get_function_arguments(p.oid),
                  pg_catalog.pg_get_function_result(p.oid),
                  p.prokind, l.lanname, p.provolatile, p.proisstrict,
                  p.prosecdef, p.proleakproof, p.proparallel, p.proconfig,
                  p.prosrc, p.probin, p.procost, p.prorows,
                  p.proowner::pg_catalog.regrole,
                  (SELECT pg_catalog.string_agg(a, ',' ORDER BY a)
                     FROM (SELECT pg_catalog.format('%s=%s%s/%s',
                                      CASE WHEN x.grantee = 0 THEN 'PUBLIC'
                                           ELSE x.grantee::pg_catalog.regrole::text END,
                                      x.privilege_type,
                                      CASE WHEN x.is_grantable THEN '*' ELSE '' END,
                                      x.grantor::pg_catalog.regrole) AS a
                             FROM pg_catalog.aclexplode(COALESCE(p.proacl,
                                      pg_catalog.acldefault('f', p.proowner))) x) s),
                  pg_catalog.obj_description(p.oid, 'pg_proc'))
      FROM procs p JOIN pg_catalog.pg_language l ON l.oid = p.prolang
    UNION ALL
    SELECT pg_catalog.format('relation %s kind=%s owner=%s options=%s acl=%s comment=%s',
                  c.oid::pg_catalog.regclass, c.relkind,
                  c.relowner::pg_catalog.regrole, c.reloptions,
                  (SELECT pg_catalog.string_agg(a, ',' ORDER BY a)
                     FROM (SELECT pg_catalog.format('%s=%s%s/%s',
                                      CASE WHEN x.grantee = 0 THEN 'PUBLIC'
                                           ELSE x.grantee::pg_catalog.regrole::text END,
                                      x.privilege_type,
                                      CASE WHEN x.is_grantable THEN '*' ELSE '' END,
                                      x.grantor::pg_catalog.regrole) AS a
                             FROM pg_catalog.aclexplode(COALESCE(c.relacl,
                                      pg_catalog.acldefault(
                                          (CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END)::pg_catalog."char",
                                          c.relowner))) x) s),
                  pg_catalog.obj_description(c.oid, 'pg_class'))
      FROM rels c
    UNION ALL
    SELECT pg_catalog.format('viewdef %s %s', c.oid::pg_catalog.regclass,
                  pg_catalog.pg_get_viewdef(c.oid, true))
      FROM rels c WHERE c.relkind IN ('v', 'm')
    UNION ALL
    SELECT pg_catalog.format('index %s on %s: %s', i.indexrelid::pg_catalog.regclass,
                  c.oid::pg_catalog.regclass, pg_catalog.pg_get_indexdef(i.indexrelid))
      FROM rels c JOIN pg_catalog.pg_index i ON i.indrelid = c.oid
    UNION ALL
    SELECT pg_catalog.format('column %s.%s position=%s type=%s notnull=%s default=%s acl=%s comment=%s',
                  c.oid::pg_catalog.regclass, a.attname,
                  pg_catalog.row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum),
                  pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
                  pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), a.attacl,
                  pg_catalog.col_description(c.oid, a.attnum))
      FROM rels c
      JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
      LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
     WHERE a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT pg_catalog.format('type %s kind=%s owner=%s comment=%s',
                  t.oid::pg_catalog.regtype, t.typtype, t.typowner::pg_catalog.regrole,
                  pg_catalog.obj_description(t.oid, 'pg_type'))
      FROM pg_catalog.pg_type t
     WHERE t.oid IN (SELECT objid FROM members
                      WHERE classid = 'pg_catalog.pg_type'::pg_catalog.regclass)
)
SELECT pg_catalog.replace(line, E'\n', '\n') FROM lines
 ORDER BY line COLLATE "C";
SQL

sub snapshot
{
	my ($db) = @_;
	return [ split /\n/, $node->safe_psql($db, $snapshot_sql) ];
}

sub extversion
{
	my ($db) = @_;
	return $node->safe_psql($db,
		"SELECT extversion FROM pg_extension WHERE extname = '$ext'");
}

#
# The contract from INTERFACE.md.  More objects and columns may exist; none
# of these may disappear.
#
my %contract_views = (
	sessions => [
		qw(pid datname usename application_name client_addr state
		  wait_event_type wait_event backend_start xact_start query_start
		  state_change xact_age state_age query_age query_id query blocked_by)
	],
	pools => [
		qw(datname usename application_name client_addr connections active
		  idle idle_in_transaction waiting utilization saturated_since
		  max_xact_age max_idle_in_transaction_age max_query_age
		  new_connections_per_s)
	],
	pool_history => [
		qw(bucket_start datname usename application_name client_addr samples
		  connections_avg connections_max active_avg active_max
		  idle_in_transaction_max waiting_max utilization_avg utilization_max
		  new_connections)
	],
	server_history => [
		qw(bucket_start connections_avg connections_max max_connections
		  utilization_max active_max idle_in_transaction_max waiting_max
		  new_connections)
	],
	events => [
		qw(id kind detected_at ended_at duration pid datname usename
		  application_name client_addr query_id query blocked_pids action
		  action_at detail)
	],
	health => [
		qw(status reasons connections max_connections utilization
		  saturated_pools idle_in_transaction_sessions slow_statements
		  last_sample_at worker_running)
	],
	worker => [
		qw(pid started_at samples last_sample_at sample_us_avg sample_us_max
		  events_total events_dropped history_overwritten actions_taken
		  actions_suppressed)
	],
);
my @action_functions = (
	"$ext.terminate_idle_in_transaction(interval,boolean)",
	"$ext.cancel_slow_statements(interval,boolean)");
my @contract_functions =
  ("$ext.sample_now()", "$ext.reset()", @action_functions);
my @action_result_columns = qw(pid usename application_name age query done);

sub check_contract
{
	my ($db) = @_;

	is( $node->safe_psql(
			$db,
			"SELECT extnamespace::regnamespace FROM pg_extension WHERE extname = '$ext'"
		),
		$ext,
		"$db: extension lives in schema $ext");

	my %member_views = map { $_ => 1 } split /\n/, $node->safe_psql(
		$db, qq{
		SELECT c.relname FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
		 WHERE d.classid = 'pg_class'::regclass AND d.deptype = 'e'
		   AND d.refclassid = 'pg_extension'::regclass
		   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = '$ext')
		   AND c.relkind = 'v' AND c.relnamespace = '$ext'::regnamespace});
	my %member_functions = map { $_ => 1 } split /\n/, $node->safe_psql(
		$db, qq{
		SELECT d.objid::regprocedure FROM pg_depend d
		 WHERE d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
		   AND d.refclassid = 'pg_extension'::regclass
		   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = '$ext')});

	my @missing_views =
	  grep { !$member_views{$_} } sort keys %contract_views;
	is_deeply(\@missing_views, [], "$db: documented views are members");
	my @missing_functions =
	  grep { !$member_functions{$_} } @contract_functions;
	is_deeply(\@missing_functions, [],
		"$db: documented functions are members");

	foreach my $view (sort keys %contract_views)
	{
		next unless $member_views{$view};
		my %cols = map { $_ => 1 } split /\n/, $node->safe_psql(
			$db, qq{
			SELECT attname FROM pg_attribute
			 WHERE attrelid = '$ext.$view'::regclass
			   AND attnum > 0 AND NOT attisdropped});
		my @missing = grep { !$cols{$_} } @{ $contract_views{$view} };
		is_deeply(\@missing, [], "$db: $ext.$view has the documented columns");
	}
	foreach my $func (@action_functions)
	{
		next unless $member_functions{$func};
		my %cols = map { $_ => 1 } split /\n/, $node->safe_psql(
			$db, qq{
			SELECT n FROM pg_proc p,
			       unnest(p.proargnames, p.proargmodes) AS a(n, m)
			 WHERE p.oid = '$func'::regprocedure AND m IN ('o', 't', 'b')});
		my @missing = grep { !$cols{$_} } @action_result_columns;
		is_deeply(\@missing, [], "$db: $func returns the documented columns");
	}

	# Every member object that lives in a schema lives in ours.
	is( $node->safe_psql(
			$db, qq{
			SELECT string_agg(pg_describe_object(d.classid, d.objid, d.objsubid), ', ')
			  FROM pg_depend d, pg_identify_object(d.classid, d.objid, d.objsubid) i
			 WHERE d.deptype = 'e' AND d.refclassid = 'pg_extension'::regclass
			   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = '$ext')
			   AND i.schema IS NOT NULL AND i.schema <> '$ext'}),
		'',
		"$db: no member object outside schema $ext");

	is( $node->safe_psql(
			$db, qq{
			SELECT string_agg(oid::regprocedure::text, ', ')
			  FROM pg_proc
			 WHERE pronamespace = '$ext'::regnamespace AND prosecdef
			   AND NOT coalesce((SELECT bool_or(c LIKE 'search\\_path=%')
			                       FROM unnest(proconfig) c), false)}),
		'',
		"$db: no SECURITY DEFINER function without a pinned search_path");

	# NULL ACLs mean the defaults, which for functions include PUBLIC.
	is( $node->safe_psql(
			$db, qq{
			SELECT string_agg(o || ': ' || x.privilege_type, ', ' ORDER BY o, x.privilege_type)
			  FROM (SELECT 'schema ' || nspname AS o,
			               coalesce(nspacl, acldefault('n', nspowner)) AS acl
			          FROM pg_namespace WHERE nspname = '$ext'
			        UNION ALL
			        SELECT 'function ' || oid::regprocedure,
			               coalesce(proacl, acldefault('f', proowner))
			          FROM pg_proc WHERE pronamespace = '$ext'::regnamespace
			        UNION ALL
			        SELECT 'relation ' || oid::regclass,
			               coalesce(relacl, acldefault((CASE WHEN relkind = 'S'
			                                               THEN 's' ELSE 'r' END)::"char",
			                                          relowner))
			          FROM pg_class WHERE relnamespace = '$ext'::regnamespace
			        UNION ALL
			        SELECT 'column ' || attrelid::regclass || '.' || attname, attacl
			          FROM pg_attribute
			         WHERE attacl IS NOT NULL
			           AND attrelid IN (SELECT oid FROM pg_class
			                             WHERE relnamespace = '$ext'::regnamespace)
			       ) objs, aclexplode(objs.acl) x
			 WHERE x.grantee = 0}),
		'',
		"$db: nothing in schema $ext is granted to PUBLIC");

	# INTERFACE.md, Privileges: pg_monitor reads, pg_signal_backend acts,
	# reset() stays with its owner.
	my @views = map { "$ext.$_" } grep { $member_views{$_} } sort keys %contract_views;
	my $view_list = join(',', map { "'$_'" } @views) || 'NULL';
	is( $node->safe_psql(
			$db, qq{
			SELECT string_agg(v, ', ') FROM unnest(ARRAY[$view_list]::text[]) v
			 WHERE NOT has_table_privilege('pg_monitor', v, 'SELECT')}),
		'',
		"$db: pg_monitor can read the documented views");
	is( $node->safe_psql(
			$db, "SELECT has_schema_privilege('pg_monitor', '$ext', 'USAGE')"),
		't',
		"$db: pg_monitor has USAGE on schema $ext");
	foreach my $func (@action_functions)
	{
		next unless $member_functions{$func};
		is( $node->safe_psql(
				$db,
				"SELECT has_function_privilege('pg_signal_backend', '$func', 'EXECUTE')"
			),
			't',
			"$db: pg_signal_backend may execute $func");
	}
	if ($member_functions{"$ext.reset()"})
	{
		is( $node->safe_psql(
				$db, qq{
				SELECT string_agg(x.grantee::regrole::text, ', ')
				  FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) x
				 WHERE p.oid = '$ext.reset()'::regprocedure
				   AND x.grantee <> p.proowner}),
			'',
			"$db: $ext.reset() is granted to nobody but its owner");
	}
	return;
}

#
# Fresh install of the default version.
#

$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', "CREATE EXTENSION $ext");
is(extversion('fresh'), $default_version,
	"fresh: CREATE EXTENSION installs default_version $default_version");
my $fresh = snapshot('fresh');
note "fresh install snapshot:\n", join("\n", @$fresh);
check_contract('fresh');

# ALTER EXTENSION ... UPDATE on the newest version is a no-op.
$node->safe_psql('fresh', "ALTER EXTENSION $ext UPDATE");
is_deeply(snapshot('fresh'), $fresh,
	'fresh: ALTER EXTENSION UPDATE at default_version changes nothing');

#
# Every older version, the oldest included: update, then compare.
#

SKIP:
{
	skip "only version $default_version exists; the update comparison runs "
	  . "once a $ext--$default_version--<next>.sql script is added", 1
	  unless @older;

	note "oldest installable version: $older[0]";
	foreach my $from (@older)
	{
		(my $db = "from_$from") =~ s/[^A-Za-z0-9_]/_/g;

		my $path = $node->safe_psql(
			'postgres', qq{
			SELECT path FROM pg_extension_update_paths('$ext')
			 WHERE source = '$from' AND target = '$default_version'});
		isnt($path, '',
			"an update path $from -> $default_version exists ($path)");

		$node->safe_psql('postgres', "CREATE DATABASE $db");
		$node->safe_psql($db, "CREATE EXTENSION $ext VERSION '$from'");
		is(extversion($db), $from, "$db: CREATE EXTENSION VERSION '$from'");

		$node->safe_psql($db, "ALTER EXTENSION $ext UPDATE");
		is(extversion($db), $default_version,
			"$db: ALTER EXTENSION UPDATE reaches $default_version");

		my $updated = snapshot($db);
		is_deeply($updated, $fresh,
			"$db: catalog after update from $from equals a fresh install")
		  or diag_snapshot_diff($fresh, $updated);
		check_contract($db);

		# Objects an update script created outside the extension would
		# survive DROP EXTENSION.
		$node->safe_psql($db, "DROP EXTENSION $ext");
		is( $node->safe_psql(
				$db, qq{
				SELECT string_agg(o, ', ') FROM (
				    SELECT oid::regprocedure::text AS o FROM pg_proc
				     WHERE pronamespace::regnamespace::text = '$ext'
				    UNION ALL
				    SELECT oid::regclass::text FROM pg_class
				     WHERE relnamespace::regnamespace::text = '$ext') s}),
			'',
			"$db: DROP EXTENSION leaves nothing behind in schema $ext");
	}
}

sub diag_snapshot_diff
{
	my ($want, $got) = @_;
	my %w = map { $_ => 1 } @$want;
	my %g = map { $_ => 1 } @$got;
	diag "only in fresh install:   $_" foreach grep { !$g{$_} } @$want;
	diag "only in updated install: $_" foreach grep { !$w{$_} } @$got;
	return;
}

$node->stop;

done_testing();
