# Copyright (c) 2026, pool_observer developers
#
# 011_actions.pl
#	  Actions and their safety rules, each with a session that dies or
#	  lives by it.  Target sessions use a non-superuser role (regress_app).
#
#  (a) idle_in_transaction_terminate_after: the leaked session is killed
#	   (event action 'terminated', not before the threshold), its client
#	   sees the termination, worker.actions_taken counts it, the action is
#	   logged.  Detection of idle_in_transaction is disabled meanwhile: the
#	   action threshold alone opens the episode.
#  (b) dry_run: 'would_terminate', the session lives.
#  (c) exempt_roles with odd spacing and quotes, exempt_applications with a
#	   quoted name: 'exempt', the sessions live; matching is exact and
#	   case-sensitive (an application differing only in case is killed).
#  (d) a superuser session is 'exempt' by default; with act_on_superusers
#	   its next episode is terminated.
#  (e) terminate_only_blockers: a leaked session blocking nobody lives
#	   (action 'none') past the threshold; the one blocking another session
#	   is killed and the blocked one proceeds; once the setting is off the
#	   other one is killed too.
#  (f) max_actions_per_minute = 2, six leaked sessions: exactly two die, four
#	   are 'suppressed' (worker.actions_suppressed + 4) and stay alive within
#	   the minute; a higher limit lets the suppressed ones be acted on.
#	   Dry-run actions count against the limit too.
#  (g) slow_statement_cancel_after: pg_sleep(30) is cancelled, the client
#	   gets 'canceling statement due to user request', the session lives.
#  (h) long_transaction_terminate_after kills a transaction that is busy
#	   (not idle), so only that rule can have done it.
#  (i) terminate_idle_in_transaction() and cancel_slow_statements(): dry run
#	   and real, events recorded, argument errors with their SQLSTATEs,
#	   per-target permission checks (pg_signal_backend cannot touch a
#	   superuser's session, sees no query text), no EXECUTE for pg_monitor
#	   or other roles, views readable by pg_monitor only.
#  (j) not tested: that a reused pid is never signalled.  The re-check runs
#	   in the same sample, microseconds after the decision, and no client
#	   can make a session end or change inside that window on demand, so a
#	   'failed' action cannot be produced deterministically.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PoTest;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('actions');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pool_observer'
pool_observer.sample_interval = 100
pool_observer.max_actions_per_minute = 1000
});
$node->start;
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION pool_observer;
CREATE ROLE regress_app LOGIN;
CREATE ROLE regress_exempt LOGIN;
CREATE ROLE regress_signal LOGIN IN ROLE pg_signal_backend;
CREATE ROLE regress_monitor LOGIN IN ROLE pg_monitor;
CREATE ROLE regress_nobody LOGIN;
CREATE TABLE t (id int PRIMARY KEY, v int);
INSERT INTO t VALUES (1, 0);
GRANT SELECT, UPDATE ON t TO regress_app;
});
my $mon = $node->background_psql('postgres');

# Is the session's backend there and does it answer?
sub alive
{
	my ($s) = @_;
	return 0
	  unless $mon->query_safe(
		"SELECT count(*) FROM pg_stat_activity WHERE pid = $s->{pid}") eq '1';
	return run_in($s, "SELECT 'alive';") =~ /^alive$/m ? 1 : 0;
}

# Wait until the session's backend has gone and its psql has exited.
# Returns true if both happened within 30 s.
sub gone
{
	my ($s) = @_;
	my $deadline = time + 30;

	until ($mon->query_safe(
			"SELECT count(*) FROM pg_stat_activity WHERE pid = $s->{pid}") eq
		  '0')
	{
		return 0 if time > $deadline;
		usleep(50_000);
	}
	# a psql waiting for a result exits by itself; an idle one notices at
	# its next command
	my $poke_at = time + 1;
	while ($s->{run}->pumpable && time < $deadline)
	{
		if (defined $poke_at && time > $poke_at)
		{
			$s->{stdin} .= "SELECT 1;\n";
			undef $poke_at;
		}
		# writing to a psql that has just exited fails: drop the input
		eval { $s->{run}->pump_nb; };
		$s->{stdin} = '' if $@;
		usleep(20_000);
	}
	return 0 if $s->{run}->pumpable;
	eval { $s->{run}->finish; };
	return 1;
}

