# Copyright (c) 2026, pool_observer developers
#
# 053_privileges.pl
#	  Nobody can do more through pool_observer than the built-ins allow.
#
#  - A plain role: no view, no function, no reset; it cannot load the
#	 library or wrap its C functions either.
#  - A pg_monitor member reads every view and may sample, but cannot
#	 terminate, cancel or reset.
#  - A pg_signal_backend member cannot read the views, and cannot terminate
#	 or cancel a superuser's session through the functions (the session is
#	 not returned and carries on untouched); it can act on ordinary roles'
#	 sessions, without seeing their queries.  A role granted EXECUTE by hand
#	 can act on its own sessions only, as with pg_terminate_backend().
#  - A role granted SELECT on sessions by hand sees queries only where
#	 pg_stat_activity shows them.  reset() is refused to a non-superuser
#	 even with EXECUTE granted.
#  - Functions and operators planted in public and in an attacker's schema
#	 placed first in search_path (now, clock_timestamp, age,
#	 pg_blocking_pids, "-" for timestamps, "=" for text, a fake
#	 pg_stat_activity) change nothing the views and functions return, are
#	 never executed, also when planted before CREATE EXTENSION.
#  - CREATE EXTENSION refuses a pre-existing pool_observer schema owned by
#	 an ordinary role.
#  - The catalog: no SECURITY DEFINER function without a pinned search_path,
#	 nothing granted to PUBLIC.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PoTest;

my $node = PostgreSQL::Test::Cluster->new('privileges');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pool_observer'
pool_observer.sample_interval = 100
pool_observer.idle_in_transaction_threshold = 200
log_statement = none
});
$node->start;
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION pool_observer;
CREATE ROLE regress_plain LOGIN;
CREATE ROLE regress_mon LOGIN IN ROLE pg_monitor;
CREATE ROLE regress_sig LOGIN IN ROLE pg_signal_backend;
CREATE ROLE regress_victim LOGIN;
CREATE ROLE regress_grantee LOGIN;
CREATE ROLE regress_reset LOGIN;
CREATE ROLE regress_attacker LOGIN;
CREATE TABLE regress_locked (i int);
});

