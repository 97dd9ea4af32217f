# Copyright (c) 2026, pool_observer developers
#
# 054_standby.pl
#	  pool_observer on a streaming standby (hot standby, read-only).
#
# A standby made from a base backup of a primary that preloads the
# extension (the CREATE EXTENSION replicates).  On the standby:
#  - the sampler runs and samples; sample_now(), every view and health work;
#  - read-only sessions are pooled;
#  - detection: idle_in_transaction, slow_statement, and lock_wait on a lock
#	 held by WAL replay (blocked_by is the startup process);
#  - actions: idle_in_transaction_terminate_after terminates an ordinary
#	 role's session; terminate_idle_in_transaction() and
#	 cancel_slow_statements() act;
#  - a clean restart saves and restores the events (the shutdown
#	 restartpoint counts as clean), an immediate one does not;
#  - nothing tries to write: no read-only or recovery errors, no error from
#	 the sampler in the standby's log.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PoTest;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pool_observer'
pool_observer.sample_interval = 100
log_statement = none
});
$primary->start;
$primary->safe_psql(
	'postgres', q{
CREATE EXTENSION pool_observer;
CREATE ROLE regress_app LOGIN;
CREATE TABLE regress_t (i int);
INSERT INTO regress_t VALUES (1);
GRANT SELECT ON regress_t TO regress_app;});
$primary->backup('backup');

my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->append_conf(
	'postgresql.conf', q{
pool_observer.idle_in_transaction_threshold = 200
pool_observer.slow_statement_threshold = 200
pool_observer.lock_wait_threshold = 200
pool_observer.idle_in_transaction_terminate_after = 1500
max_standby_streaming_delay = -1
});
$standby->start;
$primary->wait_for_catchup($standby);

is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'standby in recovery');
my $log_offset = 0;

sub event_of
{
	my ($pid, $kind) = @_;
	return qq{SELECT * FROM pool_observer.events WHERE pid = $pid AND kind = '$kind'};
}

#
# The sampler runs on the standby.
#
ok( $standby->poll_query_until(
		'postgres', 'SELECT pid IS NOT NULL AND samples > 0 FROM pool_observer.worker'),
	'standby: sampler running');
is($standby->safe_psql('postgres', 'SELECT pool_observer.sample_now() IS NOT NULL'),
	't', 'standby: sample_now()');

#
# Read-only sessions are pooled.
#
my $reader = open_session($standby, 'SELECT count(*) FROM regress_t;',
	user => 'regress_app', app => 'ro_reader');
ok( $standby->poll_query_until(
		'postgres', q{
SELECT connections = 1 AND idle = 1 AND usename = 'regress_app'
  FROM pool_observer.pools WHERE application_name = 'ro_reader'}),
	'standby: read-only session pooled');

#
# idle_in_transaction: detected, then terminated by the automatic action.
#
my $leak = open_session($standby, "BEGIN;\nSELECT * FROM regress_t;",
	user => 'regress_app', app => 'ro_leak');
ok( $standby->poll_query_until(
		'postgres', 'SELECT count(*) = 1 FROM (' . event_of($leak->{pid}, 'idle_in_transaction') . ') e'),
	'standby: idle_in_transaction detected');