sub event_sql
{
	my ($kind, $s, $cols) = @_;
	return
	  "SELECT $cols FROM pool_observer.events WHERE kind = '$kind' AND pid = $s->{pid} ORDER BY id";
}

my $terminated_re =
  qr/terminating connection due to administrator command/;

#
# (a) idle_in_transaction_terminate_after
#
set_conf(
	$node, $mon,
	q{pool_observer.idle_in_transaction_terminate_after = 1000
pool_observer.idle_in_transaction_threshold = -1});
my ($taken0, $suppressed0) = worker_row($mon, 'actions_taken, actions_suppressed');
my $log_offset = -s $node->logfile;
my $a = leak($node, "SELECT 'leaked';", app => 'act_a', user => 'regress_app');
my $a2 = session($node, app => 'act_a2', user => 'regress_app');
run_in($a2, "BEGIN;\nSELECT 1/0;");
is( poll_sample(
		$mon,
		event_sql(
			'idle_in_transaction', $a,
			q{action, action_at >= started_at + interval '1 s', usename}),
		'terminated|t|regress_app'),
	'terminated|t|regress_app',
	'(a) leaked session terminated, not before the threshold');
ok(gone($a), '(a) the backend and its client are gone');
is( poll_sample(
		$mon,
		event_sql('idle_in_transaction', $a2, 'action'), 'terminated'),
	'terminated',
	'(a) a session idle in an aborted transaction is terminated too');
ok(gone($a2), '(a) and gone');
my ($taken, $suppressed) = worker_row($mon, 'actions_taken, actions_suppressed');
is($taken, $taken0 + 2, '(a) worker.actions_taken counts the signals');
set_conf($node, $mon, 'pool_observer.idle_in_transaction_threshold = 30000');
like($a->{stderr}, $terminated_re, '(a) the client saw the termination');
$node->wait_for_log(
	qr/pool_observer action: id=\d+ kind=idle_in_transaction action=terminated pid=$a->{pid} datname="postgres" usename="regress_app" application_name="act_a" /,
	$log_offset);
pass('(a) the action is logged');

#
# (b) dry_run
#
set_conf($node, $mon, 'pool_observer.dry_run = on');
my $b = leak($node, "SELECT 'leaked';", app => 'act_b', user => 'regress_app');
is( poll_sample(
		$mon,
		event_sql(
			'idle_in_transaction', $b,
			q{action, detail LIKE '%dry_run%'}),
		'would_terminate|t'),
	'would_terminate|t',
	'(b) dry run: would_terminate');
$mon->query_safe('SELECT pool_observer.sample_now()') for 1 .. 5;
ok(alive($b), '(b) dry run: the session lives');
is((worker_row($mon, 'actions_taken, actions_suppressed'))[0], $taken, '(b) dry run: no signal counted');
$b->quit;
set_conf($node, $mon, 'pool_observer.dry_run = off');

#
# (c) exempt_roles, exempt_applications
#
set_conf(
	$node, $mon,
	q{pool_observer.exempt_roles = ' "regress_exempt" , other'
pool_observer.exempt_applications = 'Act_C2, "act c3"'});
my $c1 = leak($node, "SELECT 'leaked';", app => 'act_c1', user => 'regress_exempt');
my $c2 = leak($node, "SELECT 'leaked';", app => 'act_c2', user => 'regress_app');
my $c3 = leak($node, "SELECT 'leaked';", app => 'act c3', user => 'regress_app');
is( poll_sample(
		$mon,
		q{
SELECT application_name, action,
       coalesce(substring(detail FROM 'exempt_[a-z]+'), '-')
  FROM pool_observer.events
 WHERE kind = 'idle_in_transaction'
   AND application_name IN ('act_c1', 'act_c2', 'act c3')
 ORDER BY 1},
		"act c3|exempt|exempt_applications\nact_c1|exempt|exempt_roles\nact_c2|terminated|-"
	),
	"act c3|exempt|exempt_applications\nact_c1|exempt|exempt_roles\nact_c2|terminated|-",
	'(c) exempt role and application; exact, case-sensitive matching');