sub as_role
{
	my ($role, $sql, $db) = @_;
	return $node->psql($db // 'postgres', $sql, extra_params => [ '-U', $role ]);
}

sub denied
{
	my ($role, $sql, $re, $name, $db) = @_;
	my ($ret, $out, $err) = as_role($role, $sql, $db);
	isnt($ret, 0, "$name: refused");
	like($err, $re, "$name: permission denied");
	return;
}

my @views = qw(sessions pools pool_history server_history events health worker);
my @functions = (
	'sample_now()', 'reset()',
	q{terminate_idle_in_transaction('1 s')}, q{cancel_slow_statements('1 s')},
	'_assert_loaded()', '_pools_1_0()',
	'_pool_history_1_0()', '_server_history_1_0()',
	'_events_1_0()', '_health_1_0()',
	'_worker_1_0()');

#
# A plain role: nothing.
#
foreach my $v (@views)
{
	denied('regress_plain', "SELECT * FROM pool_observer.$v",
		qr/permission denied for schema pool_observer/, "plain: view $v");
}
foreach my $f (@functions)
{
	denied('regress_plain', "SELECT * FROM pool_observer.$f",
		qr/permission denied for schema pool_observer/, "plain: function $f");
}
denied('regress_plain', q{LOAD 'pool_observer'},
	qr/access to library "pool_observer" is not allowed/, 'plain: LOAD');
denied(
	'regress_plain',
	q{CREATE FUNCTION pg_temp.my_reset() RETURNS void AS '$libdir/pool_observer', 'po_reset_1_0' LANGUAGE c},
	qr/permission denied for language c/,
	'plain: wrapping a C function');

#
# pg_monitor: reads, samples, cannot act.
#
foreach my $v (@views)
{
	my ($ret, $out, $err) =
	  as_role('regress_mon', "SELECT count(*) >= 0 FROM pool_observer.$v");
	is("$ret:$out", '0:t', "pg_monitor: reads $v") or diag($err);
}
my ($ret, $out, $err) =
  as_role('regress_mon', 'SELECT pool_observer.sample_now() IS NOT NULL');
is("$ret:$out", '0:t', 'pg_monitor: sample_now()') or diag($err);
foreach my $f ('terminate_idle_in_transaction', 'cancel_slow_statements')
{
	denied('regress_mon', "SELECT * FROM pool_observer.$f('1 s')",
		qr/permission denied for function $f/, "pg_monitor: $f");
	denied('regress_mon', "SELECT * FROM pool_observer.$f('1 s', true)",
		qr/permission denied for function $f/, "pg_monitor: $f dry run");
}
denied('regress_mon', 'SELECT pool_observer.reset()',
	qr/permission denied for function reset/, 'pg_monitor: reset()');

#
# pg_signal_backend: cannot read, cannot touch superusers.
#
denied('regress_sig', 'SELECT * FROM pool_observer.events',
	qr/permission denied for view events/, 'pg_signal_backend: events view');
denied('regress_sig', 'SELECT pool_observer.sample_now()',
	qr/permission denied for function sample_now/, 'pg_signal_backend: sample_now()');

# Superuser sessions: one idle in a repeatable-read transaction (it holds
# an xmin), one in a long statement, a lock holder and a waiter.
my $su_idle = open_session($node,
	"BEGIN ISOLATION LEVEL REPEATABLE READ;\nSELECT count(*) FROM pg_class;",
	app => 'su_idle');
my $su_slow =
  open_session($node, 'SELECT pg_sleep(300);', app => 'su_slow', wait => 0);
my $holder = open_session($node,
	"BEGIN;\nLOCK TABLE regress_locked IN ACCESS EXCLUSIVE MODE;",
	app => 'su_holder');
my $waiter =
  open_session($node, 'SELECT * FROM regress_locked;', app => 'su_waiter', wait => 0);
# Ordinary sessions.
my $v_idle = open_session($node, "BEGIN;\nSELECT 'victim secret';",
	user => 'regress_victim', app => 'victim_idle');
my $v_slow = open_session($node, 'SELECT pg_sleep(300);',
	user => 'regress_victim', app => 'victim_slow', wait => 0);

ok( $node->poll_query_until(
		'postgres', qq{
SELECT count(*) = 3 FROM pg_stat_activity
 WHERE (pid IN ($su_slow->{pid}, $v_slow->{pid}) AND state = 'active' AND query LIKE 'SELECT pg_sleep%')
    OR (pid = $waiter->{pid} AND wait_event_type = 'Lock')}),
	'sessions in place');

my $su_state_before = $node->safe_psql(
	'postgres', qq{
SELECT string_agg(pid || ':' || state || ':' || coalesce(state_change::text, ''), ',' ORDER BY pid)
  FROM pg_stat_activity WHERE pid IN ($su_idle->{pid}, $su_slow->{pid}, $holder->{pid}, $waiter->{pid})});

($ret, $out, $err) = as_role(
	'regress_sig', q{
SELECT string_agg(pid::text, ',') FROM pool_observer.terminate_idle_in_transaction('1 ms', true);
SELECT string_agg(pid::text, ',') FROM pool_observer.cancel_slow_statements('1 ms', true);});
is($out, "$v_idle->{pid}\n$v_slow->{pid}",
	'pg_signal_backend: dry run lists only the ordinary sessions') or diag($err);
($ret, $out, $err) = as_role(
	'regress_sig', q{
SELECT pid || ':' || done || ':' || query
  FROM pool_observer.terminate_idle_in_transaction('1 ms') ORDER BY pid});
is($ret, 0, 'pg_signal_backend: terminate_idle_in_transaction() runs') or diag($err);
is($out, "$v_idle->{pid}:true:<insufficient privilege>",
	'pg_signal_backend: only the ordinary session terminated, its query hidden');
($ret, $out, $err) = as_role(
	'regress_sig', q{
SELECT pid || ':' || done FROM pool_observer.cancel_slow_statements('1 ms') ORDER BY pid});
is($out, "$v_slow->{pid}:true", 'pg_signal_backend: only the ordinary statement cancelled');

ok( $node->poll_query_until(
		'postgres', qq{
SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $v_idle->{pid}}),
	'pg_signal_backend: the ordinary idle session is gone');
ok( $node->poll_query_until(
		'postgres', qq{
SELECT state = 'idle' FROM pg_stat_activity WHERE pid = $v_slow->{pid}}),
	'pg_signal_backend: the ordinary statement was cancelled');
is( $node->safe_psql(
		'postgres', qq{
SELECT string_agg(pid || ':' || state || ':' || coalesce(state_change::text, ''), ',' ORDER BY pid)
  FROM pg_stat_activity WHERE pid IN ($su_idle->{pid}, $su_slow->{pid}, $holder->{pid}, $waiter->{pid})}),
	$su_state_before,
	'pg_signal_backend: superuser sessions untouched');
is( $node->safe_psql(
		'postgres', qq{
SELECT count(*) FROM pool_observer.events
 WHERE pid IN ($su_idle->{pid}, $su_slow->{pid}, $holder->{pid}, $waiter->{pid})
   AND action <> 'none'}),
	0,
	'pg_signal_backend: no action recorded on superuser sessions');

# EXECUTE granted by hand, without pg_signal_backend: own sessions only.
# (A view's functions run with the caller's rights: granting the sessions
# view by hand takes the functions it calls, _assert_loaded() and, since
# 1.1, _client_backends_1_1().)
$node->safe_psql(
	'postgres', q{
GRANT USAGE ON SCHEMA pool_observer TO regress_grantee, regress_reset;
GRANT EXECUTE ON FUNCTION pool_observer.terminate_idle_in_transaction(interval, boolean),
                          pool_observer._assert_loaded(),
                          pool_observer._client_backends_1_1()
   TO regress_grantee;
GRANT SELECT ON pool_observer.sessions TO regress_grantee;
GRANT EXECUTE ON FUNCTION pool_observer.reset() TO regress_reset;});
my $v_idle2 = open_session($node, "BEGIN;\nSELECT 2;",
	user => 'regress_victim', app => 'victim_idle2');
my $g_idle = open_session($node, "BEGIN;\nSELECT 3;",
	user => 'regress_grantee', app => 'grantee_idle');
($ret, $out, $err) = as_role(
	'regress_grantee', q{
SELECT pid || ':' || done || ':' || query
  FROM pool_observer.terminate_idle_in_transaction('1 ms') ORDER BY pid});
is($out, "$g_idle->{pid}:true:SELECT 3;",
	'EXECUTE granted by hand: only its own session, as pg_terminate_backend()')
  or diag($err);
is( $node->safe_psql(
		'postgres', "SELECT state FROM pg_stat_activity WHERE pid = $v_idle2->{pid}"),
	'idle in transaction',
	"EXECUTE granted by hand: another role's session untouched");

# SELECT on sessions granted by hand: queries as pg_stat_activity shows them.
($ret, $out, $err) = as_role(
	'regress_grantee', qq{
SELECT bool_and(s.query IS NOT DISTINCT FROM a.query),
       count(*) FILTER (WHERE s.pid = $su_idle->{pid} AND s.query <> '<insufficient privilege>')
  FROM pool_observer.sessions s JOIN pg_stat_activity a USING (pid)});
is($out, 't|0',
	'sessions granted by hand: no query the caller may not see in pg_stat_activity')
  or diag($err);

# reset(): superusers only, even with EXECUTE granted.
($ret, $out, $err) =
  as_role('regress_reset', "\\set VERBOSITY verbose\nSELECT pool_observer.reset()");
like($err, qr/ERROR:  42501: permission denied to reset pool_observer/,
	'reset() refused to a non-superuser granted EXECUTE');
cmp_ok($node->safe_psql('postgres', 'SELECT count(*) FROM pool_observer.events'),
	'>', 0, 'reset() refused: events kept');

#
# Planted functions and operators.
#
sub plant
{
	my ($db, $schema) = @_;
	my $sql = '';
	foreach my $f (
		[ 'now()', 'timestamptz', q{'2000-01-01'} ],
		[ 'clock_timestamp()', 'timestamptz', q{'2000-01-01'} ],
		[ 'statement_timestamp()', 'timestamptz', q{'2000-01-01'} ],
		[ 'age(xid)', 'integer', '-666' ],
		[ 'pg_blocking_pids(integer)', 'integer[]', q{'{666}'} ],
		[ 'pg_backend_pid()', 'integer', '666' ],
		[ 'evil_minus(timestamptz, timestamptz)', 'interval', q{'-666 years'} ],
		[ 'evil_eq(text, text)', 'boolean', 'true' ],
		[ 'evil_eq(name, text)', 'boolean', 'true' ],
		[ 'evil_eq(name, name)', 'boolean', 'true' ])
	{
		my ($sig, $type, $value) = @$f;
		$sql .= qq{
CREATE FUNCTION $schema.$sig RETURNS $type LANGUAGE plpgsql AS \$\$
BEGIN
    INSERT INTO attacker.calls (fn) VALUES ('$schema.$sig');
    RETURN $value;
END\$\$;};
	}
	$sql .= qq{
CREATE OPERATOR $schema.- (LEFTARG = timestamptz, RIGHTARG = timestamptz,
                           FUNCTION = $schema.evil_minus);
CREATE OPERATOR $schema.= (LEFTARG = text, RIGHTARG = text, FUNCTION = $schema.evil_eq);
CREATE OPERATOR $schema.= (LEFTARG = name, RIGHTARG = text, FUNCTION = $schema.evil_eq);
CREATE OPERATOR $schema.= (LEFTARG = name, RIGHTARG = name, FUNCTION = $schema.evil_eq);
CREATE VIEW $schema.pg_stat_activity AS SELECT * FROM pg_catalog.pg_stat_activity WHERE false;
};
	my ($r, $o, $e) = as_role('regress_attacker', $sql, $db);
	is($r, 0, "planted in $schema of $db") or diag($e);
	return;
}

sub prepare_attack
{
	my ($db) = @_;
	$node->safe_psql(
		$db, q{
GRANT CREATE ON SCHEMA public TO regress_attacker;
CREATE SCHEMA attacker AUTHORIZATION regress_attacker;
GRANT USAGE ON SCHEMA attacker TO PUBLIC;
CREATE TABLE attacker.calls (fn text, caller name DEFAULT current_user);
ALTER TABLE attacker.calls OWNER TO regress_attacker;
GRANT INSERT ON attacker.calls TO PUBLIC;});
	plant($db, 'public');
	plant($db, 'attacker');
	return;
}

prepare_attack('postgres');

# What the monitoring role sees, under a clean and under a hostile
# search_path; the results are compared with clean operators afterwards.
# (The checking session's own state_change is later than its now(): its
# own ages can be slightly negative, as with pg_stat_activity.)
my $checks = qq{
SELECT (SELECT count(*) FROM r WHERE xact_start IS NOT NULL) > 1
   AND (SELECT bool_and(xact_age >= interval '0' AND xact_age < interval '1 hour')
          FROM r WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid())
   AND (SELECT bool_and(state_age >= interval '0' AND state_age < interval '1 hour')
          FROM r WHERE state_change IS NOT NULL AND pid <> pg_backend_pid()),
       (SELECT count(*) FROM r) = (SELECT count(*) FROM pg_catalog.pg_stat_activity
                                    WHERE backend_type = 'client backend'),
       (SELECT blocked_by FROM r WHERE pid = $waiter->{pid}) = ARRAY[$holder->{pid}],
       (SELECT xmin_age FROM r WHERE pid = $su_idle->{pid}) BETWEEN 0 AND 100000,
       (SELECT count(*) FROM r WHERE blocked_by <> '{}') = 1,
       (SELECT sum(connections) FROM p) BETWEEN
           (SELECT count(*) FROM r) - 2 AND (SELECT count(*) FROM r) + 2,
       (SELECT worker_running AND connections > 0 FROM h),
       (SELECT count(*) FROM e WHERE kind = 'lock_wait') >= 0};
my $expect = 't|t|t|t|t|t|t|t';

foreach my $path ('"$user", public', 'attacker, pg_catalog, public', 'public, attacker')
{
	# polled: the backend of the previous connection may still be exiting
	# when this one samples, and be gone when it counts
	my $deadline = time + 30;
	do
	{
		($ret, $out, $err) = as_role(
			'regress_mon', qq{
SET search_path = $path;
SELECT pool_observer.sample_now() IS NOT NULL;
CREATE TEMP TABLE r AS SELECT * FROM pool_observer.sessions;
CREATE TEMP TABLE p AS SELECT * FROM pool_observer.pools;
CREATE TEMP TABLE h AS SELECT * FROM pool_observer.health;
CREATE TEMP TABLE e AS SELECT * FROM pool_observer.events;
CREATE TEMP TABLE w AS SELECT * FROM pool_observer.worker;
CREATE TEMP TABLE x AS SELECT (SELECT count(*) FROM pool_observer.pool_history) AS a,
                              (SELECT count(*) FROM pool_observer.server_history) AS b;
RESET search_path;
$checks});
	} until ($ret != 0 || $out eq "t\n$expect" || time > $deadline);
	is($ret, 0, "search_path = $path: views readable") or diag($err);
	is($out, "t\n$expect", "search_path = $path: views return true values");
}

# A superuser calling the functions with a hostile search_path.
is( $node->safe_psql(
		'postgres', q{
SET search_path = attacker, pg_catalog, public;
SELECT count(*) FROM pool_observer.terminate_idle_in_transaction('1 year');
SELECT count(*) FROM pool_observer.cancel_slow_statements('1 year', true);
SELECT pool_observer.sample_now() IS NOT NULL;}),
	"0\n0\nt",
	'functions with a hostile search_path');

is($node->safe_psql('postgres', 'SELECT count(*) FROM attacker.calls'),
	0, 'no planted function or operator was ever executed');

# Planted before CREATE EXTENSION, with the hostile schema first.
$node->safe_psql('postgres', 'CREATE DATABASE regress_preplanted');
prepare_attack('regress_preplanted');
$node->safe_psql(
	'regress_preplanted', q{
SET search_path = attacker, public;
CREATE EXTENSION pool_observer;});
($ret, $out, $err) = as_role(
	'regress_mon', qq{
SET search_path = attacker, pg_catalog, public;
CREATE TEMP TABLE r AS SELECT * FROM pool_observer.sessions;
CREATE TEMP TABLE p AS SELECT * FROM pool_observer.pools;
CREATE TEMP TABLE h AS SELECT * FROM pool_observer.health;
CREATE TEMP TABLE e AS SELECT * FROM pool_observer.events;
RESET search_path;
$checks},
	'regress_preplanted');
is($out, $expect, 'planted before CREATE EXTENSION: views return true values')
  or diag($err);
is($node->safe_psql('regress_preplanted', 'SELECT count(*) FROM attacker.calls'),
	0, 'planted before CREATE EXTENSION: never executed');

#
# A pool_observer schema squatted by an ordinary role.
#
$node->safe_psql('postgres',
	'CREATE DATABASE regress_squat; GRANT CREATE ON DATABASE regress_squat TO regress_attacker');
($ret, $out, $err) = as_role(
	'regress_attacker', q{
CREATE SCHEMA pool_observer;
CREATE FUNCTION pool_observer.terminate_idle_in_transaction(text)
RETURNS SETOF integer LANGUAGE sql AS $$ALTER ROLE regress_attacker SUPERUSER; SELECT 1$$;},
	'regress_squat');
is($ret, 0, 'squat: schema pool_observer created by an ordinary role') or diag($err);
($ret, $out, $err) = $node->psql('regress_squat',
	"\\set VERBOSITY verbose\nCREATE EXTENSION pool_observer");
isnt($ret, 0, 'squat: CREATE EXTENSION refused');
like($err,
	qr/ERROR:  42501: schema "pool_observer" must be owned by a superuser\nDETAIL:  It is owned by role regress_attacker/,
	'squat: clear message naming the owner');
$node->safe_psql('regress_squat',
	'DROP SCHEMA pool_observer CASCADE; CREATE EXTENSION pool_observer');
is( $node->safe_psql(
		'regress_squat',
		q{SELECT r.rolsuper FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner WHERE nspname = 'pool_observer'}
	),
	't',
	'squat: after dropping it, the extension creates its own schema');
denied('regress_attacker',
	'CREATE FUNCTION pool_observer.x() RETURNS int LANGUAGE sql AS $$SELECT 1$$',
	qr/permission denied for schema pool_observer/,
	'squat: the new schema takes no objects from others', 'regress_squat');
is($node->safe_psql('postgres',
		q{SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_attacker'}),
	'f', 'the attacker never became superuser');

#
# The catalog.
#
is( $node->safe_psql(
		'postgres', q{
WITH members AS (
    SELECT d.classid, d.objid FROM pg_depend d JOIN pg_extension x ON x.oid = d.refobjid
     WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
       AND x.extname = 'pool_observer')
SELECT (SELECT count(*) FROM members WHERE classid = 'pg_proc'::regclass) > 0,
       (SELECT count(*) FROM pg_proc p JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
         WHERE p.prosecdef
           AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%')),
       (SELECT count(*) FROM pg_proc p JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid,
               aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
         WHERE a.grantee = 0),
       (SELECT count(*) FROM pg_class c JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid,
               aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
         WHERE a.grantee = 0),
       (SELECT count(*) FROM pg_namespace n, aclexplode(n.nspacl) a
         WHERE n.nspname = 'pool_observer' AND a.grantee = 0)}),
	't|0|0|0|0',
	'catalog: no SECURITY DEFINER without search_path, nothing for PUBLIC');

foreach my $s ($su_idle, $su_slow, $holder, $waiter, $v_idle, $v_slow, $v_idle2, $g_idle)
{
	eval { $s->{run}->kill_kill };
}
$node->stop;
done_testing();