ok( $standby->poll_query_until(
		'postgres', q{SELECT action = 'terminated' FROM (}
		  . event_of($leak->{pid}, 'idle_in_transaction') . ') e'),
	'standby: idle_in_transaction_terminate_after terminated the session');
ok( $standby->poll_query_until(
		'postgres', "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $leak->{pid}"),
	'standby: terminated session gone');

#
# On-demand actions (superuser sessions: exempt from automatic actions).
#
my $su_leak =
  open_session($standby, "BEGIN;\nSELECT 1;", app => 'ro_su_leak');
my $slow =
  open_session($standby, 'SELECT pg_sleep(300);', app => 'ro_slow', wait => 0);
ok( $standby->poll_query_until(
		'postgres', q{SELECT action = 'exempt' FROM (}
		  . event_of($su_leak->{pid}, 'idle_in_transaction') . ') e'),
	'standby: superuser session exempt from the automatic action');
ok( $standby->poll_query_until(
		'postgres', 'SELECT count(*) = 1 FROM (' . event_of($slow->{pid}, 'slow_statement') . ') e'),
	'standby: slow_statement detected');
is( $standby->safe_psql(
		'postgres', q{
SELECT string_agg(pid || ':' || done, ',') FROM pool_observer.terminate_idle_in_transaction('100 ms');
SELECT string_agg(pid || ':' || done, ',') FROM pool_observer.cancel_slow_statements('100 ms');}),
	"$su_leak->{pid}:true\n$slow->{pid}:true",
	'standby: terminate_idle_in_transaction() and cancel_slow_statements() act');
ok( $standby->poll_query_until(
		'postgres', qq{
SELECT count(*) = 0 FROM pg_stat_activity
 WHERE pid = $su_leak->{pid} OR (pid = $slow->{pid} AND state = 'active')}),
	'standby: on-demand actions took effect');

#
# lock_wait on a lock held by WAL replay.
#
my $locker = session($primary, app => 'primary_locker');
run_in($locker, "BEGIN;\nLOCK TABLE regress_t IN ACCESS EXCLUSIVE MODE;");
$primary->safe_psql('postgres', 'CREATE TABLE regress_flush (i int)');  # flushes the lock record
$primary->wait_for_catchup($standby);
my $waiter = open_session($standby, 'SELECT * FROM regress_t;',
	user => 'regress_app', app => 'ro_waiter', wait => 0);
my $startup_pid = $standby->safe_psql('postgres',
	q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'startup'});
ok( $standby->poll_query_until(
		'postgres', qq{
SELECT blocked_by = ARRAY[$startup_pid] AND detail = 'blocked_by=$startup_pid'
  FROM (} . event_of($waiter->{pid}, 'lock_wait') . ') e'),
	'standby: lock_wait on replay detected, blocked by the startup process');
is( $standby->safe_psql(
		'postgres', "SELECT blocked_by FROM pool_observer.sessions WHERE pid = $waiter->{pid}"),
	"{$startup_pid}",
	'standby: sessions view shows the startup process as blocker');
run_in($locker, 'ROLLBACK;');
$locker->quit;
$primary->wait_for_catchup($standby);
ok( $standby->poll_query_until(
		'postgres', q{SELECT ended_at IS NOT NULL FROM (}
		  . event_of($waiter->{pid}, 'lock_wait') . ') e'),
	'standby: lock_wait ended when replay released the lock');

#
# Views and health.
#
# The sample and the count in one connection, polled: the backends of
# earlier connections exit asynchronously.
is( poll_sample(
		$standby, q{
SELECT (SELECT status <> 'critical' AND worker_running FROM pool_observer.health),
       (SELECT count(*) > 0 FROM pool_observer.pool_history),
       (SELECT count(*) > 0 FROM pool_observer.server_history),
       (SELECT count(*) > 0 FROM pool_observer.sessions),
       (SELECT sum(connections) FROM pool_observer.pools) =
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),
       (SELECT events_total > 0 AND actions_taken >= 3 FROM pool_observer.worker)},
		't|t|t|t|t|t'),
	't|t|t|t|t|t',
	'standby: every view works');
is( $primary->safe_psql(
		'postgres', q{
SELECT count(*) FROM pool_observer.pools WHERE application_name LIKE 'ro\_%'}),
	0,
	'primary: standby sessions are not in its pools');
ok( $primary->poll_query_until(
		'postgres', 'SELECT samples > 0 FROM pool_observer.worker'),
	'primary: sampling');

# Nothing tried to write on the standby.  The sampler's lines carry its
# pid, not its name.
my ($wpid, $restarts) = split /\|/,
  $standby->safe_psql('postgres', 'SELECT pid, restarts FROM pool_observer.worker');
is($restarts, 0, 'standby: the sampler never restarted');
my $log = slurp_file($standby->logfile);
unlike($log, qr/read-only transaction|cannot execute|during recovery|cannot assign/,
	'standby log: no write attempt');
my @problems = grep {
	/\[$wpid\] .*(ERROR|FATAL|PANIC|WARNING):/
	  || (/pool_observer/ && /(ERROR|FATAL|PANIC|WARNING):/)
	  || /terminated by signal|PANIC:/
} split /\n/, $log;
is(scalar(@problems), 0, 'standby log: no error from the sampler, no crash')
  or diag(join("\n", @problems));

#
# Restarts of the standby.
#
eval { $_->{run}->kill_kill } foreach ($reader, $leak, $su_leak, $slow, $waiter);
my $state_file = $standby->data_dir . '/pg_stat/pool_observer.stat';
$standby->stop;
ok(-f $state_file, 'standby: state saved at a clean shutdown');
$log_offset = -s $standby->logfile;
$standby->start;
like(slurp_file($standby->logfile, $log_offset),
	qr/pool_observer restored \d+ events/, 'standby: events restored');
cmp_ok($standby->safe_psql('postgres', 'SELECT count(*) FROM pool_observer.events'),
	'>', 0, 'standby: events back after the restart');
ok( $standby->poll_query_until(
		'postgres', 'SELECT samples > 1 FROM pool_observer.worker'),
	'standby: sampling after the restart');

$standby->stop('immediate');
ok(!-e $state_file, 'standby: nothing saved at an immediate shutdown');
$log_offset = -s $standby->logfile;
$standby->start;
is($standby->safe_psql('postgres', 'SELECT count(*) FROM pool_observer.events'),
	0, 'standby: nothing stale after an immediate shutdown');
unlike(slurp_file($standby->logfile, $log_offset),
	qr/pool_observer restored/, 'standby: nothing restored after an immediate shutdown');

$standby->stop;
$primary->stop;
done_testing();