ok(gone($c2), '(c) the session not exempt (case differs) is gone');
$mon->query_safe('SELECT pool_observer.sample_now()') for 1 .. 5;
ok(alive($c1), '(c) the exempt role\'s session lives');
ok(alive($c3), '(c) the exempt application\'s session lives');
$c1->quit;
$c3->quit;
set_conf(
	$node, $mon,
	q{pool_observer.exempt_roles = ''
pool_observer.exempt_applications = ''});

#
# (d) superusers
#
my $d = leak($node, "SELECT 'leaked';", app => 'act_d', user => 'postgres');
is( poll_sample(
		$mon,
		event_sql(
			'idle_in_transaction', $d,
			q{action, detail LIKE '%superuser%'}),
		'exempt|t'),
	'exempt|t',
	'(d) a superuser session is exempt by default');
$mon->query_safe('SELECT pool_observer.sample_now()') for 1 .. 5;
ok(alive($d), '(d) the superuser session lives');
set_conf($node, $mon, 'pool_observer.act_on_superusers = on');
run_in($d, "COMMIT;\nBEGIN;\nSELECT 'leaked again';");
is( poll_sample(
		$mon,
		event_sql('idle_in_transaction', $d, 'action'),
		"exempt\nterminated"),
	"exempt\nterminated",
	'(d) act_on_superusers = on: the next episode is terminated');
ok(gone($d), '(d) the superuser session is gone');
set_conf($node, $mon, 'pool_observer.act_on_superusers = off');

#
# (e) terminate_only_blockers
#
set_conf($node, $mon, 'pool_observer.terminate_only_blockers = on');
my $lone = leak($node, "SELECT 'leaked';", app => 'act_e_lone', user => 'regress_app');
my $holder = session($node, app => 'act_e_holder', user => 'regress_app');
run_in($holder, "BEGIN;\nUPDATE t SET v = v + 1 WHERE id = 1;");
is( poll_sample(
		$mon,
		qq{
SELECT count(*) FROM pool_observer.events
 WHERE kind = 'idle_in_transaction' AND pid IN ($lone->{pid}, $holder->{pid})
   AND action = 'none' AND last_seen_at >= started_at + interval '2 s'},
		'2'),
	'2',
	'(e) sessions blocking nobody are left alone past the threshold');
is( $mon->query_safe(
		"SELECT state FROM pg_stat_activity WHERE pid = $lone->{pid}"),
	'idle in transaction',
	'(e) the session blocking nobody lives');
ok( $mon->query_safe(
		"SELECT count(*) FROM pg_stat_activity WHERE pid = $holder->{pid}")
	  eq '1',
	'(e) the future blocker lives while it blocks nobody');
my $waiter = session($node, app => 'act_e_waiter', user => 'regress_app');
start_in($waiter, 'UPDATE t SET v = v + 10 WHERE id = 1;');
is( poll_sample(
		$mon,
		event_sql('idle_in_transaction', $holder, 'action'), 'terminated'),
	'terminated',
	'(e) the session blocking another one is terminated');
ok(gone($holder), '(e) the blocker is gone');
is(run_in($waiter, 'SELECT v FROM t WHERE id = 1;'),
	"10\n", '(e) the blocked session proceeded');
$mon->query_safe('SELECT pool_observer.sample_now()') for 1 .. 5;
is( $mon->query_safe(
		event_sql('idle_in_transaction', $lone, 'action')),
	'none',
	'(e) the session blocking nobody is still not acted on');
ok( $mon->query_safe(
		"SELECT count(*) FROM pg_stat_activity WHERE pid = $lone->{pid}")
	  eq '1',
	'(e) and it lives');
set_conf($node, $mon, 'pool_observer.terminate_only_blockers = off');
is( poll_sample(
		$mon,
		event_sql('idle_in_transaction', $lone, 'action'),
		'terminated'),
	'terminated',
	'(e) terminate_only_blockers = off: now it is terminated');
ok(gone($lone), '(e) and gone');
$waiter->quit;

#
# (f) max_actions_per_minute
#
# The window of past actions lives in shared memory: it survives reloads and
# sampler restarts, and a lowered limit counts the actions already in it
# (060_rules.pl item 3).  Only a server restart empties it, so each part
# below starts from a restart: the actions of (a)-(e) are not in its window.
sub fresh_rate_window
{
	$mon->quit;
	$node->restart;
	$mon = $node->background_psql('postgres');
	$mon->query_safe('SELECT pool_observer.sample_now()');
	return;
}

fresh_rate_window();
set_conf($node, $mon, 'pool_observer.max_actions_per_minute = 2');
($taken0, $suppressed0) = worker_row($mon, 'actions_taken, actions_suppressed');
my @leaks = map { leak($node, "SELECT 'leaked';", app => 'act_f', user => 'regress_app') } 1 .. 6;
my $pids = join(',', map { $_->{pid} } @leaks);
my $started = time;
my $f_sql = qq{
SELECT count(*) FILTER (WHERE action = 'terminated'),
       count(*) FILTER (WHERE action = 'suppressed'
                          AND detail LIKE '%max_actions_per_minute%')
  FROM pool_observer.events
 WHERE kind = 'idle_in_transaction' AND pid IN ($pids)};
is(poll_sample($mon, $f_sql, '2|4'), '2|4',
	'(f) two terminated, four suppressed');
my $alive_sql =
  "SELECT count(*) FROM pg_stat_activity WHERE pid IN ($pids)";
is(poll_sample($mon, $alive_sql, '4'), '4', '(f) exactly two sessions died');
($taken, $suppressed) = worker_row($mon, 'actions_taken, actions_suppressed');
is($taken - $taken0, 2, '(f) worker.actions_taken + 2');
is($suppressed - $suppressed0, 4, '(f) worker.actions_suppressed + 4');
# more samples within the minute: no further action
my $until = time + 3;
$mon->query_safe('SELECT pool_observer.sample_now()') while time < $until;
is($mon->query_safe($f_sql), '2|4', '(f) no further action within the minute');
is($mon->query_safe($alive_sql), '4', '(f) the suppressed sessions live');
cmp_ok(time - $started, '<', 50, '(f) all of this within the minute');
set_conf($node, $mon, 'pool_observer.max_actions_per_minute = 1000');
is(poll_sample($mon, $f_sql, '6|0'), '6|0',
	'(f) with a higher limit the suppressed sessions are acted on');
is(poll_sample($mon, $alive_sql, '0'), '0', '(f) and are gone');
foreach my $s (@leaks)
{
	eval { $s->{run}->kill_kill; };
}

# dry-run actions take slots of the limit as well
fresh_rate_window();
set_conf(
	$node, $mon,
	q{pool_observer.max_actions_per_minute = 2
pool_observer.dry_run = on});
@leaks = map { leak($node, "SELECT 'leaked';", app => 'act_f2', user => 'regress_app') } 1 .. 3;
$pids = join(',', map { $_->{pid} } @leaks);
is( poll_sample(
		$mon,
		qq{
SELECT count(*) FILTER (WHERE action = 'would_terminate'),
       count(*) FILTER (WHERE action = 'suppressed')
  FROM pool_observer.events
 WHERE kind = 'idle_in_transaction' AND pid IN ($pids)}, '2|1'),
	'2|1',
	'(f) dry run: two would_terminate, the third suppressed');
is( $mon->query_safe(
		"SELECT count(*) FROM pg_stat_activity WHERE pid IN ($pids)"),
	'3',
	'(f) dry run: all three live');
$_->quit foreach @leaks;
set_conf(
	$node, $mon,
	q{pool_observer.max_actions_per_minute = 1000
pool_observer.dry_run = off});

#
# (g) slow_statement_cancel_after
#
set_conf($node, $mon, 'pool_observer.slow_statement_cancel_after = 1000');
my $g = session($node, app => 'act_g', user => 'regress_app');
start_in($g, "SELECT pg_sleep(30);\n\\echo __finished__");
is( poll_sample(
		$mon,
		event_sql(
			'slow_statement', $g,
			q{action, action_at >= started_at + interval '1 s'}),
		'cancelled|t'),
	'cancelled|t',
	'(g) the slow statement is cancelled, not before the threshold');
$g->query_until(qr/__finished__/, '');
like(
	$g->{stderr},
	qr/canceling statement due to user request/,
	'(g) the client got the cancel');
ok(alive($g), '(g) the session lives');
$g->quit;
set_conf(
	$node, $mon,
	q{pool_observer.slow_statement_cancel_after = 0
pool_observer.idle_in_transaction_terminate_after = 0});

#
# (h) long_transaction_terminate_after
#
set_conf($node, $mon, 'pool_observer.long_transaction_terminate_after = 2000');
my $h = session($node, app => 'act_h', user => 'regress_app');
start_in($h, "BEGIN;\nSELECT pg_sleep(30);");
is( poll_sample(
		$mon,
		event_sql(
			'long_transaction', $h,
			q{action, action_at >= started_at + interval '2 s'}),
		'terminated|t'),
	'terminated|t',
	'(h) the long transaction is terminated, not before the threshold');
ok(gone($h), '(h) the session is gone');
like($h->{stderr}, $terminated_re, '(h) the client saw the termination');
set_conf($node, $mon, 'pool_observer.long_transaction_terminate_after = 0');

#
# (i) on-demand functions
#
# wait until the sessions' state is older than $secs
sub wait_state_age
{
	my ($secs, @s) = @_;
	my $pids = join(',', map { $_->{pid} } @s);
	return $node->poll_query_until('postgres',
		"SELECT count(*) = "
		  . scalar(@s)
		  . " FROM pg_stat_activity WHERE pid IN ($pids) AND now() - state_change > interval '$secs s'"
	);
}

my $i1 = leak($node, "SELECT 'leaked';", app => 'act_i1', user => 'regress_app');
ok(wait_state_age(1.2, $i1), '(i) a session idle in transaction for 1 s');
is( $mon->query_safe(
		q{SELECT count(*) FROM pool_observer.terminate_idle_in_transaction('1 hour') WHERE application_name = 'act_i1'}
	),
	'0',
	'(i) older_than: a younger session is not touched');
is( $mon->query_safe(
		q{SELECT pid, usename, application_name, age >= interval '1 s', query, done FROM pool_observer.terminate_idle_in_transaction('1 second', true) WHERE application_name = 'act_i1'}
	),
	"$i1->{pid}|regress_app|act_i1|t|SELECT 'leaked';|f",
	'(i) terminate_idle_in_transaction dry run returns the session, done = false'
);
ok(alive($i1), '(i) dry run: the session lives');
ok(wait_state_age(1.2, $i1), '(i) idle in transaction again for 1 s');
is( $mon->query_safe(
		q{SELECT pid, done FROM pool_observer.terminate_idle_in_transaction('1 second') WHERE application_name = 'act_i1'}
	),
	"$i1->{pid}|t",
	'(i) terminate_idle_in_transaction returns the session, done = true');
ok(gone($i1), '(i) the session is gone');
is( $mon->query_safe(
		event_sql(
			'idle_in_transaction', $i1,
			q{action, detail, ended_at IS NOT NULL})),
	"would_terminate|on demand by postgres (dry run)|t\nterminated|on demand by postgres|t",
	'(i) both calls are recorded as events');

my $i2 = session($node, app => 'act_i2', user => 'regress_app');
start_in($i2, "SELECT pg_sleep(30);\n\\echo __finished__");
ok( $node->poll_query_until(
		'postgres',
		"SELECT now() - query_start > interval '1.2 s' FROM pg_stat_activity WHERE pid = $i2->{pid}"
	),
	'(i) a statement running for 1 s');
is( $mon->query_safe(
		q{SELECT pid, done FROM pool_observer.cancel_slow_statements('1 second', true) WHERE application_name = 'act_i2'}
	),
	"$i2->{pid}|f",
	'(i) cancel_slow_statements dry run: done = false');
is( $mon->query_safe(
		"SELECT state FROM pg_stat_activity WHERE pid = $i2->{pid}"),
	'active',
	'(i) dry run: the statement still runs');
is( $mon->query_safe(
		q{SELECT pid, done FROM pool_observer.cancel_slow_statements('1 second') WHERE application_name = 'act_i2'}
	),
	"$i2->{pid}|t",
	'(i) cancel_slow_statements: done = true');
$i2->query_until(qr/__finished__/, '');
like(
	$i2->{stderr},
	qr/canceling statement due to user request/,
	'(i) the statement was cancelled');
ok(alive($i2), '(i) the cancelled session lives');
$i2->quit;

# argument errors
foreach my $case (
	[ q{terminate_idle_in_transaction(NULL)}, '22004', '"older_than" must not be null' ],
	[ q{terminate_idle_in_transaction('1 s', NULL)}, '22004', '"dry_run" must not be null' ],
	[ q{terminate_idle_in_transaction('-1 s')}, '22023', '"older_than" must be greater than zero' ],
	[ q{terminate_idle_in_transaction('0')}, '22023', '"older_than" must be greater than zero' ],
	[ q{terminate_idle_in_transaction('1 mon -40 days')}, '22023', '"older_than" must be greater than zero' ],
	[ q{terminate_idle_in_transaction('10 years')}, '22023', '"older_than" must be at most one year' ],
	[ q{cancel_slow_statements(NULL, true)}, '22004', '"older_than" must not be null' ],
	[ q{cancel_slow_statements('0 s')}, '22023', '"older_than" must be greater than zero' ],
	[ q{cancel_slow_statements('2 years', true)}, '22023', '"older_than" must be at most one year' ])
{
	my ($call, $state, $msg) = @$case;
	my ($ret, $out, $err) = $node->psql(
		'postgres',
		"SELECT * FROM pool_observer.$call",
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($err, qr/ERROR:  \Q$state: $msg\E/, "(i) $call: $msg");
}

# permissions: pg_signal_backend may not touch a superuser's session
my $isu = leak($node, "SELECT 'leaked';", app => 'act_i_su', user => 'postgres');
my $iapp = leak($node, "SELECT 'leaked';", app => 'act_i_app', user => 'regress_app');
ok(wait_state_age(1.2, $isu, $iapp), '(i) two sessions idle in transaction');
my $as_signal = $node->connstr('postgres') . ' user=regress_signal';
my ($ret, $out, $err) = $node->psql(
	'postgres',
	q{SELECT application_name, query, done FROM pool_observer.terminate_idle_in_transaction('1 second') WHERE application_name LIKE 'act\_i\_%' ORDER BY 1},
	connstr => $as_signal);
is($out, 'act_i_app|<insufficient privilege>|t',
	'(i) pg_signal_backend: terminates the other role\'s session, not the superuser\'s, sees no query text'
);
ok(gone($iapp), '(i) the other role\'s session is gone');
ok(alive($isu), '(i) the superuser\'s session lives');
$isu->quit;

($ret, $out, $err) = $node->psql(
	'postgres',
	'SELECT count(*) FROM pool_observer.events',
	connstr => $as_signal);
like($err, qr/permission denied for view events/,
	'(i) pg_signal_backend alone cannot read the views');

my $as_monitor = $node->connstr('postgres') . ' user=regress_monitor';
($ret, $out, $err) = $node->psql(
	'postgres', q{
SELECT (SELECT count(*) FROM pool_observer.events) > 0,
       (SELECT count(*) FROM pool_observer.pools) > 0,
       (SELECT count(*) FROM pool_observer.sessions) > 0,
       (SELECT count(*) FROM pool_observer.worker) = 1,
       (SELECT count(*) FROM pool_observer.health) = 1},
	connstr => $as_monitor);
is($out, 't|t|t|t|t', '(i) pg_monitor reads the views');
foreach my $call (
	q{terminate_idle_in_transaction('1 second')},
	q{cancel_slow_statements('1 second')},
	q{reset()})
{
	my ($fn) = $call =~ /^(\w+)/;
	($ret, $out, $err) = $node->psql(
		'postgres',
		"SELECT * FROM pool_observer.$call",
		connstr => $as_monitor);
	like($err, qr/permission denied for function $fn/,
		"(i) pg_monitor may not execute $fn");
}
($ret, $out, $err) = $node->psql(
	'postgres',
	q{SELECT * FROM pool_observer.terminate_idle_in_transaction('1 second')},
	connstr => $node->connstr('postgres') . ' user=regress_nobody');
like(
	$err,
	qr/permission denied for (schema pool_observer|function terminate_idle_in_transaction)/,
	'(i) a role without pg_signal_backend may not execute it');

$mon->quit;
$node->stop;

done_testing();
